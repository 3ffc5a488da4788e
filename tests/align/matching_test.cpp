// Symmetry transforms keep the function; weight and activation matching undo a random permutation exactly.
#include <gtest/gtest.h>

#include "modeconn/align.hpp"
#include "modeconn/error.hpp"
#include "modeconn/invariance.hpp"
#include "modeconn/rng.hpp"
#include "support/check.hpp"
#include "support/fixtures.hpp"

namespace modeconn {
namespace {

Alignment random_alignment(const Architecture& arch, uint64_t seed, bool signs) {
  Alignment al = identity_alignment(arch);
  Rng rng(seed);
  for (auto& layer : al.layers) {
    for (std::size_t i = layer.perm.size(); i > 1; --i) std::swap(layer.perm[i - 1], layer.perm[rng.below(i)]);
    if (signs)
      for (auto& s : layer.sign) s = rng.below(2) ? 1 : -1;
  }
  return al;
}

FunctionCheck same_function(const Model& x, const Model& y) {
  auto backend = make_cpu_backend();
  return compare_functions(*backend, x, y, random_probe(x.arch, 256, 7));
}

TEST(Transforms, PermutationsSignsAndScalesKeepTheFunction) {
  const Model relu = test::random_model({10, 16, 12, 9, 4}, Activation::relu, Task::classification, 1);
  EXPECT_TRUE(same_function(relu, apply_alignment(relu, random_alignment(relu.arch, 2, false))).same);
  const Model canon = canonicalize_scale(relu);
  EXPECT_TRUE(same_function(relu, canon).same);
  EXPECT_NE(canon.params, relu.params);
  const Model tanh = test::random_model({10, 16, 12, 4}, Activation::tanh, Task::regression, 3);
  EXPECT_TRUE(same_function(tanh, apply_alignment(tanh, random_alignment(tanh.arch, 4, true))).same);
  // The checks can fail: a sign flip breaks a ReLU network, rescaling breaks a tanh network.
  EXPECT_FALSE(same_function(relu, apply_alignment(relu, random_alignment(relu.arch, 5, true))).same);
  EXPECT_FALSE(same_function(tanh, canonicalize_scale(tanh)).same);
}

TEST(WeightMatching, UndoesARandomPermutationExactly) {
  for (Activation act : {Activation::relu, Activation::gelu}) {
    const Model a = test::random_model({20, 32, 24, 16, 5}, act, Task::classification, 10);
    const Model b = apply_alignment(a, random_alignment(a.arch, 11, false));
    ASSERT_GT(weight_distance(a, b), 1.0);
    const MatchingResult r = weight_matching(a, b, {100, 3, false});
    EXPECT_EQ(apply_alignment(b, r.alignment).params, a.params);  // bit for bit: a permutation moves values only
    EXPECT_GT(r.objective_after, r.objective_before);
    EXPECT_TRUE(test::close(r.objective_after, weight_inner_product(a, a), 1e-12));
  }
}

TEST(WeightMatching, UndoesSignedPermutationsForOddActivations) {
  const Model a = test::random_model({12, 20, 18, 3}, Activation::tanh, Task::regression, 20);
  const Model b = apply_alignment(a, random_alignment(a.arch, 21, true));
  const MatchingResult r = weight_matching(a, b, {100, 1, true});
  EXPECT_EQ(apply_alignment(b, r.alignment).params, a.params);
  EXPECT_THROW(weight_matching(test::random_model({4, 5, 2}, Activation::relu, Task::regression, 1),
                               test::random_model({4, 5, 2}, Activation::relu, Task::regression, 2), {10, 0, true}),
               Error);
}

TEST(WeightMatching, NeverLowersTheObjectiveAndKeepsTheFunction) {
  const Model a = test::random_model({15, 24, 24, 6}, Activation::relu, Task::classification, 30);
  const Model b = test::random_model({15, 24, 24, 6}, Activation::relu, Task::classification, 31);
  const MatchingResult r = weight_matching(a, b, {100, 5, false});
  const Model aligned = apply_alignment(b, r.alignment);
  EXPECT_GE(r.objective_after, r.objective_before);
  EXPECT_LT(weight_distance(a, aligned), weight_distance(a, b));
  EXPECT_TRUE(same_function(b, aligned).same);
  EXPECT_GE(r.sweeps, 1);
}

TEST(ActivationMatching, UndoesARandomPermutationExactly) {
  const Model a = test::random_model({10, 24, 16, 4}, Activation::relu, Task::classification, 40);
  const Split data = test::random_split(500, 10, Task::classification, 4, 41);
  const Model b = apply_alignment(a, random_alignment(a.arch, 42, false));
  auto backend = make_cpu_backend();
  const MatchingResult r = activation_matching(*backend, a, b, data, {});
  EXPECT_EQ(apply_alignment(b, r.alignment).params, a.params);
  const Model t = test::random_model({10, 24, 16, 4}, Activation::tanh, Task::classification, 43);
  const Model tb = apply_alignment(t, random_alignment(t.arch, 44, true));
  const MatchingResult rt = activation_matching(*backend, t, tb, data, {100, 0, true});
  EXPECT_EQ(apply_alignment(tb, rt.alignment).params, t.params);
}

TEST(ActivationStats, MatchFloat64Recomputation) {
  const Model a = test::random_model({6, 5, 3}, Activation::tanh, Task::classification, 50);
  const Model b = test::random_model({6, 5, 3}, Activation::tanh, Task::classification, 51);
  const Split data = test::random_split(300, 6, Task::classification, 3, 52);
  auto backend = make_cpu_backend();
  const ActivationStats st = backend->activation_stats(a, b, data, 0);
  // Recompute covariance of unit 2 of A and unit 4 of B directly in float64.
  std::vector<double> xa, xb;
  for (int64_t r = 0; r < data.rows; ++r) {
    double za = a.params[a.arch.bias_offset(0) + 2], zb = b.params[b.arch.bias_offset(0) + 4];
    for (int64_t k = 0; k < 6; ++k) {
      za += static_cast<double>(a.params[static_cast<std::size_t>(2 * 6 + k)]) * data.x[static_cast<std::size_t>(r * 6 + k)];
      zb += static_cast<double>(b.params[static_cast<std::size_t>(4 * 6 + k)]) * data.x[static_cast<std::size_t>(r * 6 + k)];
    }
    xa.push_back(std::tanh(za));
    xb.push_back(std::tanh(zb));
  }
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < xa.size(); ++i) ma += xa[i], mb += xb[i];
  ma /= 300;
  mb /= 300;
  double cov = 0, va = 0;
  for (std::size_t i = 0; i < xa.size(); ++i) cov += (xa[i] - ma) * (xb[i] - mb), va += (xa[i] - ma) * (xa[i] - ma);
  EXPECT_TRUE(test::close(st.mean_a[2], ma, 1e-5, 1e-7));
  EXPECT_TRUE(test::close(st.covariance[2 * 5 + 4], cov / 300, 1e-4, 1e-7));
  EXPECT_TRUE(test::close(st.std_a[2], std::sqrt(va / 300), 1e-4, 1e-7));
}

}  // namespace
}  // namespace modeconn
