// Symmetry transforms keep the function; weight and activation matching undo a random permutation exactly.
#include <gtest/gtest.h>

#include "align/weight_similarity.hpp"
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
    for (std::size_t i = layer.perm.size(); i > 1; --i)
      std::swap(layer.perm[i - 1], layer.perm[rng.below(i)]);
    if (signs)
      for (auto& s : layer.sign) s = rng.below(2) ? 1 : -1;
  }
  return al;
}

Backend* cpu_backend() {
  static const std::unique_ptr<Backend> cpu = make_cpu_backend();
  return cpu.get();
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

// Weight matching's similarity for hidden layer h recomputed in float64 from its definition.
std::vector<double> similarity_float64(const Model& a, const Model& b, const Alignment& al, std::size_t h) {
  const Architecture& arch = a.arch;
  const int64_t n = arch.layers[h].out, in = arch.layers[h].in, out = arch.layers[h + 1].out;
  const LayerAlignment* prev = h > 0 ? &al.layers[h - 1] : nullptr;
  const LayerAlignment* after = h + 2 < arch.layers.size() ? &al.layers[h + 1] : nullptr;
  auto at = [](const Model& m, int64_t offset, int64_t index) {
    return static_cast<double>(m.params[static_cast<std::size_t>(offset + index)]);
  };
  std::vector<double> s(static_cast<std::size_t>(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double v = at(a, arch.bias_offset(h), i) * at(b, arch.bias_offset(h), j);
      for (int64_t k = 0; k < in; ++k) {
        const auto u = static_cast<std::size_t>(k);
        const int64_t src = prev ? prev->perm[u] : k;
        v += at(a, arch.weight_offset(h), i * in + k) * (prev ? prev->sign[u] : 1) *
             at(b, arch.weight_offset(h), j * in + src);
      }
      for (int64_t m = 0; m < out; ++m) {
        const auto u = static_cast<std::size_t>(m);
        const int64_t src = after ? after->perm[u] : m;
        v += at(a, arch.weight_offset(h + 1), m * n + i) * (after ? after->sign[u] : 1) *
             at(b, arch.weight_offset(h + 1), src * n + j);
      }
      s[static_cast<std::size_t>(i * n + j)] = v;
    }
  return s;
}

TEST(WeightMatching, IncrementalSimilarityMatchesFloat64Recomputation) {
  // Random walks over alignments: a few units moved (the low-rank update), many moved (recomputed whole),
  // sign flips, and nothing moved, checked after every step against the definition.
  const Model a = test::random_model({30, 24, 20, 24, 6}, Activation::tanh, Task::classification, 21);
  const Model b = test::random_model({30, 24, 20, 24, 6}, Activation::tanh, Task::classification, 22);
  auto cpu = make_cpu_backend();
  WeightSimilarity similarity(a, b, *cpu);
  Alignment al = identity_alignment(a.arch);
  Rng rng(23);
  double worst = 0;
  for (int step = 0; step < 60; ++step) {
    LayerAlignment& layer = al.layers[rng.below(al.layers.size())];
    const std::size_t n = layer.perm.size();
    switch (step % 4) {
      case 0:
        std::swap(layer.perm[rng.below(n)], layer.perm[rng.below(n)]);
        break;
      case 1:
        for (std::size_t i = n; i > 1; --i) std::swap(layer.perm[i - 1], layer.perm[rng.below(i)]);
        for (auto& sign : layer.sign) sign = rng.below(2) ? 1 : -1;
        break;
      case 2:
        layer.sign[rng.below(n)] *= -1;
        break;
      default:
        break;
    }
    for (std::size_t h = 0; h < al.layers.size(); ++h) {
      const std::vector<double> got = similarity(al, h), want = similarity_float64(a, b, al, h);
      ASSERT_EQ(got.size(), want.size());
      for (std::size_t e = 0; e < got.size(); ++e)
        worst = std::max(worst, std::abs(got[e] - want[e]) / (1 + std::abs(want[e])));
    }
  }
  EXPECT_LT(worst, 1e-5);
}

TEST(WeightMatching, UndoesARandomPermutationExactly) {
  for (Activation act : {Activation::relu, Activation::gelu}) {
    const Model a = test::random_model({20, 32, 24, 16, 5}, act, Task::classification, 10);
    const Model b = apply_alignment(a, random_alignment(a.arch, 11, false));
    ASSERT_GT(weight_distance(a, b), 1.0);
    const MatchingResult r = weight_matching(*cpu_backend(), a, b, {100, 3, false});
    EXPECT_EQ(apply_alignment(b, r.alignment).params,
              a.params);  // bit for bit: a permutation moves values only
    EXPECT_GT(r.objective_after, r.objective_before);
    EXPECT_TRUE(test::close(r.objective_after, weight_inner_product(a, a), 1e-12));
  }
}

TEST(WeightMatching, UndoesSignedPermutationsForOddActivations) {
  const Model a = test::random_model({12, 20, 18, 3}, Activation::tanh, Task::regression, 20);
  const Model b = apply_alignment(a, random_alignment(a.arch, 21, true));
  const MatchingResult r = weight_matching(*cpu_backend(), a, b, {100, 1, true});
  EXPECT_EQ(apply_alignment(b, r.alignment).params, a.params);
  EXPECT_THROW(
      weight_matching(*cpu_backend(), test::random_model({4, 5, 2}, Activation::relu, Task::regression, 1),
                      test::random_model({4, 5, 2}, Activation::relu, Task::regression, 2), {10, 0, true}),
      Error);
}

TEST(WeightMatching, NeverLowersTheObjectiveAndKeepsTheFunction) {
  const Model a = test::random_model({15, 24, 24, 6}, Activation::relu, Task::classification, 30);
  const Model b = test::random_model({15, 24, 24, 6}, Activation::relu, Task::classification, 31);
  const MatchingResult r = weight_matching(*cpu_backend(), a, b, {100, 5, false});
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

// Units that never fire on the data correlate with nothing: their places come from their weights, so a
// planted permutation is recovered exactly by both methods even with dead units in every hidden layer.
TEST(ActivationMatching, PlacesDeadUnitsByTheirWeights) {
  Model a = test::random_model({10, 24, 16, 4}, Activation::relu, Task::classification, 50);
  const Split data = test::random_split(400, 10, Task::classification, 4, 51);
  for (std::size_t h = 0; h < 2; ++h)
    for (int64_t unit = 0; unit < 8; ++unit)  // a bias far below anything the inputs reach: dead on the data
      a.params[a.arch.bias_offset(h) + static_cast<std::size_t>(3 * unit % a.arch.layers[h].out)] = -1e3f;
  auto backend = make_cpu_backend();
  const ActivationStats st = backend->activation_stats(a, a, data, 0);
  int dead = 0;
  for (double s : st.std_a) dead += s == 0.0;
  ASSERT_EQ(dead, 8) << "the fixture's units are not dead";
  for (uint64_t seed : {52, 53, 54}) {
    const Model b = apply_alignment(a, random_alignment(a.arch, seed, false));
    const MatchingResult act = activation_matching(*backend, a, b, data, {});
    EXPECT_EQ(apply_alignment(b, act.alignment).params, a.params) << "activation matching, seed " << seed;
    const MatchingResult wm = weight_matching(*backend, a, b, {100, 3, false});
    EXPECT_EQ(apply_alignment(b, wm.alignment).params, a.params) << "weight matching, seed " << seed;
  }
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
      za += static_cast<double>(a.params[static_cast<std::size_t>(2 * 6 + k)]) *
            data.x[static_cast<std::size_t>(r * 6 + k)];
      zb += static_cast<double>(b.params[static_cast<std::size_t>(4 * 6 + k)]) *
            data.x[static_cast<std::size_t>(r * 6 + k)];
    }
    xa.push_back(std::tanh(za));
    xb.push_back(std::tanh(zb));
  }
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < xa.size(); ++i) ma += xa[i], mb += xb[i];
  ma /= 300;
  mb /= 300;
  double cov = 0, va = 0;
  for (std::size_t i = 0; i < xa.size(); ++i)
    cov += (xa[i] - ma) * (xb[i] - mb), va += (xa[i] - ma) * (xa[i] - ma);
  EXPECT_TRUE(test::close(st.mean_a[2], ma, 1e-5, 1e-7));
  EXPECT_TRUE(test::close(st.covariance[2 * 5 + 4], cov / 300, 1e-4, 1e-7));
  EXPECT_TRUE(test::close(st.std_a[2], std::sqrt(va / 300), 1e-4, 1e-7));
}

}  // namespace
}  // namespace modeconn
