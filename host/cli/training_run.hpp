// Trains a model with a progress line and reports its final train and test metrics (train and demo share it).
#pragma once

#include "modeconn/backend.hpp"
#include "modeconn/graph_eval.hpp"
#include "modeconn/train.hpp"

namespace modeconn::cli {

// Returns the final metrics on {test, train}.
std::vector<PointMetrics> run_training(Backend& backend, Model& model, const Dataset& data,
                                       const TrainOptions& o, bool verbose);
// The same for a layer graph; the final metrics with BatchNorm's running statistics (eval mode).
std::vector<PointMetrics> run_graph_training(GraphRunner& runner, GraphModel& model, const Dataset& data,
                                             const TrainOptions& o, bool verbose);

}  // namespace modeconn::cli
