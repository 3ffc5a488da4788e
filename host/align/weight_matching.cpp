// Weight matching (Ainsworth et al. 2023, "Git Re-Basin"): coordinate descent over hidden layers, each step
// an exact assignment on the similarity of everything the layer's permutation touches.
#include "align/assignment.hpp"
#include "align/weight_similarity.hpp"
#include "modeconn/align.hpp"
#include "modeconn/error.hpp"
#include "modeconn/rng.hpp"

namespace modeconn {

MatchingResult weight_matching(Backend& backend, const Model& a, const Model& b,
                               const MatchingOptions& options) {
  MODECONN_EXPECTS(a.arch.same_shape(b.arch), "weight matching needs models of one shape");
  check_signs_allowed(options, a.arch.activation);
  MatchingResult result;
  result.alignment = identity_alignment(a.arch);
  result.objective_before = weight_inner_product(a, b);
  const std::size_t hidden = result.alignment.layers.size();
  std::vector<std::size_t> order(hidden);
  for (std::size_t i = 0; i < hidden; ++i) order[i] = i;
  Rng rng(options.seed);
  WeightSimilarity similarity(a, b, backend);
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
      const std::vector<double> s = similarity(result.alignment, h);
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
