// The CPU backend: the graph executor (backend/cpu/executor.cpp) as its graph runner, which the MLP's
// evaluation, statistics and outputs run on as on any backend (backend/mlp_on_graph_runner.cpp), and
// backpropagation through the graph's backward (backend/cpu/backprop.cpp), on OpenBLAS and OpenMP.
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

  PointMetrics metrics_and_grad(const Architecture& arch, std::span<const float> params, const Split& split,
                                std::span<const int64_t> rows, std::span<float> grad) override {
    MODECONN_EXPECTS(split.task == arch.task, "data of the model's task");
    return cpu::graph_metrics_and_grad(mlp_graph(arch), params, {}, false, split, rows, grad, workspace_);
  }
  std::unique_ptr<GraphRunner> graph_runner() override { return make_cpu_graph_runner(); }

 private:
  cpu::BackpropWorkspace workspace_;  // kept from one training step to the next
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace modeconn
