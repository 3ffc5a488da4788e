// Minibatch training with PyTorch's SGD-with-momentum and Adam update rules, deterministic for a seed.
#include "modeconn/train.hpp"

#include <cmath>
#include <numeric>

#include "modeconn/error.hpp"
#include "modeconn/rng.hpp"

namespace modeconn {

Optimizer parse_optimizer(std::string_view name) {
  if (name == "sgd") return Optimizer::sgd;
  if (name == "adam") return Optimizer::adam;
  throw usage_error("--optimizer: unknown optimizer '" + std::string(name) + "' (sgd, adam)");
}

Model init_model(const Architecture& arch, uint64_t seed) {
  Model m{arch, std::vector<float>(arch.num_params()), true};
  Rng rng(seed);
  for (std::size_t l = 0; l < arch.layers.size(); ++l) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(arch.layers[l].in));
    const std::size_t begin = arch.weight_offset(l);
    const std::size_t end = arch.bias_offset(l) + static_cast<std::size_t>(arch.layers[l].out);
    for (std::size_t i = begin; i < end; ++i) m.params[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
  }
  return m;
}

void train(Backend& backend, Model& model, const Split& split, const TrainOptions& o,
           const std::function<void(const EpochReport&)>& progress) {
  if (o.epochs < 0) throw usage_error("--epochs must not be negative");
  if (o.batch < 1) throw usage_error("--batch must be at least 1");
  if (!(o.lr > 0)) throw usage_error("--lr must be positive");
  const std::size_t np = model.params.size();
  std::vector<float> grad(np), m1(np, 0.f), m2(np, 0.f);
  std::vector<int64_t> order(static_cast<std::size_t>(split.rows));
  std::iota(order.begin(), order.end(), int64_t{0});
  Rng rng(o.seed ^ 0x5DEECE66Dull);  // a stream distinct from initialisation's
  int64_t t = 0;
  const int64_t steps = (split.rows + o.batch - 1) / o.batch;

  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);  // Fisher–Yates
    double loss_sum = 0;
    int64_t seen = 0;
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t begin = s * o.batch;
      const int64_t count = std::min(o.batch, split.rows - begin);
      const std::span<const int64_t> rows(order.data() + begin, static_cast<std::size_t>(count));
      const double loss = backend.loss_and_grad(model.arch, model.params, split, rows, grad);
      if (!std::isfinite(loss))
        throw Error(ErrorKind::input, "training diverged (loss is " + std::to_string(loss) + " at epoch " +
                                          std::to_string(epoch) + "); lower --lr");
      loss_sum += loss * static_cast<double>(count);
      seen += count;
      ++t;
      float* p = model.params.data();
      const float wd = static_cast<float>(o.weight_decay);
      if (o.optimizer == Optimizer::sgd) {
        const float mu = static_cast<float>(o.momentum), lr = static_cast<float>(o.lr);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < static_cast<int64_t>(np); ++i) {
          const float g = grad[i] + wd * p[i];
          m1[i] = t == 1 ? g : mu * m1[i] + g;
          p[i] -= lr * m1[i];
        }
      } else {
        const float b1 = static_cast<float>(o.beta1), b2 = static_cast<float>(o.beta2);
        const float c1 = static_cast<float>(1.0 - std::pow(o.beta1, static_cast<double>(t)));
        const float c2 = static_cast<float>(1.0 - std::pow(o.beta2, static_cast<double>(t)));
        const float lr = static_cast<float>(o.lr), eps = static_cast<float>(o.eps);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < static_cast<int64_t>(np); ++i) {
          const float g = grad[i] + wd * p[i];
          m1[i] = b1 * m1[i] + (1.f - b1) * g;
          m2[i] = b2 * m2[i] + (1.f - b2) * g * g;
          p[i] -= lr * (m1[i] / c1) / (std::sqrt(m2[i] / c2) + eps);
        }
      }
      if (progress) progress({epoch, o.epochs, s + 1, steps, loss_sum / static_cast<double>(seen), s + 1 == steps});
    }
  }
}

}  // namespace modeconn
