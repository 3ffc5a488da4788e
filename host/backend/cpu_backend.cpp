// The CPU backend: path evaluation, activation statistics and outputs through the graph executor
// (backend/cpu/executor.cpp), and backpropagation through the graph's backward (backend/cpu/backprop.cpp), on
// OpenBLAS and OpenMP. The MLP is a graph like any other here.
#include <vector>

#include "backend/cpu/backprop.hpp"
#include "backend/cpu_ops.hpp"
#include "modeconn/backend.hpp"
#include "modeconn/error.hpp"
#include "modeconn/graph.hpp"
#include "modeconn/graph_eval.hpp"

namespace modeconn {
namespace {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }

  std::vector<PointMetrics> evaluate_at(const Path& path, std::span<const std::vector<double>> coefs,
                                        const Split& split) override;
  ActivationStats activation_stats(const Model& a, const Model& b, const Split& split,
                                   std::size_t layer) override;
  std::vector<float> outputs(const Model& model, const Split& split, int64_t first, int64_t count) override;
  PointMetrics metrics_and_grad(const Architecture& arch, std::span<const float> params, const Split& split,
                                std::span<const int64_t> rows, std::span<float> grad) override {
    MODECONN_EXPECTS(split.task == arch.task, "data of the model's task");
    return cpu::graph_metrics_and_grad(mlp_graph(arch), params, {}, false, split, rows, grad, workspace_);
  }
  std::unique_ptr<GraphRunner> graph_runner() override { return make_cpu_graph_runner(); }

 private:
  cpu::BackpropWorkspace workspace_;  // kept from one training step to the next
};

// The MLP is a graph like any other here: the graph executor runs it (all points per block of rows, the first
// layer factorised over the control points).
std::vector<PointMetrics> CpuBackend::evaluate_at(const Path& path,
                                                  std::span<const std::vector<double>> coefs,
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
  return make_cpu_graph_runner()->metrics(mlp_graph_points(mlp, path, coefs), split);
}

ActivationStats CpuBackend::activation_stats(const Model& a, const Model& b, const Split& split,
                                             std::size_t layer) {
  MODECONN_EXPECTS(a.arch.same_shape(b.arch) && layer + 1 < a.arch.layers.size(),
                   "a hidden layer of one shape");
  const Graph mlp = mlp_graph(a.arch);
  const Model* models[] = {&a, &b};
  return make_cpu_graph_runner()
      ->cross_sums(mlp_model_points(mlp, models), mlp_activation_node(mlp, layer), split, split.rows)
      .finish();
}

std::vector<float> CpuBackend::outputs(const Model& model, const Split& split, int64_t first, int64_t count) {
  MODECONN_EXPECTS(first >= 0 && count >= 0 && first + count <= split.rows, "rows inside the split");
  const Graph mlp = mlp_graph(model.arch);
  const Model* models[] = {&model};
  return make_cpu_graph_runner()->outputs(mlp_model_points(mlp, models), split, first, count);
}

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace modeconn
