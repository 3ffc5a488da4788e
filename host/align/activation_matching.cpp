// Activation matching: per hidden layer, the assignment maximising the correlation of A's and B's units.
#include <cmath>

#include "align/assignment.hpp"
#include "modeconn/align.hpp"
#include "modeconn/error.hpp"

namespace modeconn {

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
        const double denom = st.std_a[i] * st.std_b[j];
        // A constant unit correlates with nothing; 0 lets the assignment place it anywhere.
        corr[i * un + j] = denom > 1e-12 ? st.covariance[i * un + j] / denom : 0.0;
      }
    result.objective_before += assignment_value(corr, n, result.alignment.layers[h]);
    double value = 0;
    result.alignment.layers[h] = best_assignment(corr, n, options.signs, &value);
    result.objective_after += value;
  }
  result.sweeps = 1;
  return result;
}

}  // namespace modeconn
