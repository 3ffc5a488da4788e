// The geometry of loss planes: the Gram–Schmidt basis through three models, and random directions scaled to
// a model filter by filter.
#include "modeconn/plane.hpp"

#include <cmath>
#include <numbers>

#include "modeconn/error.hpp"
#include "modeconn/graph_model.hpp"

namespace modeconn {
namespace {

double dot(std::span<const double> x, std::span<const double> y) {
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

std::vector<double> difference(std::span<const float> x, std::span<const float> y) {
  std::vector<double> d(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) d[i] = static_cast<double>(x[i]) - static_cast<double>(y[i]);
  return d;
}

// Norm of values [offset, offset + size) of a float vector, in float64.
double norm_of(std::span<const float> x, int64_t offset, int64_t size) {
  double s = 0;
  for (int64_t i = offset; i < offset + size; ++i) s += static_cast<double>(x[i]) * x[i];
  return std::sqrt(s);
}

void scale_to(std::span<float> d, std::span<const float> theta, int64_t offset, int64_t size) {
  const double target = norm_of(theta, offset, size), have = norm_of(d, offset, size);
  const double factor = target / (have + 1e-10);
  for (int64_t i = offset; i < offset + size; ++i) d[i] = static_cast<float>(d[i] * factor);
}

}  // namespace

std::vector<double> PlaneMap::coefficients(double alpha, double beta) const {
  std::vector<double> c(3);
  for (std::size_t k = 0; k < 3; ++k) c[k] = base[k] + alpha * along[k] + beta * across[k];
  return c;
}

ThreeModelPlane plane_through(std::span<const float> a, std::span<const float> b, std::span<const float> c,
                              const std::array<std::string, 3>& names) {
  MODECONN_EXPECTS(a.size() == b.size() && a.size() == c.size(), "three models of one size");
  const std::vector<double> ab = difference(b, a), ac = difference(c, a);
  const double ab_norm = std::sqrt(dot(ab, ab)), ac_norm = std::sqrt(dot(ac, ac));
  if (ab_norm == 0) throw usage_error(names[0] + " and " + names[1] + " are the same point: no plane");
  if (ac_norm == 0) throw usage_error(names[0] + " and " + names[2] + " are the same point: no plane");
  // c − a = γ·u + w with u = ab/‖ab‖ and w ⊥ u.
  const double gamma = dot(ac, ab) / ab_norm;
  double w2 = 0;
  for (std::size_t i = 0; i < ab.size(); ++i) {
    const double w = ac[i] - gamma * ab[i] / ab_norm;
    w2 += w * w;
  }
  const double w_norm = std::sqrt(w2);
  // Collinear up to the float32 rounding of the stored parameters (relative 6e-8 each): w is that noise then,
  // and no axis can be built on it.
  if (!(w_norm > 1e-6 * ac_norm))
    throw usage_error(names[0] + ", " + names[1] + " and " + names[2] +
                      " lie on one line: no plane through them");
  // θ(α, β) = a + α·u + β·v with u = (b − a)/n_u and v = (c − a − γ·u)/n_v, as coefficients of a, b, c.
  ThreeModelPlane p;
  p.map.base = {1, 0, 0};
  p.map.along = {-1 / ab_norm, 1 / ab_norm, 0};
  const double b_share = -gamma / (ab_norm * w_norm);
  p.map.across = {-(b_share + 1 / w_norm), b_share, 1 / w_norm};
  p.coords = {{{0, 0}, {ab_norm, 0}, {gamma, w_norm}}};
  return p;
}

std::vector<ParamTensor> mlp_param_tensors(const Architecture& arch) {
  std::vector<ParamTensor> t;
  for (std::size_t l = 0; l < arch.layers.size(); ++l) {
    const LayerShape& s = arch.layers[l];
    t.push_back(
        {s.weight_name, static_cast<int64_t>(arch.weight_offset(l)), s.out * s.in, s.out, {s.out, s.in}});
    t.push_back({s.bias_name, static_cast<int64_t>(arch.bias_offset(l)), s.out, 0, {s.out}});
  }
  return t;
}

std::vector<ParamTensor> graph_param_tensors(const Graph& graph) {
  const TensorPlaces places = tensor_places(graph);
  std::vector<ParamTensor> t;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    for (TensorRole role : {TensorRole::weight, TensorRole::bias}) {
      const TensorPlace& p = places[i][static_cast<std::size_t>(role)];
      if (!p.present || p.buffer) continue;
      std::vector<int64_t> shape = graph.tensor_shape(n, role);
      const auto name = n.tensors.find(role);
      const int64_t rows = shape.size() > 1 ? shape.front() : 0;
      t.push_back(
          {name != n.tensors.end() ? name->second : n.name, p.offset, p.size, rows, std::move(shape)});
    }
  }
  return t;
}

DirectionNorm parse_direction_norm(std::string_view name) {
  if (name == "filter") return DirectionNorm::filter;
  if (name == "layer") return DirectionNorm::layer;
  if (name == "none") return DirectionNorm::none;
  throw usage_error("unknown direction normalisation '" + std::string(name) + "' (filter, layer or none)");
}

std::string_view direction_norm_name(DirectionNorm norm) {
  switch (norm) {
    case DirectionNorm::filter:
      return "filter";
    case DirectionNorm::layer:
      return "layer";
    case DirectionNorm::none:
      return "none";
  }
  return "?";
}

void normalize_direction(std::span<float> d, std::span<const float> theta,
                         const std::vector<ParamTensor>& tensors, DirectionNorm norm, bool perturb_bias_bn) {
  MODECONN_EXPECTS(d.size() == theta.size(), "a direction of the model's size");
  for (const ParamTensor& t : tensors) {
    MODECONN_EXPECTS(t.offset >= 0 && t.offset + t.size <= static_cast<int64_t>(d.size()), "tensor in range");
    if (t.rows == 0) {
      for (int64_t i = t.offset; i < t.offset + t.size; ++i) d[i] = perturb_bias_bn ? theta[i] : 0.f;
      continue;
    }
    if (norm == DirectionNorm::layer) {
      scale_to(d, theta, t.offset, t.size);
    } else if (norm == DirectionNorm::filter) {
      const int64_t per = t.size / t.rows;
      for (int64_t r = 0; r < t.rows; ++r) scale_to(d, theta, t.offset + r * per, per);
    }
  }
}

std::vector<float> gaussian_direction(int64_t size, Rng& rng) {
  std::vector<float> d(static_cast<std::size_t>(size));
  for (std::size_t i = 0; i < d.size(); i += 2) {
    // Box–Muller; 1 − u keeps the logarithm's argument in (0, 1].
    const double radius = std::sqrt(-2.0 * std::log(1.0 - rng.uniform()));
    const double angle = 2.0 * std::numbers::pi * rng.uniform();
    d[i] = static_cast<float>(radius * std::cos(angle));
    if (i + 1 < d.size()) d[i + 1] = static_cast<float>(radius * std::sin(angle));
  }
  return d;
}

std::vector<double> plane_axis(double lo, double hi, int n) {
  MODECONN_EXPECTS(n >= 1, "an axis of at least one point");
  if (n == 1) return {lo};
  std::vector<double> axis(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) axis[static_cast<std::size_t>(i)] = lo + (hi - lo) * i / (n - 1);
  axis.back() = hi;
  return axis;
}

}  // namespace modeconn
