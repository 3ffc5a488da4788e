// The defaults of Backend: the host's matrix product, and no graph runner. Its default trainer, and
// GraphRunner's, are the host's (host/train/host_trainer.cpp).
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

}  // namespace modeconn
