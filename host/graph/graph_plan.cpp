// Node liveness and slot assignment for running a graph over a block of rows.
#include "modeconn/graph_plan.hpp"

#include <algorithm>

#include "modeconn/error.hpp"

namespace modeconn {

bool runs_in_place(Op op) { return op == Op::activation || op == Op::batch_norm; }

namespace {

// [out, C, kh, kw] ↔ [out, kh, kw, C], in place, one filter at a time.
void permute_conv_weight(const Graph& g, const Node& n, float* w, bool to_channels_last) {
  const int64_t c = g.nodes[static_cast<std::size_t>(n.inputs.front())].shape[0];
  const int64_t taps = n.kernel[0] * n.kernel[1];
  std::vector<float> filter(static_cast<std::size_t>(c * taps));
  for (int64_t o = 0; o < n.out; ++o) {
    float* f = w + o * c * taps;
    std::copy(f, f + c * taps, filter.begin());
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t t = 0; t < taps; ++t) {
        const int64_t first = ch * taps + t, last = t * c + ch;
        f[to_channels_last ? last : first] =
            filter[static_cast<std::size_t>(to_channels_last ? first : last)];
      }
  }
}

}  // namespace

void conv_weight_channels_last(const Graph& g, const Node& n, float* w) {
  permute_conv_weight(g, n, w, true);
}

void conv_weight_channels_first(const Graph& g, const Node& n, float* w) {
  permute_conv_weight(g, n, w, false);
}

GraphPlan make_plan(const Graph& graph, int stop) {
  const int n = static_cast<int>(graph.nodes.size());
  if (stop < 0) stop = n - 1;
  MODECONN_EXPECTS(stop < n, "a plan stops at a node of the graph");
  GraphPlan plan;
  plan.stop = stop;
  plan.needed.assign(static_cast<std::size_t>(n), false);
  plan.slot.assign(static_cast<std::size_t>(n), -1);
  plan.size.assign(static_cast<std::size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    int64_t s = 1;
    for (int64_t d : graph.nodes[static_cast<std::size_t>(i)].shape) s *= d;
    plan.size[static_cast<std::size_t>(i)] = s;
  }
  plan.needed[static_cast<std::size_t>(stop)] = true;
  for (int i = stop; i >= 0; --i)
    if (plan.needed[static_cast<std::size_t>(i)])
      for (int in : graph.nodes[static_cast<std::size_t>(i)].inputs)
        plan.needed[static_cast<std::size_t>(in)] = true;

  // The last needed node reading each node's output (the stop node counts as read at the end).
  std::vector<int> last_use(static_cast<std::size_t>(n), -1);
  for (int i = 0; i <= stop; ++i)
    if (plan.needed[static_cast<std::size_t>(i)])
      for (int in : graph.nodes[static_cast<std::size_t>(i)].inputs)
        last_use[static_cast<std::size_t>(in)] = i;
  last_use[static_cast<std::size_t>(stop)] = n;

  std::vector<bool> slot_free;
  for (int i = 1; i <= stop; ++i) {
    if (!plan.needed[static_cast<std::size_t>(i)]) continue;
    const Node& node = graph.nodes[static_cast<std::size_t>(i)];
    const int first_in = node.inputs.front();
    int slot = -1;
    if (runs_in_place(node.op) && first_in != 0 && last_use[static_cast<std::size_t>(first_in)] == i) {
      slot = plan.slot[static_cast<std::size_t>(first_in)];  // takes over its input's slot
    } else {
      for (std::size_t s = 0; s < slot_free.size() && slot < 0; ++s)
        if (slot_free[s]) slot = static_cast<int>(s);
      if (slot < 0) {
        slot = static_cast<int>(slot_free.size());
        slot_free.push_back(false);
        plan.slot_size.push_back(0);
      }
      slot_free[static_cast<std::size_t>(slot)] = false;
      // Inputs read for the last time free their slots only now, so the output never overlaps an input.
      for (int in : node.inputs)
        if (in != 0 && last_use[static_cast<std::size_t>(in)] == i)
          slot_free[static_cast<std::size_t>(plan.slot[static_cast<std::size_t>(in)])] = true;
    }
    plan.slot[static_cast<std::size_t>(i)] = slot;
    plan.slot_size[static_cast<std::size_t>(slot)] =
        std::max(plan.slot_size[static_cast<std::size_t>(slot)], plan.size[static_cast<std::size_t>(i)]);
  }
  plan.fused_activation.assign(static_cast<std::size_t>(n), -1);
  plan.fused_away.assign(static_cast<std::size_t>(n), false);
  for (int i = 1; i <= stop; ++i) {
    const Node& node = graph.nodes[static_cast<std::size_t>(i)];
    const int in = node.inputs.front();
    // The fused op's own output must not be delivered (it is overwritten), nor read by anything else.
    const Op in_op = graph.nodes[static_cast<std::size_t>(in)].op;
    if (plan.needed[static_cast<std::size_t>(i)] && node.op == Op::activation && in != 0 && in != stop &&
        (in_op == Op::batch_norm || in_op == Op::linear || in_op == Op::conv2d) &&
        last_use[static_cast<std::size_t>(in)] == i) {
      plan.fused_activation[static_cast<std::size_t>(in)] = i;
      plan.fused_away[static_cast<std::size_t>(i)] = true;
    }
  }
  for (int i = 1; i <= stop; ++i) {
    const Node& node = graph.nodes[static_cast<std::size_t>(i)];
    if (plan.needed[static_cast<std::size_t>(i)] && (node.op == Op::linear || node.op == Op::conv2d) &&
        node.inputs.front() == 0) {
      plan.first_layer = i;
      break;
    }
  }
  return plan;
}

Activation fused_activation_of(const Graph& graph, const GraphPlan& plan, int node) {
  const int act = plan.fused_activation[static_cast<std::size_t>(node)];
  return act >= 0 ? graph.nodes[static_cast<std::size_t>(act)].activation : Activation::identity;
}

TrainingLayout training_layout(const Graph& graph, const GraphPlan& plan) {
  const std::size_t n = graph.nodes.size();
  TrainingLayout t;
  t.held.resize(n);
  t.then.assign(n, Activation::identity);
  for (std::size_t i = 0; i < n; ++i) t.held[i] = i;
  for (std::size_t i = 0; i < n; ++i)
    if (graph.nodes[i].op == Op::batch_norm && plan.needed[i] && plan.fused_activation[i] >= 0) {
      const auto act = static_cast<std::size_t>(plan.fused_activation[i]);
      t.held[act] = i;
      t.then[i] = graph.nodes[act].activation;
    }
  return t;
}

}  // namespace modeconn
