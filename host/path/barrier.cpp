// Barrier heights under the definitions in use (DESIGN: gap, mean, midpoint, t_peak).
#include "modeconn/barrier.hpp"

#include <algorithm>
#include <cmath>

#include "modeconn/error.hpp"

namespace modeconn {

Barrier compute_barrier(std::span<const double> ts, std::span<const double> f) {
  MODECONN_EXPECTS(ts.size() == f.size() && ts.size() >= 2, "one value per t, at least the endpoints");
  MODECONN_EXPECTS(ts.front() == 0.0 && ts.back() == 1.0, "the profile must span t = 0 to 1");
  MODECONN_EXPECTS(std::find(ts.begin(), ts.end(), 0.5) != ts.end(), "t = 1/2 must be evaluated");
  const double f0 = f.front(), f1 = f.back();
  Barrier b;
  // Honest about values that are not finite (a loss that overflowed): a NaN anywhere, or an endpoint that is
  // not finite, leaves no line to measure from, so every definition is NaN; a finite line with an infinite
  // value above it is an infinite barrier. A gap is never negative: t = 0 lies on the line.
  const bool any_nan = std::any_of(f.begin(), f.end(), [](double v) { return std::isnan(v); });
  if (any_nan || !std::isfinite(f0) || !std::isfinite(f1)) {
    b.gap = b.mean = b.midpoint = b.t_peak = NAN;
    return b;
  }
  b.gap = -INFINITY;
  double max_f = -INFINITY;
  bool have_mid = false;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const double excess = f[i] - ((1.0 - ts[i]) * f0 + ts[i] * f1);
    if (excess > b.gap) {
      b.gap = excess;
      b.t_peak = ts[i];
    }
    max_f = std::max(max_f, f[i]);
    if (ts[i] == 0.5) {
      b.midpoint = f[i] - 0.5 * (f0 + f1);
      have_mid = true;
    }
  }
  MODECONN_EXPECTS(have_mid, "t = 1/2 must be evaluated");
  b.mean = max_f - 0.5 * (f0 + f1);
  return b;
}

}  // namespace modeconn
