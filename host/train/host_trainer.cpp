// The host's trainer: the trained control points live in a flat vector the optimizer updates, and every step
// calls the backend's loss_and_grad at φ(t). Training a model is the one-point case: φ = θ, nothing copied.
#include <algorithm>

#include "modeconn/backend.hpp"
#include "modeconn/error.hpp"
#include "modeconn/train.hpp"
#include "train/optimizer.hpp"

namespace modeconn {
namespace {

class HostTrainer final : public Trainer {
 public:
  HostTrainer(Backend& backend, const Path& path, std::size_t first, std::size_t last, const Split& split,
              const TrainOptions& options)
      : backend_(backend),
        path_(path),
        split_(split),
        first_(first),
        last_(last),
        np_(path.arch.num_params()),
        flat_((last - first) * np_),
        grad_(flat_.size()),
        decay_at_(path.points.size() > 1 ? flat_.size() : 0),
        phi_(path.points.size() > 1 ? np_ : 0),
        g_(path.points.size() > 1 ? np_ : 0),
        optimizer_(options, flat_.size()) {
    MODECONN_EXPECTS(first < last && last <= path.points.size(), "trained control points inside the path");
    for (const auto& p : path.points) MODECONN_EXPECTS(p.size() == np_, "control point size");
    for (std::size_t k = first; k < last; ++k)
      std::copy(path.points[k].begin(), path.points[k].end(),
                flat_.begin() + static_cast<std::ptrdiff_t>((k - first) * np_));
  }

  PointMetrics step(std::span<const double> coef, std::span<const int64_t> rows) override {
    MODECONN_EXPECTS(coef.size() == path_.points.size(), "one coefficient per control point");
    if (path_.points.size() == 1) {  // a model: the gradient is the step's, weight decay at the parameters
      const PointMetrics m = backend_.metrics_and_grad(path_.arch, flat_, split_, rows, grad_);
      optimizer_.step(flat_, grad_, flat_);
      return m;
    }
    path_.interpolate(coef, 0, np_, phi_.data());
    const PointMetrics m = backend_.metrics_and_grad(path_.arch, phi_, split_, rows, g_);
    // ∂L(φ(t))/∂θ_k = c_k(t) ∇L(φ(t)); the decay term c_k(t) φ(t) is the gradient of ½‖φ(t)‖² with respect to
    // θ_k.
    const auto n = static_cast<int64_t>(np_);
    for (std::size_t k = first_; k < last_; ++k) {
      const float ck = static_cast<float>(coef[k]);
      float* gk = grad_.data() + (k - first_) * np_;
      float* dk = decay_at_.data() + (k - first_) * np_;
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        gk[i] = ck * g_[static_cast<std::size_t>(i)];
        dk[i] = ck * phi_[static_cast<std::size_t>(i)];
      }
    }
    optimizer_.step(flat_, grad_, decay_at_);
    copy_out(path_);  // φ at the next step is made from the updated points
    return m;
  }

  void read(Path& path) override { copy_out(path); }

 private:
  void copy_out(Path& path) const {
    for (std::size_t k = first_; k < last_; ++k)
      std::copy(flat_.begin() + static_cast<std::ptrdiff_t>((k - first_) * np_),
                flat_.begin() + static_cast<std::ptrdiff_t>((k - first_ + 1) * np_), path.points[k].begin());
  }

  Backend& backend_;
  Path path_;
  const Split& split_;
  std::size_t first_, last_, np_;
  std::vector<float> flat_, grad_, decay_at_, phi_, g_;
  OptimizerState optimizer_;
};

}  // namespace

std::unique_ptr<Trainer> Backend::make_trainer(const Path& path, std::size_t first, std::size_t last,
                                               const Split& split, const TrainOptions& options) {
  return std::make_unique<HostTrainer>(*this, path, first, last, split, options);
}

}  // namespace modeconn
