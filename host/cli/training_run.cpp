// Training with a live progress line and a closing summary on stderr.
#include "cli/training_run.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/progress.hpp"
#include "modeconn/graph_train.hpp"

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

std::vector<PointMetrics> run_graph_training(GraphRunner& runner, GraphModel& model, const Dataset& data,
                                             const TrainOptions& o, bool verbose) {
  EpochProgress progress(verbose, "training");
  const auto start = std::chrono::steady_clock::now();
  train_graph(runner, model, data.train, o, [&](const EpochReport& r) { progress(r); });
  progress.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const GraphPath self = model_graph_path(model);
  const double t0 = 0;
  std::vector<PointMetrics> metrics{
      evaluate_graph_path(runner, self, {&t0, 1}, data.test, BnOptions{}).front(),
      evaluate_graph_path(runner, self, {&t0, 1}, data.train, BnOptions{}).front()};
  if (verbose) {
    char text[200];
    std::snprintf(
        text, sizeof text,
        "trained in %.1f s: train loss %.4f error %.4f, test loss %.4f error %.4f (BatchNorm in eval mode)",
        seconds, metrics[1].loss, metrics[1].error, metrics[0].loss, metrics[0].error);
    std::cerr << text << "\n";
  }
  return metrics;
}

}  // namespace modeconn::cli
