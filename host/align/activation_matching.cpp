// Activation matching: per hidden layer, the assignment maximising the correlation of A's and B's units.
// Units constant on the data (dead ReLUs, saturated units) correlate with nothing; their assignment is
// decided by how well their incoming weights agree, so a planted permutation comes back exactly even with
// dead units.
#include <cmath>

#include "align/assignment.hpp"
#include "modeconn/align.hpp"
#include "modeconn/error.hpp"

namespace modeconn {
namespace {

// At or below this standard deviation a unit is constant on the data (a dead ReLU's is exactly 0).
constexpr double kConstant = 1e-6;
// The weight of the tie-break: far below any correlation that means something, far above rounding.
constexpr double kTieBreak = 1e-6;

// Unit i's incoming weights and bias in A, and unit j's in B with B's inputs aligned by `before` (the layer
// below, already matched), each as a unit vector: their dot product is the cosine of the two units' weights.
std::vector<double> incoming(const Model& m, std::size_t h, int64_t unit, const LayerAlignment* before) {
  const Architecture& arch = m.arch;
  const int64_t in = arch.layers[h].in;
  const float* w = m.params.data() + arch.weight_offset(h) + unit * in;
  std::vector<double> v(static_cast<std::size_t>(in + 1));
  double sq = 0;
  for (int64_t k = 0; k < in; ++k) {
    const auto uk = static_cast<std::size_t>(k);
    const double x = before ? before->sign[uk] * static_cast<double>(w[before->perm[uk]]) : w[k];
    v[uk] = x;
    sq += x * x;
  }
  v.back() = m.params[arch.bias_offset(h) + static_cast<std::size_t>(unit)];
  sq += v.back() * v.back();
  if (sq > 0)
    for (double& x : v) x /= std::sqrt(sq);
  return v;
}

double dot(const std::vector<double>& x, const std::vector<double>& y) {
  double s = 0;
  for (std::size_t k = 0; k < x.size(); ++k) s += x[k] * y[k];
  return s;
}

}  // namespace

MatchingResult activation_matching(Backend& backend, const Model& a, const Model& b, const Split& data,
                                   const MatchingOptions& options) {
  MODECONN_EXPECTS(a.arch.same_shape(b.arch), "activation matching needs models of one shape");
  check_signs_allowed(options, a.arch.activation);
  MatchingResult result;
  result.alignment = identity_alignment(a.arch);
  // A hidden unit's activations do not depend on how the layers before it are permuted, so the layers can be
  // matched one after another in a single pass each.
  for (std::size_t h = 0; h < result.alignment.layers.size(); ++h) {
    const ActivationStats st = backend.activation_stats(a, b, data, h);
    const int64_t n = a.arch.layers[h].out;
    const auto un = static_cast<std::size_t>(n);
    std::vector<double> corr(un * un, 0.0);
    for (std::size_t i = 0; i < un; ++i)
      for (std::size_t j = 0; j < un; ++j) {
        const bool live = st.std_a[i] > kConstant && st.std_b[j] > kConstant;
        corr[i * un + j] = live ? st.covariance[i * un + j] / (st.std_a[i] * st.std_b[j]) : 0.0;
      }
    // Ties broken by weights, only in the rows and columns of constant units: the live units' assignment is
    // the correlation's alone.
    std::vector<double> score = corr;
    const LayerAlignment* before = h > 0 ? &result.alignment.layers[h - 1] : nullptr;
    std::vector<std::vector<double>> wa(un), wb(un);
    const auto weights_a = [&](std::size_t i) -> const std::vector<double>& {
      if (wa[i].empty()) wa[i] = incoming(a, h, static_cast<int64_t>(i), nullptr);
      return wa[i];
    };
    const auto weights_b = [&](std::size_t j) -> const std::vector<double>& {
      if (wb[j].empty()) wb[j] = incoming(b, h, static_cast<int64_t>(j), before);
      return wb[j];
    };
    for (std::size_t i = 0; i < un; ++i)
      for (std::size_t j = 0; j < un; ++j)
        if (st.std_a[i] <= kConstant || st.std_b[j] <= kConstant)
          score[i * un + j] += kTieBreak * dot(weights_a(i), weights_b(j));
    result.objective_before += assignment_value(corr, n, result.alignment.layers[h]);
    double value = 0;
    result.alignment.layers[h] = best_assignment(score, n, options.signs, &value);
    result.objective_after += assignment_value(corr, n, result.alignment.layers[h]);
  }
  result.sweeps = 1;
  return result;
}

}  // namespace modeconn
