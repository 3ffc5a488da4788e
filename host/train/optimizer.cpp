// The two optimizers, written as PyTorch documents them (torch.optim.SGD with dampening 0, torch.optim.Adam).
#include "train/optimizer.hpp"

#include <cmath>

namespace modeconn {

OptimizerState::OptimizerState(const TrainOptions& options, std::size_t size)
    : o_(options), m1_(size, 0.f), m2_(options.optimizer == Optimizer::adam ? size : 0, 0.f) {}

void OptimizerState::step(std::span<float> params, std::span<const float> grad,
                          std::span<const float> decay_at) {
  ++t_;
  const int64_t n = static_cast<int64_t>(params.size());
  float* p = params.data();
  const float wd = static_cast<float>(o_.weight_decay);
  if (o_.optimizer == Optimizer::sgd) {
    const float mu = static_cast<float>(o_.momentum), lr = static_cast<float>(o_.lr);
    const bool first = t_ == 1;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float g = grad[i] + wd * decay_at[i];
      m1_[i] = first ? g : mu * m1_[i] + g;
      p[i] -= lr * m1_[i];
    }
    return;
  }
  const float b1 = static_cast<float>(o_.beta1), b2 = static_cast<float>(o_.beta2);
  const float c1 = static_cast<float>(1.0 - std::pow(o_.beta1, static_cast<double>(t_)));
  const float c2 = static_cast<float>(1.0 - std::pow(o_.beta2, static_cast<double>(t_)));
  const float lr = static_cast<float>(o_.lr), eps = static_cast<float>(o_.eps);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i] + wd * decay_at[i];
    m1_[i] = b1 * m1_[i] + (1.f - b1) * g;
    m2_[i] = b2 * m2_[i] + (1.f - b2) * g * g;
    p[i] -= lr * (m1_[i] / c1) / (std::sqrt(m2_[i] / c2) + eps);
  }
}

}  // namespace modeconn
