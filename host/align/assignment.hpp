// Turning a similarity matrix into a (signed) permutation: shared by weight and activation matching.
#pragma once

#include <vector>

#include "modeconn/align.hpp"

namespace modeconn {

// The permutation maximising Σ_i s[i][perm[i]] (with signs: Σ_i |s[i][perm[i]]|, flipping where negative);
// `objective` receives the value reached.
LayerAlignment best_assignment(const std::vector<double>& s, int64_t n, bool signs, double* objective);
// Sign symmetry holds only for odd activations: a usage error otherwise.
void check_signs_allowed(const MatchingOptions& options, Activation activation);

// Σ_i sign[i] · s[i][perm[i]].
double assignment_value(const std::vector<double>& s, int64_t n, const LayerAlignment& la);

}  // namespace modeconn
