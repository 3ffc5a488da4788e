// The host's matrix product, the default Backend::product.
#include "backend/cpu_ops.hpp"
#include "modeconn/backend.hpp"
#include "modeconn/error.hpp"

namespace modeconn {

void Backend::product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float* a, const float* b, float beta, float* c) {
  MODECONN_EXPECTS(m >= 0 && n >= 0 && k >= 0, "product shapes");
  cpu::parallel_gemm(m, n, k, alpha, a, trans_a, b, trans_b, beta, c);
}

}  // namespace modeconn
