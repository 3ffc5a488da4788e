// Symmetry diagnostics on models built to have known answers.
#include "modeconn/symmetry.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "support/check.hpp"
#include "support/fixtures.hpp"

namespace modeconn {
namespace {

TEST(Symmetry, CountsEquivalentNetworks) {
  auto backend = make_cpu_backend();
  const Model relu = test::random_model({4, 5, 3, 2}, Activation::relu, Task::classification, 1);
  const SymmetryReport r = analyse_symmetry(*backend, relu, nullptr, {});
  EXPECT_TRUE(test::close(r.log10_equivalent, std::log10(120.0 * 6.0), 1e-12));  // 5! · 3!
  const Model tanh = test::random_model({4, 5, 2}, Activation::tanh, Task::classification, 1);
  EXPECT_TRUE(test::close(analyse_symmetry(*backend, tanh, nullptr, {}).log10_equivalent,
                          std::log10(120.0 * 32.0), 1e-12));
}

TEST(Symmetry, FindsDeadAndDuplicatedUnits) {
  Model m = test::random_model({6, 8, 3}, Activation::relu, Task::classification, 2);
  const Architecture& arch = m.arch;
  float* w = m.params.data() + arch.weight_offset(0);
  float* b = m.params.data() + arch.bias_offset(0);
  // Unit 3 never fires: inputs lie in [-1, 1]^6, so a bias of -100 keeps it negative.
  b[3] = -100.f;
  // Unit 6 is unit 1 scaled by 2: a cosine of exactly 1.
  for (int k = 0; k < 6; ++k) w[6 * 6 + k] = 2.f * w[1 * 6 + k];
  b[6] = 2.f * b[1];
  const Split data = test::random_split(300, 6, Task::classification, 3, 3);
  auto backend = make_cpu_backend();
  const SymmetryReport r = analyse_symmetry(*backend, m, &data, {});
  ASSERT_EQ(r.layers.size(), 1u);
  EXPECT_EQ(r.layers[0].dead_units, (std::vector<int64_t>{3}));
  ASSERT_GE(r.layers[0].near_duplicate_pairs, 1);
  EXPECT_EQ(r.layers[0].closest.i, 1);
  EXPECT_EQ(r.layers[0].closest.j, 6);
  EXPECT_TRUE(test::close(r.layers[0].closest.cosine, 1.0, 1e-6));
}

TEST(Symmetry, SwapPathEndsAtTheSameFunctionAndIsFlatWhereUnitsCoincide) {
  const Model m = test::random_model({6, 7, 5, 3}, Activation::gelu, Task::classification, 4);
  const Split data = test::random_split(200, 6, Task::classification, 3, 5);
  auto backend = make_cpu_backend();
  const Path p = swap_path(m, 1, 0, 4);
  // Polychain knots at 0, 1/3, 2/3, 1: between the middle two the merged units only trade outgoing weights.
  const std::vector<double> ts{0.0, 1.0 / 3, 0.4, 0.5, 0.6, 2.0 / 3, 1.0};
  const auto r = backend->evaluate(p, ts, data);
  EXPECT_TRUE(test::close(r.back().loss, r.front().loss, 1e-6));  // the swapped model is the same function
  for (std::size_t i = 2; i <= 5; ++i) EXPECT_TRUE(test::close(r[i].loss, r[1].loss, 1e-6)) << ts[i];
  EXPECT_GT(std::abs(r[1].loss - r[0].loss), 1e-6);  // merging the units did change the function
}

}  // namespace
}  // namespace modeconn
