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

// One node's backward over a block of rows: given the gradient of the loss with respect to its output, adds
// the gradients with respect to its inputs and to its parameters. Row-local like the forward; BatchNorm,
// whose training form couples the rows through the batch statistics, is run by the training executor itself
// (batch_norm_* below).
struct GradArgs {
  const Node& node;
  const Graph& graph;
  const float* in0 = nullptr;  // the forward's inputs and output, rows × their sizes
  const float* in1 = nullptr;
  const float* out = nullptr;
  const float* dout = nullptr;  // ∂loss/∂out, rows × this node's size
  float* din0 = nullptr;  // ∂loss/∂in0 and ∂loss/∂in1: added to (a node read twice sums both), or
  float* din1 = nullptr;  // written where add0/add1 (below) is false
  int64_t rows = 0;
  const float* weight = nullptr;  // linear, conv2d: as prepared
  float* dweight = nullptr;       // their gradients, added to, in the prepared layout
  float* dbias = nullptr;         // null when the node has no bias
  bool add0 = true, add1 = true;  // false: the first gradient to reach that input, written over what is there
};

struct OpKernels {
  void (*forward)(const OpArgs& args) = nullptr;
  // Null for the input (nothing upstream of it) and BatchNorm (see GradArgs). With dweight and dbias null it
  // leaves the parameters' gradients to param_grad.
  void (*backward)(const GradArgs& args) = nullptr;
  // For ops whose parameter gradients split by output unit (linear): the gradients of output units [u0, u1)
  // over every row of the batch, written (not added), so threads share a layer without partial sums. Null:
  // backward adds each thread's rows into its own partial sums instead (conv2d, whose patches are the
  // thread's).
  void (*param_grad)(const GradArgs& args, int64_t u0, int64_t u1) = nullptr;
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

// BatchNorm over a block of m = rows·positions values of c channels, channels-last. Training needs the sums
// of every row of the batch, so the executor adds each block's (float64) and meets between the passes. Σx and
// Σx² per channel, added to sum[0..c) and sum[c..2c).
void batch_norm_value_sums(const float* x, int64_t m, int64_t c, double* sums);
// One BatchNorm in training's passes over a block: m values per channel of c channels, channels-last; the
// statistics it normalises with (per channel mean and 1/√(var + eps), float64), its affine parameters (null:
// none) and the activation the plan fused after it (identity: none), whose output y the forward writes.
struct BnPass {
  int64_t m = 0, c = 0;
  const double* mean = nullptr;
  const double* inv = nullptr;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  Activation then = Activation::identity;
};
// y = act(γ·(x − mean)·inv + β), the centring first (folding the mean into a shift, as inference does, loses
// the digits that training's steps amplify).
void batch_norm_train_forward(const BnPass& p, const float* x, float* y);
// With x̂ = (x − mean)·inv and ∂z the gradient before the fused activation (∂y·act'(z), z recomputed from x):
// Σ∂z and Σ∂z·x̂ per channel (∂β and ∂γ), added to sums[0..c) and sums[c..2c).
void batch_norm_grad_sums(const BnPass& p, const float* x, const float* y, const float* dy, double* sums);
// ∂loss/∂x, written to dx or added with `add`. z = γ·x̂ + β, so ∂x = γ·inv·∂z with fixed statistics (eval),
// and with the batch's own (train, over `count` values per channel) ∂x = γ·inv·(∂z − Σ∂z/count −
// x̂·Σ∂z·x̂/count).
void batch_norm_input_grad(const BnPass& p, const float* x, const float* y, const float* dy,
                           const double* totals, bool train, double count, float* dx, bool add);

// sums[j] += Σ_rows x[r, j] (accumulated in float64): a bias's gradient.
void column_sums(const float* x, int64_t rows, int64_t cols, float* sums);

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
