// How a backend runs a layer graph over a block of rows, fixed once on the host for both backends: which
// nodes a result needs, where each node's output lives (slots reused once no later node reads them;
// elementwise ops in place over an input read by nothing after them), and which node is factorised over
// control points.
#pragma once

#include <cstdint>
#include <vector>

#include "modeconn/graph.hpp"

namespace modeconn {

struct GraphPlan {
  int stop = 0;                    // the node whose output the run delivers
  std::vector<bool> needed;        // per node: computed for `stop`
  std::vector<int> slot;           // per node: its output's slot (-1: not computed; the input has its own)
  std::vector<int64_t> slot_size;  // per slot: floats per row
  std::vector<int64_t> size;       // per node: floats per row of its output
  // The first layer (DESIGN's factorisation): a linear or conv2d node reading the input, -1 when none. Its
  // output is linear in its weights, so K control points cost K products.
  int first_layer = -1;
  // A BatchNorm, linear layer or convolution followed by an activation that alone reads it: the op applies it
  // in the pass that writes its output (y = act(scale·x + shift), or act(x·Wᵀ + b)), in the op's slot. Per
  // node: the activation node an op applies (-1: none), and whether a node is such an activation, done
  // already.
  std::vector<int> fused_activation;
  std::vector<bool> fused_away;
};

// Elementwise ops may write over their input when nothing later reads it.
bool runs_in_place(Op op);

// Both backends run feature maps channels-last ([H, W, C] per row), so a convolution is one GEMM over every
// output position: its weight, PyTorch's [out, C, kh, kw], is rewritten in place as [out, kh, kw, C].
void conv_weight_channels_last(const Graph& graph, const Node& node, float* weight);
// Its inverse: [out, kh, kw, C] back to PyTorch's [out, C, kh, kw] (a weight gradient computed
// channels-last).
void conv_weight_channels_first(const Graph& graph, const Node& node, float* weight);

// The plan for delivering node `stop`'s output (the graph's output by default).
GraphPlan make_plan(const Graph& graph, int stop = -1);

// The activation node `node` applies after itself in the plan (identity when none).
Activation fused_activation_of(const Graph& graph, const GraphPlan& plan, int node);

// How both backends' training executors keep a minibatch's outputs: every op's output is kept for its
// backward, but a BatchNorm followed by an activation that alone reads it (the plan's fusion) runs both in
// one pass, the activation's output and gradient living in the BatchNorm's buffers, and the BatchNorm's
// backward applies the activation's derivative as it reads the gradient. Per node: the node whose buffers
// hold its output (itself, or that BatchNorm), and the activation a BatchNorm applies (identity when none).
struct TrainingLayout {
  std::vector<std::size_t> held;
  std::vector<Activation> then;
};
TrainingLayout training_layout(const Graph& graph, const GraphPlan& plan);

// Backward in reverse node order writes the first gradient to reach an output's buffer and adds the later
// ones (an output read twice: a residual stream), so no gradient buffer is cleared first. first(node) says
// which, for the buffer that holds node's output, and marks it reached.
class GradientArrivals {
 public:
  explicit GradientArrivals(const TrainingLayout& layout)
      : held_(layout.held), reached_(layout.held.size(), false) {}
  bool first(std::size_t node) {
    const bool first = !reached_[held_[node]];
    reached_[held_[node]] = true;
    return first;
  }

 private:
  const std::vector<std::size_t>& held_;
  std::vector<bool> reached_;
};

}  // namespace modeconn
