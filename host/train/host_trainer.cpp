// The host's trainer, for MLPs (Backend's default) and layer graphs (GraphRunner's): the trained control
// points live in a flat vector the optimizer updates, and every step asks the backend for the loss's gradient
// at φ(t). Training a model is the one-point case: φ = θ, nothing copied.
#include <algorithm>
#include <functional>

#include "modeconn/backend.hpp"
#include "modeconn/error.hpp"
#include "modeconn/graph_eval.hpp"
#include "modeconn/train.hpp"
#include "train/optimizer.hpp"

namespace modeconn {
namespace {

// The loss and its gradient at φ on a minibatch, written to `grad`; `buffers` are the running statistics a
// graph's BatchNorm updates in train mode (empty for an MLP).
using GradientAt = std::function<PointMetrics(std::span<const float> phi, std::span<float> buffers,
                                              std::span<const int64_t> rows, std::span<float> grad)>;

class HostTrainer final : public GraphTrainer {
 public:
  HostTrainer(const Path& path, std::size_t first, std::size_t last, std::span<const float> buffers,
              const TrainOptions& options, GradientAt gradient_at)
      : path_(path),
        gradient_at_(std::move(gradient_at)),
        first_(first),
        last_(last),
        np_(path.points.empty() ? 0 : path.points.front().size()),
        flat_((last - first) * np_),
        grad_(path.points.size() > 1 ? 0 : flat_.size()),
        phi_(path.points.size() > 1 ? np_ : 0),
        g_(path.points.size() > 1 ? np_ : 0),
        buffers_(buffers.begin(), buffers.end()),
        optimizer_(options, flat_.size()) {
    MODECONN_EXPECTS(first < last && last <= path.points.size(), "trained control points inside the path");
    for (const auto& p : path.points) MODECONN_EXPECTS(p.size() == np_, "control point size");
    for (std::size_t k = first; k < last; ++k)
      std::copy(path.points[k].begin(), path.points[k].end(),
                flat_.begin() + static_cast<std::ptrdiff_t>((k - first) * np_));
    // φ is made from the trained points where the optimizer keeps them, and from the path's fixed ones.
    for (std::size_t k = 0; k < path_.points.size(); ++k)
      points_.push_back(k >= first && k < last ? flat_.data() + (k - first) * np_ : path_.points[k].data());
  }

  PointMetrics step(std::span<const double> coef, std::span<const int64_t> rows) override {
    MODECONN_EXPECTS(coef.size() == path_.points.size(), "one coefficient per control point");
    if (path_.points.size() == 1) {  // a model: the gradient is the step's, weight decay at the parameters
      const PointMetrics m = gradient_at_(flat_, buffers_, rows, grad_);
      optimizer_.step(flat_, grad_, flat_);
      return m;
    }
    const auto n = static_cast<int64_t>(np_);
    interpolate_points(points_, coef, n, phi_.data());
    const PointMetrics m = gradient_at_(phi_, buffers_, rows, g_);
    // ∂L(φ(t))/∂θ_k = c_k(t) ∇L(φ(t)); the decay term c_k(t) φ(t) is the gradient of ½‖φ(t)‖² with respect to
    // θ_k.
    std::vector<float> scale;
    for (std::size_t k = first_; k < last_; ++k) scale.push_back(static_cast<float>(coef[k]));
    optimizer_.step_curve(flat_, scale, g_, phi_);
    return m;
  }

  void read(Path& path) override { copy_out(path); }

  void read_buffers(std::span<float> buffers) override {
    MODECONN_EXPECTS(buffers.size() == buffers_.size(), "the buffers this trainer was made with");
    std::copy(buffers_.begin(), buffers_.end(), buffers.begin());
  }

 private:
  void copy_out(Path& path) const {
    for (std::size_t k = first_; k < last_; ++k)
      std::copy(flat_.begin() + static_cast<std::ptrdiff_t>((k - first_) * np_),
                flat_.begin() + static_cast<std::ptrdiff_t>((k - first_ + 1) * np_), path.points[k].begin());
  }

  Path path_;
  GradientAt gradient_at_;
  std::size_t first_, last_, np_;
  std::vector<float> flat_, grad_, phi_, g_, buffers_;
  std::vector<const float*> points_;  // every control point's current values: flat_'s or path_'s
  OptimizerState optimizer_;
};

}  // namespace

std::unique_ptr<Trainer> Backend::make_trainer(const Path& path, std::size_t first, std::size_t last,
                                               const Split& split, const TrainOptions& options) {
  MODECONN_EXPECTS(path.points.empty() || path.points.front().size() == path.arch.num_params(),
                   "control point size");
  return std::make_unique<HostTrainer>(
      path, first, last, std::span<const float>{}, options,
      [this, arch = path.arch, &split](std::span<const float> phi, std::span<float>,
                                       std::span<const int64_t> rows, std::span<float> grad) {
        return metrics_and_grad(arch, phi, split, rows, grad);
      });
}

// Graphs train with BatchNorm in train mode, the running statistics updated in the trainer's copy.
std::unique_ptr<GraphTrainer> GraphRunner::make_trainer(const Graph& graph, const Path& points,
                                                        std::span<const float> buffers, std::size_t first,
                                                        std::size_t last, const Split& split,
                                                        const TrainOptions& options) {
  MODECONN_EXPECTS(buffers.size() == static_cast<std::size_t>(graph.num_buffers()), "buffer sizes");
  return std::make_unique<HostTrainer>(
      points, first, last, buffers, options,
      [this, graph, &split](std::span<const float> phi, std::span<float> running,
                            std::span<const int64_t> rows, std::span<float> grad) {
        return metrics_and_grad(graph, phi, running, true, split, rows, grad);
      });
}

}  // namespace modeconn
