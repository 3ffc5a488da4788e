// The CPU backend's backward pass through a layer graph (backprop.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "modeconn/backend.hpp"
#include "modeconn/graph.hpp"

namespace modeconn::cpu {

// What a training run keeps between minibatches, so that a step allocates (and zeroes) nothing it did not
// need the step before: every node's output and gradient for the batch (over a hundred megabytes for a small
// ResNet on 128 rows).
struct BackpropWorkspace {
  std::vector<std::vector<float>> value, dvalue;
};

// Mean loss and error over split rows `rows` at `params` (the graph's flat parameters, PyTorch layouts) and
// the loss's gradient, written to `grad`. BatchNorm normalises with the running statistics in `buffers`, or
// with `train_bn` with the minibatch's own, as PyTorch's train mode does, `buffers` then updated as it
// updates them (momentum 0.1, the variance unbiased).
PointMetrics graph_metrics_and_grad(const Graph& graph, std::span<const float> params,
                                    std::span<float> buffers, bool train_bn, const Split& split,
                                    std::span<const int64_t> rows, std::span<float> grad,
                                    BackpropWorkspace& workspace);

}  // namespace modeconn::cpu
