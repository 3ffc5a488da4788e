// What the CPU backend reports about a model's insides: hidden-layer statistics and raw outputs.
#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "backend/cpu_ops.hpp"
#include "modeconn/error.hpp"

namespace modeconn::cpu {
namespace {

constexpr int64_t kBlock = 1024;

// Post-activations of layers 0..last for rows [r0, r0 + rows); returns layer `last` (activated if hidden).
std::vector<float> forward_to(const Model& m, const Split& s, int64_t r0, int64_t rows, std::size_t last) {
  const Architecture& arch = m.arch;
  std::vector<float> h(s.x.begin() + r0 * s.features, s.x.begin() + (r0 + rows) * s.features);
  for (std::size_t l = 0; l <= last; ++l) {
    const auto& layer = arch.layers[l];
    std::vector<float> next(static_cast<std::size_t>(rows * layer.out));
    gemm(rows, layer.out, layer.in, 1.f, h.data(), false, m.params.data() + arch.weight_offset(l), true, 0.f,
         next.data());
    bias_activation(next.data(), rows, layer.out, m.params.data() + arch.bias_offset(l), arch.activation,
                    l + 1 < arch.layers.size());
    h.swap(next);
  }
  return h;
}

}  // namespace

ActivationStats activation_stats(const Model& a, const Model& b, const Split& split, std::size_t layer) {
  MODECONN_EXPECTS(a.arch.same_shape(b.arch) && layer + 1 < a.arch.layers.size(),
                   "a hidden layer of one shape");
  const int64_t n = a.arch.layers[layer].out;
  const auto un = static_cast<std::size_t>(n);
  ActivationSums sums;
  sums.rows = split.rows;
  sums.sum_a.assign(un, 0);
  sums.sq_a.assign(un, 0);
  sums.sum_b.assign(un, 0);
  sums.sq_b.assign(un, 0);
  sums.max_a.assign(un, -INFINITY);
  sums.max_b.assign(un, -INFINITY);
  sums.cross.assign(un * un, 0);
  std::vector<double> da, db;
  for (int64_t r0 = 0; r0 < split.rows; r0 += kBlock) {
    const int64_t rows = std::min(kBlock, split.rows - r0);
    const std::vector<float> ha = forward_to(a, split, r0, rows, layer);
    const std::vector<float> hb = forward_to(b, split, r0, rows, layer);
    da.assign(ha.begin(), ha.end());
    db.assign(hb.begin(), hb.end());
    for (int64_t r = 0; r < rows; ++r)
      for (std::size_t j = 0; j < un; ++j) {
        const double x = da[static_cast<std::size_t>(r) * un + j],
                     y = db[static_cast<std::size_t>(r) * un + j];
        sums.sum_a[j] += x;
        sums.sq_a[j] += x * x;
        sums.sum_b[j] += y;
        sums.sq_b[j] += y * y;
        sums.max_a[j] = std::max(sums.max_a[j], x);
        sums.max_b[j] = std::max(sums.max_b[j], y);
      }
    // Σ_rows a bᵀ in float64.
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<blasint>(n), static_cast<blasint>(n),
                static_cast<blasint>(rows), 1.0, da.data(), static_cast<blasint>(n), db.data(),
                static_cast<blasint>(n), 1.0, sums.cross.data(), static_cast<blasint>(n));
  }
  return sums.finish();
}

std::vector<float> outputs(const Model& m, const Split& split, int64_t first, int64_t count) {
  MODECONN_EXPECTS(first >= 0 && count >= 0 && first + count <= split.rows, "rows inside the split");
  return forward_to(m, split, first, count, m.arch.layers.size() - 1);
}

}  // namespace modeconn::cpu
