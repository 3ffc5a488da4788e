// Weight matching (Ainsworth et al. 2023, "Git Re-Basin"): coordinate descent over hidden layers, each step
// an exact assignment on the similarity of everything the layer's permutation touches.
#include <cblas.h>

#include <cmath>

#include "align/assignment.hpp"
#include "modeconn/align.hpp"
#include "modeconn/error.hpp"
#include "modeconn/rng.hpp"

namespace modeconn {
namespace {

// S[i][j]: how well B's unit j fits A's unit i, with the neighbouring layers' current alignment applied to B.
std::vector<double> layer_similarity(const Model& a, const Model& b, const Alignment& al, std::size_t h) {
  const Architecture& arch = a.arch;
  const auto& layer = arch.layers[h];
  const auto& next = arch.layers[h + 1];
  const int64_t n = layer.out, in = layer.in, out = next.out;
  const LayerAlignment* prev = h > 0 ? &al.layers[h - 1] : nullptr;
  const LayerAlignment* after = h + 2 < arch.layers.size() ? &al.layers[h + 1] : nullptr;

  std::vector<double> wa(static_cast<std::size_t>(n * in)), wb(wa.size());
  const float* a_w = a.params.data() + arch.weight_offset(h);
  const float* b_w = b.params.data() + arch.weight_offset(h);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t k = 0; k < in; ++k) {
      wa[static_cast<std::size_t>(j * in + k)] = a_w[j * in + k];
      const int64_t src = prev ? prev->perm[static_cast<std::size_t>(k)] : k;
      const double sign = prev ? prev->sign[static_cast<std::size_t>(k)] : 1;
      wb[static_cast<std::size_t>(j * in + k)] = sign * b_w[j * in + src];
    }
  std::vector<double> s(static_cast<std::size_t>(n * n));
  const float* a_b = a.params.data() + arch.bias_offset(h);
  const float* b_b = b.params.data() + arch.bias_offset(h);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) s[static_cast<std::size_t>(i * n + j)] = static_cast<double>(a_b[i]) * b_b[j];
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(n), static_cast<blasint>(n),
              static_cast<blasint>(in), 1.0, wa.data(), static_cast<blasint>(in), wb.data(), static_cast<blasint>(in),
              1.0, s.data(), static_cast<blasint>(n));

  std::vector<double> oa(static_cast<std::size_t>(out * n)), ob(oa.size());
  const float* a_o = a.params.data() + arch.weight_offset(h + 1);
  const float* b_o = b.params.data() + arch.weight_offset(h + 1);
  for (int64_t m = 0; m < out; ++m) {
    const int64_t src = after ? after->perm[static_cast<std::size_t>(m)] : m;
    const double sign = after ? after->sign[static_cast<std::size_t>(m)] : 1;
    for (int64_t j = 0; j < n; ++j) {
      oa[static_cast<std::size_t>(m * n + j)] = a_o[m * n + j];
      ob[static_cast<std::size_t>(m * n + j)] = sign * b_o[src * n + j];
    }
  }
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<blasint>(n), static_cast<blasint>(n),
              static_cast<blasint>(out), 1.0, oa.data(), static_cast<blasint>(n), ob.data(), static_cast<blasint>(n),
              1.0, s.data(), static_cast<blasint>(n));
  return s;
}

}  // namespace

MatchingResult weight_matching(const Model& a, const Model& b, const MatchingOptions& options) {
  MODECONN_EXPECTS(a.arch.same_shape(b.arch), "weight matching needs models of one shape");
  check_signs_allowed(options, a.arch.activation);
  MatchingResult result;
  result.alignment = identity_alignment(a.arch);
  result.objective_before = weight_inner_product(a, b);
  const std::size_t hidden = result.alignment.layers.size();
  std::vector<std::size_t> order(hidden);
  for (std::size_t i = 0; i < hidden; ++i) order[i] = i;
  Rng rng(options.seed);
  for (int sweep = 0; sweep < options.max_sweeps && hidden > 0; ++sweep) {
    for (std::size_t i = hidden; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);  // a fresh order
    bool improved = false;
    for (std::size_t h : order) {
      const int64_t n = a.arch.layers[h].out;
      const std::vector<double> s = layer_similarity(a, b, result.alignment, h);
      const double old_value = assignment_value(s, n, result.alignment.layers[h]);
      double new_value = 0;
      LayerAlignment candidate = best_assignment(s, n, options.signs, &new_value);
      if (new_value > old_value + 1e-12) {
        result.alignment.layers[h] = std::move(candidate);
        improved = true;
      }
    }
    result.sweeps = sweep + 1;
    if (!improved) break;
  }
  result.objective_after = weight_inner_product(a, apply_alignment(b, result.alignment));
  return result;
}

}  // namespace modeconn
