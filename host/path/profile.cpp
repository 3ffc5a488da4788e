// Profiles of paths: per-point metrics from a backend, turned into curves and barriers.
#include "modeconn/profile.hpp"

namespace modeconn {

SplitProfile make_profile(const std::string& split, const std::vector<double>& ts,
                          const std::vector<PointMetrics>& metrics) {
  SplitProfile p;
  p.split = split;
  for (const auto& m : metrics) {
    p.loss.push_back(m.loss);
    p.error.push_back(m.error);
  }
  p.loss_barrier = compute_barrier(ts, p.loss);
  p.error_barrier = compute_barrier(ts, p.error);
  return p;
}

std::vector<SplitProfile> profile_path(Backend& backend, const Path& path, const std::vector<double>& ts,
                                       std::span<const Split* const> splits) {
  std::vector<SplitProfile> out;
  for (const Split* s : splits) out.push_back(make_profile(s->name, ts, backend.evaluate(path, ts, *s)));
  return out;
}

}  // namespace modeconn
