// Graph ops without parameters that move or combine values: the input (to channels-last), activations,
// flatten (back to PyTorch's channel-major order) and the residual add; and their backward passes.
#include <algorithm>
#include <utility>

#include "backend/cpu/op_table.hpp"
#include "backend/cpu/vector_clones.hpp"
#include "backend/cpu_ops.hpp"

namespace modeconn::cpu {
namespace {

// Between PyTorch's channel-major rows [C, positions] and channels-last ones [positions, C]; a flat shape
// ([D], one position) is copied.
void transpose_rows(const float* in, float* out, int64_t rows, const std::vector<int64_t>& shape,
                    bool to_channels_last) {
  const int64_t c = channels_of(shape), hw = positions_of(shape);
  if (hw == 1) {
    std::copy(in, in + rows * c, out);
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* from = in + r * c * hw;
    float* to = out + r * c * hw;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p)
        if (to_channels_last)
          to[p * c + ch] = from[ch * hw + p];
        else
          to[ch * hw + p] = from[p * c + ch];
  }
}

// The data's rows are [C, H, W] (PyTorch's order) or [D]; activations run channels-last.
void input_forward(const OpArgs& a) { transpose_rows(a.in0, a.out, a.rows, a.node.shape, true); }

void activation_forward(const OpArgs& a) {
  int64_t size = 1;
  for (int64_t d : a.node.shape) size *= d;
  if (a.out != a.in0) std::copy(a.in0, a.in0 + a.rows * size, a.out);
  apply_activation(a.out, a.rows * size, a.node.activation);
}

// nn.Flatten of a [C, H, W] map gives feature c·H·W + position: channels-last back to channel-major.
void flatten_forward(const OpArgs& a) {
  transpose_rows(a.in0, a.out, a.rows, a.graph.nodes[static_cast<std::size_t>(a.node.inputs.front())].shape,
                 false);
}

void add_forward(const OpArgs& a) {
  int64_t size = 1;
  for (int64_t d : a.node.shape) size *= d;
  const int64_t n = a.rows * size;
  for (int64_t i = 0; i < n; ++i) a.out[i] = a.in0[i] + a.in1[i];
}

int64_t size_of(const Node& n) {
  int64_t size = 1;
  for (int64_t d : n.shape) size *= d;
  return size;
}

MODECONN_VECTOR_CLONES
void activation_backward(const GradArgs& a) {
  const int64_t n = a.rows * size_of(a.node);
  with_activation(a.node.activation, [&](auto act) MODECONN_INLINE {
    if (a.add0)
      for (int64_t i = 0; i < n; ++i) a.din0[i] += a.dout[i] * activate_grad(act, a.in0[i], a.out[i]);
    else
      for (int64_t i = 0; i < n; ++i) a.din0[i] = a.dout[i] * activate_grad(act, a.in0[i], a.out[i]);
  });
}

void flatten_backward(const GradArgs& a) {
  const auto& s = a.graph.nodes[static_cast<std::size_t>(a.node.inputs.front())].shape;
  const int64_t c = channels_of(s), hw = positions_of(s);
  for (int64_t r = 0; r < a.rows; ++r) {
    const float* from = a.dout + r * c * hw;
    float* to = a.din0 + r * c * hw;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) to[p * c + ch] = (a.add0 ? to[p * c + ch] : 0.f) + from[ch * hw + p];
  }
}

void add_backward(const GradArgs& a) {
  const int64_t n = a.rows * size_of(a.node);
  // Input 0 first: x + x writes its gradient once, then adds to it.
  for (const auto& [d, add] : {std::pair{a.din0, a.add0}, std::pair{a.din1, a.add1}}) {
    if (!d) continue;
    if (add)
      for (int64_t i = 0; i < n; ++i) d[i] += a.dout[i];
    else
      std::copy(a.dout, a.dout + n, d);
  }
}

}  // namespace

const OpKernels kInputKernels{input_forward, nullptr, nullptr, nullptr, nullptr};
const OpKernels kActivationKernels{activation_forward, activation_backward, nullptr, nullptr, nullptr};
const OpKernels kFlattenKernels{flatten_forward, flatten_backward, nullptr, nullptr, nullptr};
const OpKernels kAddKernels{add_forward, add_backward, nullptr, nullptr, nullptr};

}  // namespace modeconn::cpu
