// A linear layer over a block of rows: one SGEMM against W [out, in] (PyTorch's layout), then the bias and
// the activation the plan fused into it, in one pass. Backward: ∂W += ∂Yᵀ·X, ∂b += Σ_rows ∂Y, ∂X += ∂Y·W.
#include "backend/cpu/op_table.hpp"
#include "backend/cpu_ops.hpp"

namespace modeconn::cpu {
namespace {

void linear_forward(const OpArgs& a) {
  const int64_t out = a.node.out;
  const int64_t in = a.graph.nodes[static_cast<std::size_t>(a.node.inputs.front())].shape.front();
  gemm(a.rows, out, in, 1.f, a.in0, false, a.weight, true, 0.f, a.out);
  finish_affine(a, a.rows, out);
}

int64_t in_features(const GradArgs& a) {
  return a.graph.nodes[static_cast<std::size_t>(a.node.inputs.front())].shape.front();
}

void linear_backward(const GradArgs& a) {
  const int64_t out = a.node.out, in = in_features(a);
  if (a.dweight) gemm(out, in, a.rows, 1.f, a.dout, true, a.in0, false, 1.f, a.dweight);
  if (a.dbias) column_sums(a.dout, a.rows, out, a.dbias);
  if (a.din0) gemm(a.rows, in, out, 1.f, a.dout, false, a.weight, false, a.add0 ? 1.f : 0.f, a.din0);
}

// Rows [u0, u1) of ∂W = ∂Yᵀ·X and of ∂b, over every row of the batch.
void linear_param_grad(const GradArgs& a, int64_t u0, int64_t u1) {
  const int64_t out = a.node.out, in = in_features(a);
  gemm_row_block(out, u0, u1, in, a.rows, 1.f, a.dout, true, a.in0, false, 0.f, a.dweight);
  if (!a.dbias) return;
  for (int64_t j = u0; j < u1; ++j) {
    double s = 0;
    for (int64_t r = 0; r < a.rows; ++r) s += a.dout[r * out + j];
    a.dbias[j] = static_cast<float>(s);
  }
}

}  // namespace

const OpKernels kLinearKernels{linear_forward, linear_backward, linear_param_grad, nullptr, nullptr};

}  // namespace modeconn::cpu
