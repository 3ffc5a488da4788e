// A path's profile: loss and error at every t on each split, and the barriers they make. What path, analyze,
// symmetry and sweep report, computed in one place.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "modeconn/backend.hpp"
#include "modeconn/barrier.hpp"
#include "modeconn/dataset.hpp"
#include "modeconn/path.hpp"

namespace modeconn {

struct SplitProfile {
  std::string split;  // "test" or "train"
  std::vector<double> loss;
  std::vector<double> error;
  Barrier loss_barrier;
  Barrier error_barrier;
};

// Builds a split's profile and barriers from per-point metrics.
SplitProfile make_profile(const std::string& split, const std::vector<double>& ts,
                          const std::vector<PointMetrics>& metrics);

// Evaluates `path` at every t on each of `splits` (all points in one pass per split) and profiles it.
std::vector<SplitProfile> profile_path(Backend& backend, const Path& path, const std::vector<double>& ts,
                                       std::span<const Split* const> splits);

}  // namespace modeconn
