// Symmetry transforms are checked, never assumed: the transformed model must compute the same function.
#include "modeconn/invariance.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "modeconn/error.hpp"
#include "modeconn/rng.hpp"

namespace modeconn {

Split random_probe(const Architecture& arch, int64_t rows, uint64_t seed) {
  Split s;
  s.name = "probe";
  s.x_source = s.y_source = "random probe inputs";
  s.rows = rows;
  s.features = arch.input_width();
  s.task = arch.task;
  Rng rng(seed);
  s.x.resize(static_cast<std::size_t>(rows * s.features));
  for (auto& v : s.x) v = static_cast<float>(2 * rng.uniform() - 1);
  return s;
}

FunctionCheck compare_functions(Backend& backend, const Model& original, const Model& transformed,
                                const Split& probe, int64_t max_rows) {
  const int64_t rows = std::min(max_rows, probe.rows);
  const std::vector<float> y0 = backend.outputs(original, probe, 0, rows);
  const std::vector<float> y1 = backend.outputs(transformed, probe, 0, rows);
  FunctionCheck c;
  c.rows = rows;
  for (std::size_t i = 0; i < y0.size(); ++i) {
    c.max_difference = std::max(c.max_difference, static_cast<double>(std::abs(y0[i] - y1[i])));
    c.max_output = std::max(c.max_output, static_cast<double>(std::abs(y0[i])));
    if (!std::isfinite(y1[i])) c.max_difference = INFINITY;
  }
  // Reordered float32 sums differ by a few ulps per layer; a wrong transform differs by O(1).
  c.tolerance = 1e-4 * (1.0 + c.max_output);
  c.same = c.max_difference <= c.tolerance;
  return c;
}

void require_same_function(const FunctionCheck& c, const std::string& what) {
  if (c.same) return;
  char buf[256];
  std::snprintf(
      buf, sizeof buf,
      "%s changed the function: outputs differ by up to %.3g (tolerance %.3g); refusing to write it",
      what.c_str(), c.max_difference, c.tolerance);
  throw Error(ErrorKind::internal, buf);
}

}  // namespace modeconn
