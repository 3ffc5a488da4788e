// Barrier heights of a profile f(t) along a path, under each definition in use.
#pragma once

#include <span>

namespace modeconn {

struct Barrier {
  double gap = 0;       // max_t f(t) - ((1-t) f(0) + t f(1))   (Entezari et al. 2022)
  double mean = 0;      // max_t f(t) - (f(0) + f(1)) / 2       (Frankle et al. 2020; Ainsworth et al. 2023)
  double midpoint = 0;  // f(1/2) - (f(0) + f(1)) / 2           (REPAIR; Entezari et al.'s code)
  double t_peak = 0;    // the t where gap is reached (the first, on ties)
};

// ts must start at 0, end at 1 and contain 1/2; f has one value per t.
Barrier compute_barrier(std::span<const double> ts, std::span<const double> f);

}  // namespace modeconn
