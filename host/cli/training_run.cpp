// Training with a live progress line and a closing summary on stderr.
#include "cli/training_run.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/progress.hpp"

namespace modeconn::cli {

std::vector<PointMetrics> run_training(Backend& backend, Model& model, const Dataset& data,
                                       const TrainOptions& o, bool verbose) {
  EpochProgress progress(verbose, "training");
  const auto start = std::chrono::steady_clock::now();
  char text[200];
  train(backend, model, data.train, o, [&](const EpochReport& r) { progress(r); });
  progress.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<PointMetrics> metrics{evaluate_model(backend, model, data.test),
                                    evaluate_model(backend, model, data.train)};
  if (verbose) {
    std::snprintf(text, sizeof text,
                  "trained in %.1f s: train loss %.4f error %.4f, test loss %.4f error %.4f", seconds,
                  metrics[1].loss, metrics[1].error, metrics[0].loss, metrics[0].error);
    std::cerr << text << "\n";
  }
  return metrics;
}

}  // namespace modeconn::cli
