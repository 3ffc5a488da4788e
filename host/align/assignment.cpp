// Turning a similarity matrix into a (signed) permutation.
#include "align/assignment.hpp"

#include <cmath>

#include "modeconn/error.hpp"

namespace modeconn {

LayerAlignment best_assignment(const std::vector<double>& s, int64_t n, bool signs, double* objective) {
  std::vector<double> score = s;
  if (signs)
    for (double& v : score) v = std::abs(v);  // flipping unit j negates its whole row of similarity
  LayerAlignment la;
  la.perm = solve_assignment(score, n, n, true);
  la.sign.assign(static_cast<std::size_t>(n), 1);
  *objective = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = s[static_cast<std::size_t>(i * n + la.perm[static_cast<std::size_t>(i)])];
    if (signs && v < 0) la.sign[static_cast<std::size_t>(i)] = -1;
    *objective += signs ? std::abs(v) : v;
  }
  return la;
}

void check_signs_allowed(const MatchingOptions& options, Activation activation) {
  if (options.signs && !is_odd(activation))
    throw usage_error("sign symmetry holds only for odd activations (tanh, identity), not " +
                      std::string(activation_name(activation)));
}

double assignment_value(const std::vector<double>& s, int64_t n, const LayerAlignment& la) {
  double v = 0;
  for (int64_t i = 0; i < n; ++i)
    v += la.sign[static_cast<std::size_t>(i)] *
         s[static_cast<std::size_t>(i * n + la.perm[static_cast<std::size_t>(i)])];
  return v;
}

}  // namespace modeconn
