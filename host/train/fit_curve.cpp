// Curve fitting (Garipov et al. 2018): minimise E_{t~U[0,1]} L(φ(t)) over the bends, one fresh t per minibatch.
#include "modeconn/error.hpp"
#include "modeconn/rng.hpp"
#include "modeconn/train.hpp"
#include "train/minibatches.hpp"
#include "train/optimizer.hpp"

namespace modeconn {

Path init_curve(const Model& a, const Model& b, PathKind kind, int bends) {
  if (kind == PathKind::linear) throw usage_error("--kind: a fitted curve is bezier or polychain");
  if (bends < 1) throw usage_error("--bends must be at least 1");
  MODECONN_EXPECTS(a.arch.same_shape(b.arch), "curve endpoints of one shape");
  Path path{kind, a.arch, {a.params}};
  const int k = bends + 1;
  for (int i = 1; i < k; ++i) {
    // On the line at t = i/k: for a Bézier curve this makes φ(t) the straight line itself.
    const double t = static_cast<double>(i) / k;
    std::vector<float> p(a.params.size());
    for (std::size_t j = 0; j < p.size(); ++j) p[j] = static_cast<float>((1 - t) * a.params[j] + t * static_cast<double>(b.params[j]));
    path.points.push_back(std::move(p));
  }
  path.points.push_back(b.params);
  return path;
}

void fit_curve(Backend& backend, Path& path, const Split& split, const TrainOptions& o,
               const std::function<void(const EpochReport&)>& progress) {
  const std::size_t num_cp = path.points.size();
  MODECONN_EXPECTS(num_cp >= 3, "a curve with at least one bend");
  const std::size_t np = path.arch.num_params();
  const std::size_t bends = num_cp - 2;
  // The bends, flat, as the optimizer sees them; copied back into the path after every step.
  std::vector<float> flat(bends * np), grad(flat.size()), decay_at(flat.size()), phi(np), g(np);
  for (std::size_t k = 0; k < bends; ++k) std::copy(path.points[k + 1].begin(), path.points[k + 1].end(), flat.begin() + static_cast<std::ptrdiff_t>(k * np));
  OptimizerState optimizer(o, flat.size());
  Rng t_rng(o.seed ^ 0xC3A5C85C97CB3127ull);

  run_minibatches(split.rows, o, progress, [&](std::span<const int64_t> rows) {
    const double t = t_rng.uniform();
    const std::vector<double> c = path.coefficients(t);
    const int64_t n = static_cast<int64_t>(np);
    path.interpolate(c, 0, np, phi.data());
    const double loss = backend.loss_and_grad(path.arch, phi, split, rows, g);
    // ∂L(φ(t))/∂θ_k = c_k(t) ∇L(φ(t)); the decay term c_k(t) φ(t) is the gradient of ½‖φ(t)‖² with respect to θ_k.
    for (std::size_t k = 0; k < bends; ++k) {
      const float ck = static_cast<float>(c[k + 1]);
      float* gk = grad.data() + k * np;
      float* dk = decay_at.data() + k * np;
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        gk[i] = ck * g[static_cast<std::size_t>(i)];
        dk[i] = ck * phi[static_cast<std::size_t>(i)];
      }
    }
    optimizer.step(flat, grad, decay_at);
    for (std::size_t k = 0; k < bends; ++k)
      std::copy(flat.begin() + static_cast<std::ptrdiff_t>(k * np), flat.begin() + static_cast<std::ptrdiff_t>((k + 1) * np),
                path.points[k + 1].begin());
    return loss;
  });
}

}  // namespace modeconn
