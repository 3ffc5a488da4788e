// Curve fitting (Garipov et al. 2018): minimise E_{t~U[0,1]} L(φ(t)) over the bends, one fresh t per
// minibatch.
#include "modeconn/error.hpp"
#include "modeconn/rng.hpp"
#include "modeconn/train.hpp"
#include "train/minibatches.hpp"

namespace modeconn {

Path init_curve(const Model& a, const Model& b, PathKind kind, int bends) {
  if (kind == PathKind::linear) throw usage_error("a fitted curve is bezier or polychain, not linear");
  if (bends < 1) throw usage_error("a curve needs at least 1 bend, not " + std::to_string(bends));
  MODECONN_EXPECTS(a.arch.same_shape(b.arch), "curve endpoints of one shape");
  Path path{kind, a.arch, {a.params}};
  const int k = bends + 1;
  for (int i = 1; i < k; ++i) {
    // On the line at t = i/k: for a Bézier curve this makes φ(t) the straight line itself.
    const double t = static_cast<double>(i) / k;
    std::vector<float> p(a.params.size());
    for (std::size_t j = 0; j < p.size(); ++j)
      p[j] = static_cast<float>((1 - t) * a.params[j] + t * static_cast<double>(b.params[j]));
    path.points.push_back(std::move(p));
  }
  path.points.push_back(b.params);
  return path;
}

void fit_curve(Backend& backend, Path& path, const Split& split, const TrainOptions& o,
               const std::function<void(const EpochReport&)>& progress) {
  const std::size_t num_cp = path.points.size();
  MODECONN_EXPECTS(num_cp >= 3, "a curve with at least one bend");
  // The bends are trained; the endpoints stay fixed.
  const std::unique_ptr<Trainer> trainer = backend.make_trainer(path, 1, num_cp - 1, split, o);
  Rng t_rng(o.seed ^ 0xC3A5C85C97CB3127ull);
  run_minibatches(split.rows, o, progress, [&](std::span<const int64_t> rows) {
    const double t = t_rng.uniform();
    return trainer->step(path.coefficients(t), rows);
  });
  trainer->read(path);
}

}  // namespace modeconn
