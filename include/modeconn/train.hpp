// Minibatch training of an MLP: SGD with momentum or Adam, weight decay, deterministic for a seed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "modeconn/backend.hpp"
#include "modeconn/path.hpp"

namespace modeconn {

enum class Optimizer { sgd, adam };
Optimizer parse_optimizer(std::string_view name);

struct TrainOptions {
  Optimizer optimizer = Optimizer::sgd;
  int epochs = 10;
  double lr = 0.05;
  double momentum = 0.9;      // SGD
  double beta1 = 0.9;         // Adam
  double beta2 = 0.999;       // Adam
  double eps = 1e-8;          // Adam
  double weight_decay = 0.0;  // L2, added to the gradient as PyTorch's optimizers do
  int64_t batch = 128;
  uint64_t seed = 0;
  // The minibatch order's own seed when set (otherwise `seed`'s): two runs from one --init that differ only
  // in the order they see the data (Frankle et al. 2020's instability analysis).
  std::optional<uint64_t> data_seed;
  // Stop after this many minibatch steps in all, mid-epoch if need be (0: none, the model as it starts);
  // unset: every epoch to the end.
  std::optional<int64_t> max_steps;
};

struct EpochReport {
  int epoch = 0;  // 1-based
  int epochs = 0;
  int64_t step = 0;  // minibatches done in this epoch
  int64_t steps = 0;
  double running_loss = 0;   // the mean over this epoch's minibatches so far, each at the parameters it met
  double running_error = 0;  // the same for the error (fraction misclassified, or mean absolute error)
  double seconds = 0;        // since this epoch began
  bool epoch_done = false;
};

// PyTorch's default Linear initialisation, U(-1/sqrt(in), 1/sqrt(in)) for weights and biases, seeded.
Model init_model(const Architecture& arch, uint64_t seed);

// Trains `model` in place on `split`; `progress` is called after each step.
void train(Backend& backend, Model& model, const Split& split, const TrainOptions& options,
           const std::function<void(const EpochReport&)>& progress);

// A curve between A and B with `bends` interior control points placed on the straight line between them
// (a Bézier curve of order bends + 1, or a polygonal chain through the bends).
Path init_curve(const Model& a, const Model& b, PathKind kind, int bends);

// Fits the interior control points of `path` (Garipov et al. 2018): the endpoints stay fixed and each
// minibatch draws a fresh t ~ U[0, 1] and takes a step on L(φ(t)); weight decay is measured at φ(t).
void fit_curve(Backend& backend, Path& path, const Split& split, const TrainOptions& options,
               const std::function<void(const EpochReport&)>& progress);

}  // namespace modeconn
