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

  // Float32 products, as Git Re-Basin computes them, summed into a float64 matrix for the assignment.
  std::vector<float> wb(static_cast<std::size_t>(n * in));
  const float* a_w = a.params.data() + arch.weight_offset(h);
  const float* b_w = b.params.data() + arch.weight_offset(h);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t k = 0; k < in; ++k) {
      const int64_t src = prev ? prev->perm[static_cast<std::size_t>(k)] : k;
      const float sign = prev ? prev->sign[static_cast<std::size_t>(k)] : 1.f;
      wb[static_cast<std::size_t>(j * in + k)] = sign * b_w[j * in + src];
    }
  std::vector<float> sf(static_cast<std::size_t>(n * n));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(n), static_cast<blasint>(n),
              static_cast<blasint>(in), 1.f, a_w, static_cast<blasint>(in), wb.data(), static_cast<blasint>(in), 0.f,
              sf.data(), static_cast<blasint>(n));

  std::vector<float> ob(static_cast<std::size_t>(out * n));
  const float* a_o = a.params.data() + arch.weight_offset(h + 1);
  const float* b_o = b.params.data() + arch.weight_offset(h + 1);
  for (int64_t m = 0; m < out; ++m) {
    const int64_t src = after ? after->perm[static_cast<std::size_t>(m)] : m;
    const float sign = after ? after->sign[static_cast<std::size_t>(m)] : 1.f;
    for (int64_t j = 0; j < n; ++j) ob[static_cast<std::size_t>(m * n + j)] = sign * b_o[src * n + j];
  }
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<blasint>(n), static_cast<blasint>(n),
              static_cast<blasint>(out), 1.f, a_o, static_cast<blasint>(n), ob.data(), static_cast<blasint>(n), 1.f,
              sf.data(), static_cast<blasint>(n));

  const float* a_b = a.params.data() + arch.bias_offset(h);
  const float* b_b = b.params.data() + arch.bias_offset(h);
  std::vector<double> s(static_cast<std::size_t>(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      s[static_cast<std::size_t>(i * n + j)] = static_cast<double>(sf[static_cast<std::size_t>(i * n + j)]) + static_cast<double>(a_b[i]) * b_b[j];
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
  // A layer's similarity depends only on its neighbours' permutations: when neither has changed since the
  // layer was last solved, solving it again would give the same assignment, so it is skipped.
  long long step = 0;
  std::vector<long long> changed_at(hidden, 0), solved_at(hidden, -1);
  for (int sweep = 0; sweep < options.max_sweeps && hidden > 0; ++sweep) {
    for (std::size_t i = hidden; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);  // a fresh order
    bool improved = false;
    for (std::size_t h : order) {
      ++step;
      const bool stale = solved_at[h] < 0 || (h > 0 && changed_at[h - 1] > solved_at[h]) ||
                         (h + 1 < hidden && changed_at[h + 1] > solved_at[h]);
      if (!stale) continue;
      solved_at[h] = step;
      const int64_t n = a.arch.layers[h].out;
      const std::vector<double> s = layer_similarity(a, b, result.alignment, h);
      const double old_value = assignment_value(s, n, result.alignment.layers[h]);
      double new_value = 0;
      LayerAlignment candidate = best_assignment(s, n, options.signs, &new_value);
      if (new_value > old_value + 1e-12) {
        result.alignment.layers[h] = std::move(candidate);
        changed_at[h] = step;
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
