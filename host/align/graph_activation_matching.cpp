// Activation matching over a graph's permutation groups: each group's channels matched by the correlation of
// their outputs, which do not depend on how any group is permuted, so every group is solved once.
#include <cmath>

#include "align/assignment.hpp"
#include "modeconn/error.hpp"
#include "modeconn/graph_align.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn {
namespace {

// At or below this standard deviation a channel is constant on the data (a dead ReLU's is exactly 0).
constexpr double kConstant = 1e-6;
// The weight of the tie-break: far below any correlation that means something, far above rounding.
constexpr double kTieBreak = 1e-6;

// The nodes whose outputs stand for a group: its activations and residual sums, else all of them.
std::vector<int> observed_nodes(const Graph& g, const PermGroup& group) {
  std::vector<int> all, chosen;
  for (const std::string& name : group.nodes) {
    const int i = node_index(g, name);
    all.push_back(i);
    const Op op = g.nodes[static_cast<std::size_t>(i)].op;
    if (op == Op::activation || op == Op::add) chosen.push_back(i);
  }
  return chosen.empty() ? all : chosen;
}

}  // namespace

GraphMatching graph_activation_matching(GraphRunner& runner, const PermSpec& spec, const GraphModel& a,
                                        const GraphModel& b, const Split& data, int64_t rows,
                                        const MatchingOptions& options) {
  MODECONN_EXPECTS(rows >= 1 && rows <= data.rows, "rows to match on");
  // Weight matching's assignment breaks the ties among constant channels.
  const GraphMatching by_weights = graph_weight_matching(
      spec, graph_model_to_tensors(a), graph_model_to_tensors(b), options.max_sweeps, options.seed);
  GraphPath both;
  both.graph = &a.graph;
  both.task = a.task;
  both.params.points = {a.params, b.params};
  both.buffers = {a.buffers, b.buffers};
  const double ts[] = {0.0, 1.0};
  const GraphPoints pts = graph_points(runner, both, ts, {});

  GraphMatching r;
  r.sweeps = 1;
  for (std::size_t g = 0; g < spec.groups.size(); ++g) {
    const int64_t n = spec.groups[g].size;
    const auto un = static_cast<std::size_t>(n);
    std::vector<double> corr(un * un, 0.0);
    std::vector<bool> live_a(un, false), live_b(un, false);
    for (int node : observed_nodes(a.graph, spec.groups[g])) {
      const ActivationStats st = runner.cross_sums(pts, node, data, rows).finish();
      MODECONN_EXPECTS(st.std_a.size() == un, "a group's nodes carry its channels");
      for (std::size_t i = 0; i < un; ++i) {
        live_a[i] = live_a[i] || st.std_a[i] > kConstant;
        live_b[i] = live_b[i] || st.std_b[i] > kConstant;
      }
      for (std::size_t i = 0; i < un; ++i)
        for (std::size_t j = 0; j < un; ++j)
          if (st.std_a[i] > kConstant && st.std_b[j] > kConstant)
            corr[i * un + j] += st.covariance[i * un + j] / (st.std_a[i] * st.std_b[j]);
    }
    std::vector<double> score = corr;
    for (std::size_t i = 0; i < un; ++i) {
      const auto j = static_cast<std::size_t>(by_weights.perms[g][i]);
      if (!live_a[i] || !live_b[j]) score[i * un + j] += kTieBreak;
    }
    LayerAlignment identity;
    identity.perm.resize(un);
    identity.sign.assign(un, 1);
    for (std::size_t i = 0; i < un; ++i) identity.perm[i] = static_cast<int64_t>(i);
    r.objective_before += assignment_value(corr, n, identity);
    double value = 0;
    LayerAlignment best = best_assignment(score, n, false, &value);
    r.objective_after += assignment_value(corr, n, best);
    r.perms.push_back(std::move(best.perm));
  }
  return r;
}

}  // namespace modeconn
