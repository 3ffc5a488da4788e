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

void linear_backward(const GradArgs& a) {
  const int64_t out = a.node.out;
  const int64_t in = a.graph.nodes[static_cast<std::size_t>(a.node.inputs.front())].shape.front();
  gemm(out, in, a.rows, 1.f, a.dout, true, a.in0, false, 1.f, a.dweight);
  if (a.dbias) column_sums(a.dout, a.rows, out, a.dbias);
  if (a.din0) gemm(a.rows, in, out, 1.f, a.dout, false, a.weight, false, 1.f, a.din0);
}

}  // namespace

const OpKernels kLinearKernels{linear_forward, linear_backward, nullptr, nullptr};

}  // namespace modeconn::cpu
