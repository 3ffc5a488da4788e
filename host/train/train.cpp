// Minibatch training with PyTorch's SGD-with-momentum and Adam update rules, deterministic for a seed.
#include "modeconn/train.hpp"

#include <cmath>

#include "modeconn/error.hpp"
#include "modeconn/rng.hpp"
#include "train/minibatches.hpp"

namespace modeconn {

Optimizer parse_optimizer(std::string_view name) {
  if (name == "sgd") return Optimizer::sgd;
  if (name == "adam") return Optimizer::adam;
  throw usage_error("unknown optimizer '" + std::string(name) + "' (sgd, adam)");
}

Model init_model(const Architecture& arch, uint64_t seed) {
  Model m{arch, std::vector<float>(arch.num_params()), true};
  Rng rng(seed);
  for (std::size_t l = 0; l < arch.layers.size(); ++l) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(arch.layers[l].in));
    const std::size_t begin = arch.weight_offset(l);
    const std::size_t end = arch.bias_offset(l) + static_cast<std::size_t>(arch.layers[l].out);
    for (std::size_t i = begin; i < end; ++i)
      m.params[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
  }
  return m;
}

void train(Backend& backend, Model& model, const Split& split, const TrainOptions& o,
           const std::function<void(const EpochReport&)>& progress) {
  Path path{PathKind::linear, model.arch, {model.params}};  // a model is a one-point path
  const std::unique_ptr<Trainer> trainer = backend.make_trainer(path, 0, 1, split, o);
  const double one = 1.0;
  run_minibatches(split.rows, o, progress, [&](std::span<const int64_t> rows) {
    return trainer->step({&one, 1}, rows);
  });
  trainer->read(path);
  model.params = std::move(path.points[0]);
}

}  // namespace modeconn
