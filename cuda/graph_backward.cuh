// Backpropagation through a layer graph on the device (graph_backward.cu): what graph training, curve fitting
// and the MLP's gradient run on the CUDA backend.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cuda_backend.cuh"
#include "modeconn/graph.hpp"
#include "modeconn/graph_eval.hpp"

namespace modeconn::cuda {

// What a training run keeps on the device between minibatches: every node's output and gradient for the
// batch, the patches of the convolutions, the BatchNorm statistics. Buffers grow when a step needs more and
// are otherwise reused, so a step allocates nothing the step before did not.
struct DeviceBackpropWorkspace {
  std::vector<DeviceBuffer<float>> value, dvalue;
  DeviceBuffer<float> x, prepared, patches, dpatches, dweight, dz, transposed, ones;
  DeviceBuffer<double> bn_stats, sums, scratch, row_metrics, totals;
  DeviceBuffer<int64_t> rows;
};

// Mean loss and error over split rows `rows` at d_params (the graph's flat parameters in PyTorch layouts, on
// the device) and the loss's gradient, written to d_grad (device). BatchNorm normalises with the running
// statistics in d_buffers (device; may be null for a graph without BatchNorm), or with `train_bn` with the
// minibatch's own as PyTorch's train mode does, d_buffers then updated as it updates them. The arithmetic is
// the CPU backend's (host/backend/cpu/backprop.cpp) kernel for kernel. Waits once, for the two metrics.
PointMetrics graph_device_metrics_and_grad(CudaBackend& backend, const Graph& graph, const float* d_params,
                                           float* d_buffers, bool train_bn, const Split& split,
                                           std::span<const int64_t> rows, float* d_grad,
                                           DeviceBackpropWorkspace& workspace);

// The device trainer (trainer.cu) for a graph: GraphRunner::make_trainer on the CUDA backend.
std::unique_ptr<GraphTrainer> make_graph_trainer(CudaBackend& backend, const Graph& graph, const Path& points,
                                                 std::span<const float> buffers, std::size_t first,
                                                 std::size_t last, const Split& split,
                                                 const TrainOptions& options);

}  // namespace modeconn::cuda
