// Training layer graphs and fitting curves between them (Garipov et al. 2018), with BatchNorm in training
// mode on every minibatch as PyTorch trains it; the same optimizers, minibatches and seeds as MLP training.
#pragma once

#include <cstdint>
#include <functional>

#include "modeconn/graph_eval.hpp"
#include "modeconn/graph_model.hpp"
#include "modeconn/train.hpp"

namespace modeconn {

// PyTorch's default initialisation, seeded: convolution and linear weights and biases U(−1/√fan_in,
// 1/√fan_in) (kaiming_uniform with a = √5, fan_in = in_channels·kh·kw or in_features); BatchNorm weight 1,
// bias 0, running mean 0, running variance 1.
GraphModel init_graph_model(const Graph& graph, Task task, uint64_t seed);

// Trains `model` in place on `split`: each minibatch normalised by its own statistics and the running
// statistics updated as PyTorch's train mode does; `progress` is called after each step.
void train_graph(GraphRunner& runner, GraphModel& model, const Split& split, const TrainOptions& options,
                 const std::function<void(const EpochReport&)>& progress);

// A curve between A and B (same graph) with `bends` interior control points on the straight line between
// them, their BatchNorm buffers interpolated likewise.
GraphPath init_graph_curve(const GraphModel& a, const GraphModel& b, PathKind kind, int bends);

// Fits the bends of `curve` (endpoints fixed): each minibatch draws a fresh t ~ U[0, 1] and takes a step on
// L(φ(t)) with BatchNorm in training mode at φ(t), as Garipov et al. train curves; weight decay at φ(t). The
// curve's buffers are left as they were: evaluate a fitted curve with its BatchNorm recomputed
// (--bn recompute).
void fit_graph_curve(GraphRunner& runner, GraphPath& curve, const Split& split, const TrainOptions& options,
                     const std::function<void(const EpochReport&)>& progress);

}  // namespace modeconn
