// Barrier definitions on hand-made profiles, the t grid, and path bases against their closed forms.
#include "modeconn/barrier.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "modeconn/error.hpp"
#include "modeconn/path.hpp"

namespace modeconn {
namespace {

TEST(Barrier, TiltedProfileSeparatesTheDefinitions) {
  // f(0) = 1, f(1) = 3: the line joining them is 1 + 2t. The peak of 4 sits at t = 0.75 where the line
  // is 2.5.
  const std::vector<double> ts{0, 0.25, 0.5, 0.75, 1};
  const std::vector<double> f{1, 2, 2.5, 4, 3};
  const Barrier b = compute_barrier(ts, f);
  EXPECT_DOUBLE_EQ(b.gap, 1.5);       // 4 - 2.5
  EXPECT_DOUBLE_EQ(b.mean, 2.0);      // 4 - (1 + 3) / 2
  EXPECT_DOUBLE_EQ(b.midpoint, 0.5);  // 2.5 - 2
  EXPECT_DOUBLE_EQ(b.t_peak, 0.75);
}

TEST(Barrier, ConvexValleyHasNoGapButNegativeMeanAndMidpoint) {
  const std::vector<double> ts{0, 0.5, 1};
  const std::vector<double> f{2, 1, 2};
  const Barrier b = compute_barrier(ts, f);
  EXPECT_DOUBLE_EQ(b.gap, 0.0);  // t = 0 counts, so never negative
  EXPECT_DOUBLE_EQ(b.t_peak, 0.0);
  EXPECT_DOUBLE_EQ(b.mean, 0.0);
  EXPECT_DOUBLE_EQ(b.midpoint, -1.0);
}

TEST(Barrier, FirstPeakWinsTiesAndMidpointIsRequired) {
  const std::vector<double> ts{0, 0.25, 0.5, 0.75, 1};
  const Barrier b = compute_barrier(ts, std::vector<double>{0, 1, 0.5, 1, 0});
  EXPECT_DOUBLE_EQ(b.gap, 1.0);
  EXPECT_DOUBLE_EQ(b.t_peak, 0.25);
  const std::vector<double> no_mid{0, 0.4, 1};
  EXPECT_THROW(compute_barrier(no_mid, std::vector<double>{0, 1, 0}), Error);
}

TEST(Barrier, ValuesThatAreNotFiniteGiveHonestBarriers) {
  const std::vector<double> ts = {0, 0.25, 0.5, 0.75, 1};
  // A loss that overflowed between finite endpoints: an infinite barrier, found where it happened.
  const Barrier up = compute_barrier(ts, std::vector<double>{1, 2, INFINITY, 2, 1});
  EXPECT_EQ(up.gap, INFINITY);
  EXPECT_EQ(up.mean, INFINITY);
  EXPECT_EQ(up.midpoint, INFINITY);
  EXPECT_EQ(up.t_peak, 0.5);
  // An endpoint that is not finite, or a NaN anywhere: no line to measure from, never a negative gap.
  for (const auto& f : {std::vector<double>{INFINITY, 1, 1, 1, 1}, std::vector<double>{1, 1, 1, 1, INFINITY},
                        std::vector<double>{1, NAN, 1, 1, 1}, std::vector<double>{NAN, 1, 1, 1, 1}}) {
    const Barrier b = compute_barrier(ts, f);
    EXPECT_TRUE(std::isnan(b.gap) && std::isnan(b.mean) && std::isnan(b.midpoint) && std::isnan(b.t_peak));
  }
}

TEST(PathGrid, AlwaysHoldsTheEndpointsAndTheMidpoint) {
  EXPECT_EQ(path_grid(2), (std::vector<double>{0, 0.5, 1}));
  EXPECT_EQ(path_grid(3), (std::vector<double>{0, 0.5, 1}));
  const auto g = path_grid(4);
  ASSERT_EQ(g.size(), 5u);
  EXPECT_DOUBLE_EQ(g[1], 1.0 / 3);
  EXPECT_EQ(g[2], 0.5);
  EXPECT_EQ(path_grid(25).size(), 25u);
  EXPECT_EQ(path_grid(25)[12], 0.5);
  EXPECT_THROW(path_grid(1), Error);
}

TEST(PathBasis, BezierIsBernsteinAndPolychainInterpolatesItsPoints) {
  Path quad{PathKind::bezier, {}, {{1}, {2}, {3}}};
  const auto c = quad.coefficients(0.3);
  EXPECT_DOUBLE_EQ(c[0], 0.49);
  EXPECT_DOUBLE_EQ(c[1], 2 * 0.3 * 0.7);
  EXPECT_DOUBLE_EQ(c[2], 0.09);
  Path cubic{PathKind::bezier, {}, {{0}, {0}, {0}, {0}}};
  const auto d = cubic.coefficients(0.2);
  EXPECT_NEAR(d[1], 3 * 0.2 * 0.64, 1e-15);
  EXPECT_NEAR(d[0] + d[1] + d[2] + d[3], 1.0, 1e-15);
  Path chain{PathKind::polychain, {}, {{0}, {0}, {0}}};
  EXPECT_EQ(chain.coefficients(0.5), (std::vector<double>{0, 1, 0}));
  EXPECT_EQ(chain.coefficients(0.75), (std::vector<double>{0, 0.5, 0.5}));
  EXPECT_EQ(chain.coefficients(1.0), (std::vector<double>{0, 0, 1}));
  Path line{PathKind::linear, {}, {{0}, {0}}};
  EXPECT_EQ(line.coefficients(0.25), (std::vector<double>{0.75, 0.25}));
}

}  // namespace
}  // namespace modeconn
