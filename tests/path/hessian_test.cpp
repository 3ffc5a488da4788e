// Curvature from products: the MLP's exact Hessian-vector products against second differences of an
// independent float64 loss, for every activation and both tasks; Lanczos and Hutchinson on operators whose
// spectrum is known; a one-layer least-squares model whose Hessian's eigenvalues are written down in closed
// form; and the Jacobi eigensolver against its own definition.
#include "modeconn/hessian.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "support/fixtures.hpp"
#include "support/reference_mlp.hpp"

namespace modeconn {
namespace {

TEST(SymmetricEigen, DiagonalisesARandomSymmetricMatrix) {
  const int n = 9;
  Rng rng(4);
  std::vector<double> a(n * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) a[i * n + j] = a[j * n + i] = rng.uniform() - 0.5;
  std::vector<double> values, vectors;
  symmetric_eigen(a, n, values, vectors);
  ASSERT_TRUE(std::is_sorted(values.begin(), values.end()));
  for (int k = 0; k < n; ++k)
    for (int i = 0; i < n; ++i) {
      double av = 0;
      for (int j = 0; j < n; ++j) av += a[i * n + j] * vectors[j * n + k];
      EXPECT_NEAR(av, values[k] * vectors[i * n + k], 1e-12);
      double vv = 0;
      for (int j = 0; j < n; ++j) vv += vectors[j * n + i] * vectors[j * n + k];
      EXPECT_NEAR(vv, i == k ? 1.0 : 0.0, 1e-12);
    }
}

// H = Q·diag(λ)·Qᵀ with a random orthogonal Q (Householder reflections), so that Lanczos sees no special
// basis.
struct KnownSpectrum {
  std::vector<double> lambda;
  std::vector<double> u1, u2;  // two Householder vectors: Q = (I − 2u1u1ᵀ)(I − 2u2u2ᵀ)
  std::vector<double> apply(std::span<const double> v) const {
    const auto reflect = [](const std::vector<double>& u, std::vector<double> x) {
      double d = 0;
      for (std::size_t i = 0; i < x.size(); ++i) d += u[i] * x[i];
      for (std::size_t i = 0; i < x.size(); ++i) x[i] -= 2 * d * u[i];
      return x;
    };
    std::vector<double> x = reflect(u1, reflect(u2, {v.begin(), v.end()}));  // Qᵀv (Q's reflections reversed)
    for (std::size_t i = 0; i < x.size(); ++i) x[i] *= lambda[i];
    return reflect(u2, reflect(u1, x));
  }
};

KnownSpectrum known_spectrum(int n, uint64_t seed) {
  Rng rng(seed);
  KnownSpectrum k;
  for (int i = 0; i < n; ++i) k.lambda.push_back(i % 3 == 0 ? -0.1 * i : 0.05 * i * i);
  for (auto* u : {&k.u1, &k.u2}) {
    double norm = 0;
    for (int i = 0; i < n; ++i) {
      u->push_back(rng.uniform() - 0.5);
      norm += u->back() * u->back();
    }
    for (double& x : *u) x /= std::sqrt(norm);
  }
  return k;
}

TEST(Lanczos, FindsTheExtremesOfAKnownSpectrum) {
  const int n = 120;
  const KnownSpectrum k = known_spectrum(n, 2);
  std::vector<double> sorted = k.lambda;
  std::sort(sorted.begin(), sorted.end());
  const LanczosResult r =
      lanczos_extremes([&](std::span<const double> v) { return k.apply(v); }, n, 4, 3, 120, 1e-10, 7);
  ASSERT_EQ(r.top.size(), 4u);
  ASSERT_EQ(r.bottom.size(), 3u);
  EXPECT_TRUE(r.converged);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(r.top[i], sorted[n - 1 - i], 1e-8 * sorted.back()) << i;
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(r.bottom[i], sorted[i], 1e-8 * sorted.back()) << i;
  EXPECT_LT(r.steps, n);  // stopped on its residuals, before the whole space
}

TEST(Hutchinson, IsExactForDiagonalsAndUnbiasedOtherwise) {
  const int n = 50;
  KnownSpectrum k = known_spectrum(n, 3);
  double trace = 0;
  for (double l : k.lambda) trace += l;
  // Rademacher probes of a diagonal matrix: zᵀDz = tr D exactly.
  const auto diagonal = [&](std::span<const double> v) {
    std::vector<double> out(v.begin(), v.end());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] *= k.lambda[i];
    return out;
  };
  const TraceEstimate exact = hutchinson_trace(diagonal, n, 3, 1);
  EXPECT_NEAR(exact.mean, trace, 1e-9);
  EXPECT_NEAR(exact.standard_error, 0.0, 1e-9);
  const TraceEstimate est =
      hutchinson_trace([&](std::span<const double> v) { return k.apply(v); }, n, 400, 1);
  EXPECT_EQ(est.probes, 400);
  EXPECT_GT(est.standard_error, 0.0);
  EXPECT_LT(std::abs(est.mean - trace), 4 * est.standard_error);
}

struct HvpCase {
  Activation activation;
  Task task;
};

class MlpHvp : public ::testing::TestWithParam<HvpCase> {};

// e_iᵀ·H·v by polarisation of second differences of the float64 reference loss:
// uᵀHu ≈ (L(θ + εu) − 2L(θ) + L(θ − εu))/ε², and e_iᵀHv = ((e_i + v)ᵀH(e_i + v) − (e_i − v)ᵀH(e_i − v))/4.
TEST_P(MlpHvp, MatchesSecondDifferencesOfAFloat64Loss) {
  const HvpCase c = GetParam();
  const int64_t outputs = 3;
  const Model m = test::random_model({4, 5, 3, outputs}, c.activation, c.task, 8);
  const Split s = test::random_split(16, 4, c.task, outputs, 9);
  MlpHessian h(m.arch, m.params, s, s.rows);
  const std::vector<double> theta(m.params.begin(), m.params.end());
  const int64_t n = h.size();
  Rng rng(10);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& x : v) x = rng.uniform() - 0.5;
  const std::vector<double> hv = h.apply(v);
  EXPECT_NEAR(h.loss(), test::ref_metrics(m.arch, theta, s).loss, 1e-5);

  const double eps = 1e-3;
  const auto second = [&](const std::vector<double>& u) {
    std::vector<double> plus = theta, minus = theta;
    for (std::size_t i = 0; i < u.size(); ++i) {
      plus[i] += eps * u[i];
      minus[i] -= eps * u[i];
    }
    return (test::ref_metrics(m.arch, plus, s).loss - 2 * test::ref_metrics(m.arch, theta, s).loss +
            test::ref_metrics(m.arch, minus, s).loss) /
           (eps * eps);
  };
  double norm = 0;
  for (double x : hv) norm += x * x;
  norm = std::sqrt(norm);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> up = v, down = v;
    up[static_cast<std::size_t>(i)] += 1;
    down[static_cast<std::size_t>(i)] -= 1;
    const double want = (second(up) - second(down)) / 4;
    ASSERT_NEAR(hv[static_cast<std::size_t>(i)], want, 2e-4 * (norm + 1)) << "component " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryActivation, MlpHvp,
                         ::testing::Values(HvpCase{Activation::relu, Task::classification},
                                           HvpCase{Activation::leaky_relu, Task::classification},
                                           HvpCase{Activation::tanh, Task::classification},
                                           HvpCase{Activation::sigmoid, Task::classification},
                                           HvpCase{Activation::gelu, Task::classification},
                                           HvpCase{Activation::softplus, Task::classification},
                                           HvpCase{Activation::identity, Task::classification},
                                           HvpCase{Activation::tanh, Task::regression},
                                           HvpCase{Activation::gelu, Task::regression},
                                           HvpCase{Activation::relu, Task::regression}));

// One linear layer under the mean squared error: H = 2/(N·K)·(AᵀA ⊗ I_K) with A = [X, 1]. With A's columns
// orthogonal, its eigenvalues are 2‖a_j‖²/(N·K), each K times.
TEST(MlpHessianSpectrum, RecoversALeastSquaresModelsClosedForm) {
  const int64_t n = 8, d = 3, k = 2;
  // Columns of ±1 patterns (orthogonal to each other and to the ones), scaled.
  const double scale[d] = {3.0, 1.5, 0.5};
  const int pattern[d][n] = {
      {1, -1, 1, -1, 1, -1, 1, -1}, {1, 1, -1, -1, 1, 1, -1, -1}, {1, 1, 1, 1, -1, -1, -1, -1}};
  Split s;
  s.name = "train";
  s.rows = n;
  s.features = d;
  s.task = Task::regression;
  s.target_width = k;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < d; ++j) s.x.push_back(static_cast<float>(scale[j] * pattern[j][r]));
  for (int64_t i = 0; i < n * k; ++i) s.targets.push_back(0.1f * static_cast<float>(i));
  const Model m = test::random_model({d, k}, Activation::identity, Task::regression, 2);
  MlpHessian h(m.arch, m.params, s, n);
  std::vector<double> want;
  for (int64_t j = 0; j < d; ++j)
    for (int64_t c = 0; c < k; ++c)
      want.push_back(2.0 * scale[j] * scale[j] * n / static_cast<double>(n * k));
  for (int64_t c = 0; c < k; ++c) want.push_back(2.0 * n / static_cast<double>(n * k));  // the bias column
  std::sort(want.begin(), want.end());
  const int64_t params = h.size();
  ASSERT_EQ(params, static_cast<int64_t>(want.size()));
  const LanczosResult r = lanczos_extremes([&](std::span<const double> v) { return h.apply(v); }, params,
                                           static_cast<int>(params), static_cast<int>(params), 100, 1e-10, 3);
  ASSERT_EQ(r.top.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(r.bottom[i], want[i], 1e-5 * want.back()) << i;
    EXPECT_NEAR(r.top[i], want[want.size() - 1 - i], 1e-5 * want.back()) << i;
  }
  double trace = 0;
  for (double w : want) trace += w;
  EXPECT_NEAR(hutchinson_trace([&](std::span<const double> v) { return h.apply(v); }, params, 2000, 5).mean,
              trace, 0.05 * trace);
}

}  // namespace
}  // namespace modeconn
