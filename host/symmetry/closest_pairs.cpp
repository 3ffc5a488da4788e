// Closest pairs of units by cosine.
#include "symmetry/closest_pairs.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>

namespace modeconn {

std::vector<UnitPair> closest_pairs(std::vector<double> u, int64_t n, int64_t d, bool odd, double threshold,
                                    std::size_t limit, int64_t* count_above) {
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t k = 0; k < d; ++k)
      s += u[static_cast<std::size_t>(i * d + k)] * u[static_cast<std::size_t>(i * d + k)];
    const double inv = s > 0 ? 1.0 / std::sqrt(s) : 0.0;
    for (int64_t k = 0; k < d; ++k) u[static_cast<std::size_t>(i * d + k)] *= inv;
  }
  std::vector<double> g(static_cast<std::size_t>(n * n));
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(n), static_cast<blasint>(n),
              static_cast<blasint>(d), 1.0, u.data(), static_cast<blasint>(d), u.data(),
              static_cast<blasint>(d), 0.0, g.data(), static_cast<blasint>(n));
  UnitPair best{0, n > 1 ? 1 : 0, -INFINITY};
  std::vector<UnitPair> above;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      double c = g[static_cast<std::size_t>(i * n + j)];
      if (odd) c = std::abs(c);
      if (c > best.cosine) best = {i, j, c};
      if (c >= threshold) above.push_back({i, j, c});
    }
  std::sort(above.begin(), above.end(),
            [](const UnitPair& x, const UnitPair& y) { return x.cosine > y.cosine; });
  *count_above = static_cast<int64_t>(above.size());
  if (above.size() > limit) above.resize(limit);
  if (n > 1 && (above.empty() || above.front().cosine < best.cosine)) above.insert(above.begin(), best);
  return above;
}

double log10_factorial(int64_t n) { return std::lgamma(static_cast<double>(n) + 1.0) / std::log(10.0); }

}  // namespace modeconn
