// Path bases (linear, Bézier, polygonal chain) and the grid of t values every path command evaluates.
#include "modeconn/path.hpp"

#include <algorithm>
#include <cmath>

#include "backend/cpu/vector_clones.hpp"
#include "modeconn/error.hpp"

namespace modeconn {

PathKind parse_path_kind(std::string_view name) {
  if (name == "linear") return PathKind::linear;
  if (name == "bezier") return PathKind::bezier;
  if (name == "polychain") return PathKind::polychain;
  throw usage_error("unknown path kind '" + std::string(name) + "' (linear, bezier, polychain)");
}

std::string_view path_kind_name(PathKind k) {
  switch (k) {
    case PathKind::linear:
      return "linear";
    case PathKind::bezier:
      return "bezier";
    case PathKind::polychain:
      return "polychain";
  }
  return "?";
}

std::vector<double> Path::coefficients(double t) const {
  const int k = static_cast<int>(points.size());
  MODECONN_EXPECTS(k >= 1, "a path needs a control point");
  std::vector<double> c(static_cast<std::size_t>(k), 0.0);
  if (k == 1) {
    c[0] = 1.0;
    return c;
  }
  switch (kind) {
    case PathKind::linear:
      MODECONN_EXPECTS(k == 2, "a linear path has two endpoints");
      c[0] = 1.0 - t;
      c[1] = t;
      break;
    case PathKind::bezier:
      for (int i = 0; i < k; ++i) c[static_cast<std::size_t>(i)] = bernstein(i, k - 1, t);
      break;
    case PathKind::polychain: {
      const double s = std::clamp(t, 0.0, 1.0) * (k - 1);
      const int seg = std::min(static_cast<int>(std::floor(s)), k - 2);
      const double u = s - seg;
      c[static_cast<std::size_t>(seg)] = 1.0 - u;
      c[static_cast<std::size_t>(seg + 1)] = u;
      break;
    }
  }
  return c;
}

namespace {

// Elements [begin, end): each element's sum starts at 0 and adds coef[k]·θ_k in the order of k, as a scalar
// loop would; a block at a time, so the loop over elements is the inner one and vectorises.
MODECONN_VECTOR_CLONES
void interpolate_range(const float* const* points, const double* coef, std::size_t k, int64_t begin,
                       int64_t end, float* out) {
  constexpr int64_t kBlock = 512;
  double acc[kBlock];
  for (int64_t b0 = begin; b0 < end; b0 += kBlock) {
    const int64_t m = std::min(kBlock, end - b0);
    for (int64_t i = 0; i < m; ++i) acc[i] = 0.0;
    for (std::size_t q = 0; q < k; ++q) {
      const double c = coef[q];
      const float* __restrict__ p = points[q] + b0;
      for (int64_t i = 0; i < m; ++i) acc[i] += c * static_cast<double>(p[i]);
    }
    for (int64_t i = 0; i < m; ++i) out[b0 + i] = static_cast<float>(acc[i]);
  }
}

}  // namespace

void interpolate_points(std::span<const float* const> points, std::span<const double> coef, int64_t n,
                        float* out) {
  MODECONN_EXPECTS(coef.size() == points.size() && n >= 0, "one coefficient per control point");
  cpu::parallel_chunks(n, [&](int64_t begin, int64_t end) {
    interpolate_range(points.data(), coef.data(), coef.size(), begin, end, out);
  });
}

void Path::interpolate(std::span<const double> coef, std::size_t begin, std::size_t end, float* out) const {
  MODECONN_EXPECTS(coef.size() == points.size() && begin <= end, "one coefficient per control point");
  std::vector<const float*> from;
  for (const auto& p : points) from.push_back(p.data() + begin);
  interpolate_points(from, coef, static_cast<int64_t>(end - begin), out);
}

Path linear_path(const Model& a, const Model& b) {
  MODECONN_EXPECTS(a.arch.same_shape(b.arch), "linear_path on models of different shapes");
  return Path{PathKind::linear, a.arch, {a.params, b.params}};
}

std::vector<double> path_grid(int n) {
  if (n < 2 || n > kMaxPathPoints)
    throw usage_error("a path grid takes 2 (the endpoints) to " + std::to_string(kMaxPathPoints) +
                      " points, not " + std::to_string(n));
  std::vector<double> ts;
  for (int i = 0; i < n; ++i) ts.push_back(static_cast<double>(i) / (n - 1));
  if (n % 2 == 0) ts.insert(std::upper_bound(ts.begin(), ts.end(), 0.5), 0.5);
  return ts;
}

}  // namespace modeconn
