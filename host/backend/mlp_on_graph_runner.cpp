// What every backend does for an MLP by default: run it as its layer graph (mlp_graph) on the backend's graph
// runner, the one loop over layers each backend has. Evaluation at many points keeps the first layer
// factorised over the control points, as for any graph.
#include <memory>

#include "modeconn/backend.hpp"
#include "modeconn/error.hpp"
#include "modeconn/graph.hpp"
#include "modeconn/graph_eval.hpp"

namespace modeconn {
namespace {

std::unique_ptr<GraphRunner> runner_of(Backend& backend) {
  auto runner = backend.graph_runner();
  MODECONN_EXPECTS(runner != nullptr, "a backend that runs layer graphs");
  return runner;
}

}  // namespace

std::vector<PointMetrics> Backend::evaluate_at(const Path& path, std::span<const std::vector<double>> coefs,
                                               const Split& split) {
  const Architecture& arch = path.arch;
  MODECONN_EXPECTS(!path.points.empty() && !arch.layers.empty(), "a path with control points and layers");
  MODECONN_EXPECTS(split.features == arch.input_width(), "data width matches the model");
  MODECONN_EXPECTS(split.task == arch.task, "data of the model's task");
  for (const auto& p : path.points) MODECONN_EXPECTS(p.size() == arch.num_params(), "control point size");
  for (const auto& c : coefs)
    MODECONN_EXPECTS(c.size() == path.points.size(), "a coefficient per control point");
  if (coefs.empty()) return {};
  const Graph mlp = mlp_graph(arch);
  return runner_of(*this)->metrics(mlp_graph_points(mlp, path, coefs), split);
}

ActivationStats Backend::activation_stats(const Model& a, const Model& b, const Split& split,
                                          std::size_t layer) {
  MODECONN_EXPECTS(a.arch.same_shape(b.arch) && layer + 1 < a.arch.layers.size(),
                   "a hidden layer of one shape");
  const Graph mlp = mlp_graph(a.arch);
  const Model* models[] = {&a, &b};
  return runner_of(*this)
      ->cross_sums(mlp_model_points(mlp, models), mlp_activation_node(mlp, layer), split, split.rows)
      .finish();
}

std::vector<float> Backend::outputs(const Model& model, const Split& split, int64_t first, int64_t count) {
  MODECONN_EXPECTS(first >= 0 && count >= 0 && first + count <= split.rows, "rows inside the split");
  const Graph mlp = mlp_graph(model.arch);
  const Model* models[] = {&model};
  return runner_of(*this)->outputs(mlp_model_points(mlp, models), split, first, count);
}

}  // namespace modeconn
