// Checks that a symmetry transform left a model's function unchanged, on real data or random probe inputs.
#pragma once

#include <string>

#include "modeconn/backend.hpp"

namespace modeconn {

struct FunctionCheck {
  int64_t rows = 0;
  double max_difference = 0;  // largest |f(x) − f'(x)| over outputs
  double max_output = 0;      // largest |f(x)|, for scale
  double tolerance = 0;
  bool same = false;
};

// Inputs uniform in [-1, 1], for when no data was given.
Split random_probe(const Architecture& arch, int64_t rows, uint64_t seed);

FunctionCheck compare_functions(Backend& backend, const Model& original, const Model& transformed,
                                const Split& probe, int64_t max_rows = 2048);
// Throws when the check failed: a transform that changes the function is a bug, and nothing is written.
void require_same_function(const FunctionCheck& check, const std::string& what);

}  // namespace modeconn
