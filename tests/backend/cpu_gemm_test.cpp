// The CPU backend's row-split SGEMM against a float64 product, for every transpose, shapes that do not split
// evenly, k = 0, beta ≠ 0, and 1 to 4 threads.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include "backend/cpu_ops.hpp"

namespace modeconn {
namespace {

struct Shape {
  int64_t m, n, k;
};

// C = alpha op(A) op(B) + beta C in float64, row-major, A stored [m×k] (or [k×m] when trans_a) and B [k×n]
// (or [n×k] when trans_b).
std::vector<double> reference(const Shape& s, double alpha, const std::vector<float>& a, bool trans_a,
                              const std::vector<float>& b, bool trans_b, double beta,
                              const std::vector<float>& c) {
  std::vector<double> out(static_cast<std::size_t>(s.m * s.n));
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < s.k; ++p) {
        const double x = trans_a ? a[p * s.m + i] : a[i * s.k + p];
        const double y = trans_b ? b[j * s.k + p] : b[p * s.n + j];
        sum += x * y;
      }
      out[i * s.n + j] = alpha * sum + beta * c[i * s.n + j];
    }
  return out;
}

TEST(ParallelGemm, MatchesAFloat64ProductForEveryTransposeAndThreadCount) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  const std::vector<Shape> shapes = {{1, 1, 1},      {3, 5, 0},   {1000, 37, 129}, {999, 64, 256},
                                     {13, 500, 700}, {257, 3, 1}, {64, 64, 4096}};
  const int saved = omp_get_max_threads();
  for (const Shape& s : shapes)
    for (const int threads : {1, 2, 3, 4})
      for (const bool ta : {false, true})
        for (const bool tb : {false, true})
          for (const float beta : {0.f, 0.5f}) {
            auto fill = [&](int64_t size) {
              std::vector<float> v(static_cast<std::size_t>(size));
              for (auto& x : v) x = normal(rng);
              return v;
            };
            const auto a = fill(s.m * s.k), b = fill(s.k * s.n);
            std::vector<float> c = fill(s.m * s.n);
            const auto want = reference(s, 1.25, a, ta, b, tb, beta, c);
            omp_set_num_threads(threads);
            cpu::parallel_gemm(s.m, s.n, s.k, 1.25f, a.data(), ta, b.data(), tb, beta, c.data());
            // Float32 accumulation over k terms of unit size: error grows like sqrt(k) ulps of the terms.
            const double tol = 1e-5 * (1 + std::sqrt(static_cast<double>(s.k))) * 8;
            for (std::size_t i = 0; i < c.size(); ++i)
              ASSERT_NEAR(c[i], want[i], tol)
                  << "m=" << s.m << " n=" << s.n << " k=" << s.k << " threads=" << threads
                  << " trans_a=" << ta << " trans_b=" << tb << " beta=" << beta << " at " << i;
          }
  omp_set_num_threads(saved);
}

TEST(ParallelGemm, InsideAParallelRegionRunsOnTheCallingThread) {
  // Each thread its own product: nested use must neither oversubscribe nor mix the blocks up.
  const int64_t m = 300, n = 20, k = 50;
  std::vector<float> a(m * k, 1.f), b(k * n, 2.f);
  std::vector<std::vector<float>> c(4, std::vector<float>(m * n, -1.f));
#pragma omp parallel for num_threads(4)
  for (int t = 0; t < 4; ++t)
    cpu::parallel_gemm(m, n, k, 1.f, a.data(), false, b.data(), false, 0.f, c[t].data());
  for (const auto& ct : c)
    for (const float v : ct) ASSERT_EQ(v, 2.f * k);
}

}  // namespace
}  // namespace modeconn
