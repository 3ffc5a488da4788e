// The host's matrix product, the default Backend::product.
#include <cblas.h>

#include "modeconn/backend.hpp"
#include "modeconn/error.hpp"

namespace modeconn {

void Backend::product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                      const float* b, float beta, float* c) {
  MODECONN_EXPECTS(m >= 0 && n >= 0 && k >= 0, "product shapes");
  if (m == 0 || n == 0) return;
  const auto bl = [](int64_t v) { return static_cast<blasint>(v); };
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, bl(m), bl(n),
              bl(k), alpha, a, bl(trans_a ? m : k), b, bl(trans_b ? k : n), beta, c, bl(n));
}

}  // namespace modeconn
