// The plane's geometry in float64: the Gram–Schmidt map gives orthonormal axes and puts the three models at
// their coordinates; random directions are standard normal; a graph's tensors split into filters as Li et
// al.'s normalisation reads them.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "graph/graph_models.hpp"
#include "modeconn/error.hpp"
#include "modeconn/plane.hpp"

namespace modeconn {
namespace {

std::vector<float> random_vector(std::size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(4 * rng.uniform() - 2);
  return v;
}

// θ(α, β) in float64 from the map's coefficients.
std::vector<double> at(const PlaneMap& map, const std::array<const std::vector<float>*, 3>& p, double alpha,
                       double beta) {
  const std::vector<double> c = map.coefficients(alpha, beta);
  std::vector<double> theta(p[0]->size(), 0.0);
  for (std::size_t k = 0; k < 3; ++k)
    for (std::size_t i = 0; i < theta.size(); ++i) theta[i] += c[k] * (*p[k])[i];
  return theta;
}

TEST(PlaneGeometry, ThreeModelAxesAreOrthonormalAndTheModelsSitAtTheirCoordinates) {
  const auto a = random_vector(257, 1), b = random_vector(257, 2), c = random_vector(257, 3);
  const ThreeModelPlane p = plane_through(a, b, c, {"a", "b", "c"});
  const std::array<const std::vector<float>*, 3> pts{&a, &b, &c};
  const auto origin = at(p.map, pts, 0, 0), x = at(p.map, pts, 1, 0), y = at(p.map, pts, 0, 1);
  double uu = 0, vv = 0, uv = 0;
  for (std::size_t i = 0; i < origin.size(); ++i) {
    uu += (x[i] - origin[i]) * (x[i] - origin[i]);
    vv += (y[i] - origin[i]) * (y[i] - origin[i]);
    uv += (x[i] - origin[i]) * (y[i] - origin[i]);
  }
  EXPECT_NEAR(uu, 1.0, 1e-12);
  EXPECT_NEAR(vv, 1.0, 1e-12);
  EXPECT_NEAR(uv, 0.0, 1e-12);
  for (std::size_t k = 0; k < 3; ++k) {
    const auto theta = at(p.map, pts, p.coords[k][0], p.coords[k][1]);
    for (std::size_t i = 0; i < theta.size(); ++i)
      ASSERT_NEAR(theta[i], (*pts[k])[i], 1e-12) << k << " " << i;
    const auto coef = p.map.coefficients(p.coords[k][0], p.coords[k][1]);
    EXPECT_NEAR(coef[0] + coef[1] + coef[2], 1.0, 1e-15);
  }
  EXPECT_EQ(p.coords[0][0], 0.0);
  EXPECT_EQ(p.coords[1][1], 0.0);
  EXPECT_GT(p.coords[2][1], 0.0);
}

TEST(PlaneGeometry, CoincidentOrCollinearModelsHaveNoPlane) {
  const auto a = random_vector(64, 1), b = random_vector(64, 2);
  std::vector<float> mid(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) mid[i] = 0.5f * a[i] + 0.5f * b[i];
  EXPECT_THROW(plane_through(a, a, b, {"a", "a", "b"}), Error);
  EXPECT_THROW(plane_through(a, b, a, {"a", "b", "a"}), Error);
  EXPECT_THROW(plane_through(a, b, mid, {"a", "b", "mid"}), Error);
}

TEST(PlaneGeometry, RandomDirectionsAreStandardNormal) {
  Rng rng(9);
  const std::vector<float> d = gaussian_direction(200001, rng);  // odd: the last value from half a pair
  double sum = 0, sq = 0, fourth = 0;
  for (float v : d) {
    sum += v;
    sq += static_cast<double>(v) * v;
    fourth += static_cast<double>(v) * v * v * v;
  }
  const double n = static_cast<double>(d.size()), mean = sum / n;
  EXPECT_NEAR(mean, 0.0, 5 / std::sqrt(n));
  EXPECT_NEAR(sq / n, 1.0, 5 * std::sqrt(2 / n));
  EXPECT_NEAR(fourth / n, 3.0, 5 * std::sqrt(96 / n));  // a normal's fourth moment, its variance 96
}

TEST(PlaneGeometry, GraphTensorsSplitIntoFiltersAndUnits) {
  const GraphModel m = test::random_graph_model(test::kNarrow, 3);
  const auto tensors = graph_param_tensors(m.graph);
  int64_t total = 0;
  for (const ParamTensor& t : tensors) {
    total += t.size;
    if (t.name == "conv.weight") {
      EXPECT_EQ(t.rows, 16);  // [16, 8, 3, 3]: 16 filters of 72
    } else if (t.name == "fc.weight") {
      EXPECT_EQ(t.rows, 3);  // [3, 8]: 3 units
    } else if (t.name == "bn.weight" || t.name.ends_with(".bias")) {
      EXPECT_EQ(t.rows, 0) << t.name;
    }
  }
  EXPECT_EQ(total, m.graph.num_params());
  // Filter normalisation makes each of them as long as the model's.
  std::vector<float> d(static_cast<std::size_t>(total), 1.f);
  normalize_direction(d, m.params, tensors, DirectionNorm::filter, false);
  for (const ParamTensor& t : tensors) {
    const int64_t per = t.rows > 0 ? t.size / t.rows : t.size;
    for (int64_t r = 0; r < std::max<int64_t>(t.rows, 1); ++r) {
      double dn = 0, wn = 0;
      for (int64_t i = t.offset + r * per; i < t.offset + (r + 1) * per; ++i) {
        dn += static_cast<double>(d[static_cast<std::size_t>(i)]) * d[static_cast<std::size_t>(i)];
        wn += static_cast<double>(m.params[static_cast<std::size_t>(i)]) *
              m.params[static_cast<std::size_t>(i)];
      }
      EXPECT_NEAR(std::sqrt(dn), t.rows > 0 ? std::sqrt(wn) : 0.0, 1e-5 * (1 + std::sqrt(wn))) << t.name << r;
    }
  }
}

}  // namespace
}  // namespace modeconn
