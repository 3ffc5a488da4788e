// The defaults of Backend (the host's matrix product, and no graph runner) and of GraphRunner (no backward,
// no trainer of its own).
#include "backend/cpu_ops.hpp"
#include "modeconn/backend.hpp"
#include "modeconn/error.hpp"
#include "modeconn/graph_eval.hpp"

namespace modeconn {

void Backend::product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float* a, const float* b, float beta, float* c) {
  MODECONN_EXPECTS(m >= 0 && n >= 0 && k >= 0, "product shapes");
  cpu::parallel_gemm(m, n, k, alpha, a, trans_a, b, trans_b, beta, c);
}

std::unique_ptr<GraphRunner> Backend::graph_runner() { return nullptr; }

PointMetrics GraphRunner::metrics_and_grad(const Graph&, std::span<const float>, std::span<float>, bool,
                                           const Split&, std::span<const int64_t>, std::span<float>) {
  throw usage_error("this backend has no backward pass through layer graphs yet; use --device cpu");
}

std::unique_ptr<GraphTrainer> GraphRunner::make_trainer(const Graph&, const Path&, std::span<const float>,
                                                        std::size_t, std::size_t, const Split&,
                                                        const TrainOptions&) {
  return nullptr;
}

}  // namespace modeconn
