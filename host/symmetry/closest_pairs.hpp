// Shared by the MLP and the graph symmetry diagnostics: the most similar units of a layer or group.
#pragma once

#include <cstdint>
#include <vector>

#include "modeconn/symmetry.hpp"

namespace modeconn {

// The most similar pair among n vectors (rows of u, d wide) and every pair whose cosine reaches `threshold`
// (at most `limit`, most similar first; the closest pair always first): one Gram matrix, no list of all
// pairs. With `odd`, |cos| (a unit and its negation are the same under a sign flip).
std::vector<UnitPair> closest_pairs(std::vector<double> u, int64_t n, int64_t d, bool odd, double threshold,
                                    std::size_t limit, int64_t* count_above);

// log10(n!).
double log10_factorial(int64_t n);

}  // namespace modeconn
