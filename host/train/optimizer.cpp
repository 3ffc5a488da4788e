// The two optimizers, written as PyTorch documents them (torch.optim.SGD with dampening 0, torch.optim.Adam).
#include "train/optimizer.hpp"

#include <cmath>

#include "backend/cpu/vector_clones.hpp"

namespace modeconn {

OptimizerState::OptimizerState(const TrainOptions& options, std::size_t size)
    : o_(options), m1_(size, 0.f), m2_(options.optimizer == Optimizer::adam ? size : 0, 0.f) {}

namespace {

// One SGD or Adam update over elements [begin, end) of p, m1, m2, with gradient s·g[i] + wd·(s·decay[i]):
// torch.optim's formulas in their order of operations, no multiply-add fused (vector_clones.hpp). s = 1 is
// training a model (its gradient and the parameters as they are; a product by 1 changes nothing); a curve's
// point k has s = c_k(t), with φ(t) for decay.
MODECONN_VECTOR_CLONES
void sgd_range(float* p, float* m1, float s, const float* g, const float* decay, float wd, float mu, float lr,
               bool first, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const float gi = s * g[i] + wd * (s * decay[i]);
    m1[i] = first ? gi : mu * m1[i] + gi;
    p[i] -= lr * m1[i];
  }
}

MODECONN_VECTOR_CLONES
void adam_range(float* p, float* m1, float* m2, float s, const float* g, const float* decay, float wd,
                float b1, float b2, float c1, float c2, float lr, float eps, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const float gi = s * g[i] + wd * (s * decay[i]);
    m1[i] = b1 * m1[i] + (1.f - b1) * gi;
    m2[i] = b2 * m2[i] + (1.f - b2) * gi * gi;
    p[i] -= lr * (m1[i] / c1) / (std::sqrt(m2[i] / c2) + eps);
  }
}

}  // namespace

void OptimizerState::step(std::span<float> params, std::span<const float> grad,
                          std::span<const float> decay_at) {
  ++t_;
  update(params.data(), 0, 1.f, grad.data(), decay_at.data(), static_cast<int64_t>(params.size()));
}

void OptimizerState::step_curve(std::span<float> params, std::span<const float> scale,
                                std::span<const float> g, std::span<const float> phi) {
  ++t_;
  const auto n = static_cast<int64_t>(g.size());
  for (std::size_t k = 0; k < scale.size(); ++k)
    update(params.data(), static_cast<int64_t>(k) * n, scale[k], g.data(), phi.data(), n);
}

void OptimizerState::update(float* params, int64_t offset, float scale, const float* g, const float* decay,
                            int64_t n) {
  float* p = params + offset;
  float* m1 = m1_.data() + offset;
  const float wd = static_cast<float>(o_.weight_decay);
  if (o_.optimizer == Optimizer::sgd) {
    const float mu = static_cast<float>(o_.momentum), lr = static_cast<float>(o_.lr);
    const bool first = t_ == 1;
    cpu::parallel_chunks(n, [&](int64_t begin, int64_t end) {
      sgd_range(p, m1, scale, g, decay, wd, mu, lr, first, begin, end);
    });
    return;
  }
  float* m2 = m2_.data() + offset;
  const float b1 = static_cast<float>(o_.beta1), b2 = static_cast<float>(o_.beta2);
  const float c1 = static_cast<float>(1.0 - std::pow(o_.beta1, static_cast<double>(t_)));
  const float c2 = static_cast<float>(1.0 - std::pow(o_.beta2, static_cast<double>(t_)));
  const float lr = static_cast<float>(o_.lr), eps = static_cast<float>(o_.eps);
  cpu::parallel_chunks(n, [&](int64_t begin, int64_t end) {
    adam_range(p, m1, m2, scale, g, decay, wd, b1, b2, c1, c2, lr, eps, begin, end);
  });
}

}  // namespace modeconn
