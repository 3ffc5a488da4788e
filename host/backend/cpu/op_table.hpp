// The CPU backend's graph ops, one file each, registered in a table indexed by the op: the executor looks an
// op up and never switches on it.
#pragma once

#include <cstdint>

#include "modeconn/graph.hpp"

namespace modeconn::cpu {

// One node's forward over a block of rows, for one path point. Activations are laid out per row as the node's
// shape with channels last: [H, W, C] for feature maps (so that a convolution is one GEMM over every position
// of the block), [D] for flat ones.
struct OpArgs {
  const Node& node;
  const Graph& graph;
  const float* in0 = nullptr;  // the first input's output, rows × its size
  const float* in1 = nullptr;  // the second (add)
  float* out = nullptr;        // rows × this node's size; may be in0 for ops that run in place
  int64_t rows = 0;
  const float* weight = nullptr;  // linear, conv2d: as prepared (see OpKernels::prepare)
  const float* bias = nullptr;    // linear, conv2d; null when the node has none
  const float* scale = nullptr;   // batch_norm: y = scale[c]·x + shift[c], per channel
  const float* shift = nullptr;
  Activation then =
      Activation::identity;  // batch_norm, linear, conv2d: an activation fused after it (GraphPlan)
  float* scratch = nullptr;  // scratch_per_row(node) · rows floats
};

struct OpKernels {
  void (*forward)(const OpArgs& args) = nullptr;
  // Floats of scratch per row the forward needs (im2col's patches).
  int64_t (*scratch_per_row)(const Graph& graph, const Node& node) = nullptr;
  // Rewrites a weight tensor, in place, into the layout the forward reads (conv2d: [out, kh, kw, in]); null
  // when the op reads PyTorch's layout.
  void (*prepare)(const Graph& graph, const Node& node, float* weight) = nullptr;
};

const OpKernels& op_kernels(Op op);

// After a linear layer's or convolution's GEMM into a.out (`rows` rows of `cols`): its bias and the
// activation fused after it, if any, in one pass.
void finish_affine(const OpArgs& a, int64_t rows, int64_t cols);

// Registered by each op's file.
extern const OpKernels kInputKernels, kLinearKernels, kConv2dKernels, kBatchNormKernels, kActivationKernels,
    kMaxPoolKernels, kAvgPoolKernels, kGlobalAvgPoolKernels, kFlattenKernels, kAddKernels;

// Shape helpers: [C, H, W] or [D] as channels and positions per row (a flat shape is D channels at 1
// position).
inline int64_t channels_of(const std::vector<int64_t>& shape) { return shape.front(); }
inline int64_t positions_of(const std::vector<int64_t>& shape) {
  return shape.size() == 3 ? shape[1] * shape[2] : 1;
}

}  // namespace modeconn::cpu
