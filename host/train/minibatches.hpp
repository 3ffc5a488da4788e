// Epochs of shuffled minibatches, the loop training and curve fitting share: private to host/train.
#pragma once

#include <chrono>
#include <cmath>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "modeconn/error.hpp"
#include "modeconn/rng.hpp"
#include "modeconn/train.hpp"

namespace modeconn {

// Calls step(rows) for each minibatch of each epoch; step returns the minibatch's mean loss and error.
// Reports progress.
template <typename Step>
void run_minibatches(int64_t num_rows, const TrainOptions& o,
                     const std::function<void(const EpochReport&)>& progress, Step&& step) {
  if (o.epochs < 0) throw usage_error("--epochs must not be negative");
  if (o.batch < 1) throw usage_error("--batch must be at least 1");
  if (!(o.lr > 0)) throw usage_error("--lr must be positive");
  std::vector<int64_t> order(static_cast<std::size_t>(num_rows));
  std::iota(order.begin(), order.end(), int64_t{0});
  Rng rng(o.data_seed.value_or(o.seed) ^ 0x5DEECE66Dull);  // a stream distinct from initialisation's
  const int64_t steps = (num_rows + o.batch - 1) / o.batch;
  int64_t taken = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    for (std::size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[rng.below(i)]);  // Fisher–Yates
    const auto start = std::chrono::steady_clock::now();
    double loss_sum = 0, error_sum = 0;
    int64_t seen = 0;
    for (int64_t s = 0; s < steps; ++s) {
      if (o.max_steps && taken == *o.max_steps) break;
      ++taken;
      const int64_t begin = s * o.batch;
      const int64_t count = std::min(o.batch, num_rows - begin);
      const PointMetrics m =
          step(std::span<const int64_t>(order.data() + begin, static_cast<std::size_t>(count)));
      const double loss = m.loss;
      if (!std::isfinite(loss))
        throw Error(ErrorKind::input, "training diverged (loss is " + std::to_string(loss) + " at epoch " +
                                          std::to_string(epoch) + "); lower --lr");
      loss_sum += loss * static_cast<double>(count);
      error_sum += m.error * static_cast<double>(count);
      seen += count;
      if (progress)
        progress({epoch, o.epochs, s + 1, steps, loss_sum / static_cast<double>(seen),
                  error_sum / static_cast<double>(seen),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                  s + 1 == steps || (o.max_steps && taken == *o.max_steps)});
    }
    if (o.max_steps && taken == *o.max_steps) break;
  }
}

}  // namespace modeconn
