// Paths between minima: control points and a basis; every point is a weighted sum of control points.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "modeconn/hd.hpp"
#include "modeconn/model.hpp"

namespace modeconn {

enum class PathKind { linear, bezier, polychain };
PathKind parse_path_kind(std::string_view name);
std::string_view path_kind_name(PathKind k);

// Bernstein polynomial B_{k,n}(t) = C(n,k) t^k (1-t)^(n-k), the Bézier basis.
MODECONN_HD double bernstein(int k, int n, double t) {
  double binom = 1.0;
  for (int i = 1; i <= k; ++i) binom = binom * (n - k + i) / i;
  double value = binom;
  for (int i = 0; i < k; ++i) value *= t;
  for (int i = 0; i < n - k; ++i) value *= (1.0 - t);
  return value;
}

struct Path {
  PathKind kind = PathKind::linear;
  Architecture arch;
  // Control points, endpoints included: linear has 2 (A, B), a Bézier curve of order n has n+1,
  // a polygonal chain visits its points at t = 0, 1/(K-1), ..., 1. A single point is a constant path.
  std::vector<std::vector<float>> points;

  std::size_t num_control_points() const { return points.size(); }
  // c_k(t) with θ(t) = Σ_k c_k(t) θ_k; the c_k sum to 1.
  std::vector<double> coefficients(double t) const;
  // out[i] = Σ_k coef[k] · θ_k[begin + i] for i < end − begin, summed in float64 and rounded once.
  void interpolate(std::span<const double> coef, std::size_t begin, std::size_t end, float* out) const;
};

// out[i] = Σ_k coef[k] · points[k][i] for i < n, summed in float64 in the order of k and rounded once (what
// Path::interpolate computes), for points held elsewhere than a Path (a trainer's updated control points).
void interpolate_points(std::span<const float* const> points, std::span<const double> coef, int64_t n,
                        float* out);

Path linear_path(const Model& a, const Model& b);

// Curve files hold every control point as points.K.<tensor name>, with modeconn.curve = bezier|polychain.
Path load_curve(const std::string& file, const std::string& activation_override = "");
// The same from a file's tensors (`file` names it in messages).
struct TensorFile;
Path curve_from_tensors(const TensorFile& tensors, const std::string& file,
                        const std::string& activation_override = "");
void save_curve(const Path& path, const std::string& file);
// The pieces every curve file shares: its kind (modeconn.curve), and its control points in order, each as the
// tensor file of one model (names without the points.K. prefix, the file's metadata less modeconn.curve),
// checked to be numbered 0, 1, ... without gaps and to name the same tensors.
PathKind curve_file_kind(const TensorFile& tensors, const std::string& file);
std::vector<TensorFile> curve_file_points(const TensorFile& tensors, const std::string& file);
TensorFile curve_to_tensors(const Path& path);

// t = i/(n-1) for i = 0..n-1, with t = 1/2 added when n is even, so the midpoint is always evaluated.
// The most points a path is evaluated at.
constexpr int kMaxPathPoints = 10001;
std::vector<double> path_grid(int n);

}  // namespace modeconn
