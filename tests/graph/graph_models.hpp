// Small layer graphs with random values, shared by the CPU executor's tests and the CUDA parity tests.
#pragma once

#include <ostream>

#include "modeconn/dataset.hpp"
#include "modeconn/graph_model.hpp"
#include "modeconn/rng.hpp"

namespace modeconn::test {

// Every op: a non-square, strided, padded, dilated convolution, BatchNorm, pooling with padding, a 1×1
// convolution into a residual sum, BatchNorm without affine parameters, flatten, BatchNorm1d, linear layers.
inline constexpr const char* kEveryOp = R"({"nodes": [
 {"name": "input", "op": "input", "shape": [2, 9, 8]},
 {"name": "conv", "op": "conv2d", "out_channels": 3, "kernel": [3, 2], "stride": [2, 1], "padding": [1, 1],
  "dilation": [1, 2], "tensors": {"weight": "conv.weight", "bias": "conv.bias"}},
 {"name": "bn", "op": "batch_norm", "eps": 0.001, "tensors": {"weight": "bn.weight", "bias": "bn.bias",
  "running_mean": "bn.running_mean", "running_var": "bn.running_var"}},
 {"name": "gelu", "op": "activation", "activation": "gelu"},
 {"name": "pool", "op": "max_pool2d", "kernel": 3, "stride": 2, "padding": 1},
 {"name": "pointwise", "op": "conv2d", "out_channels": 3, "kernel": 1, "bias": false,
  "tensors": {"weight": "pointwise.weight"}},
 {"name": "sum", "op": "add", "inputs": ["pointwise", "pool"]},
 {"name": "avg", "op": "avg_pool2d", "kernel": 2, "stride": 1, "padding": 1},
 {"name": "bn2", "op": "batch_norm", "affine": false, "tensors": {"running_mean": "bn2.running_mean",
  "running_var": "bn2.running_var"}},
 {"name": "tanh", "op": "activation", "activation": "tanh"},
 {"name": "flat", "op": "flatten"},
 {"name": "fc1", "op": "linear", "out_features": 7, "tensors": {"weight": "fc1.weight", "bias": "fc1.bias"}},
 {"name": "bn3", "op": "batch_norm", "tensors": {"weight": "bn3.weight", "bias": "bn3.bias",
  "running_mean": "bn3.running_mean", "running_var": "bn3.running_var"}},
 {"name": "leaky", "op": "activation", "activation": "leaky_relu"},
 {"name": "fc2", "op": "linear", "out_features": 5, "tensors": {"weight": "fc2.weight", "bias": "fc2.bias"}}]})";

// A ResNet-style graph ending in global average pooling.
inline constexpr const char* kResidual = R"({"nodes": [
 {"name": "input", "op": "input", "shape": [1, 10, 10]},
 {"name": "stem", "op": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "bias": false,
  "tensors": {"weight": "stem.weight"}},
 {"name": "bn", "op": "batch_norm", "tensors": {"weight": "bn.weight", "bias": "bn.bias",
  "running_mean": "bn.running_mean", "running_var": "bn.running_var"}},
 {"name": "relu", "op": "activation", "activation": "relu"},
 {"name": "conv", "op": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "tensors": {"weight": "conv.weight",
  "bias": "conv.bias"}},
 {"name": "bn2", "op": "batch_norm", "tensors": {"weight": "bn2.weight", "bias": "bn2.bias",
  "running_mean": "bn2.running_mean", "running_var": "bn2.running_var"}},
 {"name": "sum", "op": "add", "inputs": ["bn2", "relu"]},
 {"name": "relu2", "op": "activation", "activation": "relu"},
 {"name": "gap", "op": "global_avg_pool"},
 {"name": "fc", "op": "linear", "out_features": 3, "tensors": {"weight": "fc.weight", "bias": "fc.bias"}}]})";

// A one-channel stem as a strided, dilated, unevenly padded, non-square convolution whose taps fall outside
// the image on every side (the executors lay out one-channel patches their own way), then a second
// convolution with stride 2 over an odd size, without a bias, whose activation the plan fuses into it.
inline constexpr const char* kOneChannel = R"({"nodes": [
 {"name": "input", "op": "input", "shape": [1, 11, 9]},
 {"name": "stem", "op": "conv2d", "out_channels": 5, "kernel": [3, 4], "stride": [2, 3], "padding": [2, 1],
  "dilation": [2, 1], "tensors": {"weight": "stem.weight", "bias": "stem.bias"}},
 {"name": "bn", "op": "batch_norm", "tensors": {"weight": "bn.weight", "bias": "bn.bias",
  "running_mean": "bn.running_mean", "running_var": "bn.running_var"}},
 {"name": "relu", "op": "activation", "activation": "relu"},
 {"name": "conv", "op": "conv2d", "out_channels": 3, "kernel": 2, "stride": 2, "bias": false,
  "tensors": {"weight": "conv.weight"}},
 {"name": "tanh", "op": "activation", "activation": "tanh"},
 {"name": "flat", "op": "flatten"},
 {"name": "fc", "op": "linear", "out_features": 4, "tensors": {"weight": "fc.weight", "bias": "fc.bias"}}]})";

// Channel counts in multiples of 8, which the CPU runs as direct convolutions rather than im2col + SGEMM
// (conv2d_direct.hpp): 8 and then 16 output channels, a strided convolution, a 1×1 convolution from 16
// channels, a residual sum with a pooled branch.
inline constexpr const char* kNarrow = R"({"nodes": [
 {"name": "input", "op": "input", "shape": [2, 9, 7]},
 {"name": "stem", "op": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1, "tensors": {"weight": "stem.weight",
  "bias": "stem.bias"}},
 {"name": "bn", "op": "batch_norm", "tensors": {"weight": "bn.weight", "bias": "bn.bias",
  "running_mean": "bn.running_mean", "running_var": "bn.running_var"}},
 {"name": "relu", "op": "activation", "activation": "relu"},
 {"name": "conv", "op": "conv2d", "out_channels": 16, "kernel": 3, "stride": 2, "padding": 1, "bias": false,
  "tensors": {"weight": "conv.weight"}},
 {"name": "tanh", "op": "activation", "activation": "tanh"},
 {"name": "pointwise", "op": "conv2d", "out_channels": 8, "kernel": 1, "tensors": {"weight": "pointwise.weight",
  "bias": "pointwise.bias"}},
 {"name": "pool", "op": "max_pool2d", "kernel": 3, "stride": 2, "padding": 1, "inputs": ["relu"]},
 {"name": "sum", "op": "add", "inputs": ["pointwise", "pool"]},
 {"name": "relu2", "op": "activation", "activation": "relu"},
 {"name": "gap", "op": "global_avg_pool"},
 {"name": "fc", "op": "linear", "out_features": 3, "tensors": {"weight": "fc.weight", "bias": "fc.bias"}}]})";

// A named graph for parameterised tests (printed by its name, not its JSON).
struct GraphCase {
  const char* name;
  const char* json;
};
inline void PrintTo(const GraphCase& c, std::ostream* out) { *out << c.name; }
inline const GraphCase kGraphCases[] = {
    {"EveryOp", kEveryOp}, {"Residual", kResidual}, {"OneChannel", kOneChannel}, {"Narrow", kNarrow}};

inline GraphModel random_graph_model(const char* json, uint64_t seed) {
  GraphModel m;
  m.graph = graph_from_json(json, "the test graph");
  Rng rng(seed);
  m.params.resize(static_cast<std::size_t>(m.graph.num_params()));
  for (auto& v : m.params) v = static_cast<float>(rng.uniform() - 0.5);
  m.buffers.resize(static_cast<std::size_t>(m.graph.num_buffers()));
  const TensorPlaces places = tensor_places(m.graph);
  for (std::size_t i = 0; i < m.graph.nodes.size(); ++i) {
    const TensorPlace& mean = places[i][static_cast<std::size_t>(TensorRole::running_mean)];
    const TensorPlace& var = places[i][static_cast<std::size_t>(TensorRole::running_var)];
    for (int64_t k = 0; k < mean.size && mean.present; ++k) {
      m.buffers[static_cast<std::size_t>(mean.offset + k)] = static_cast<float>(rng.uniform() - 0.5);
      m.buffers[static_cast<std::size_t>(var.offset + k)] = static_cast<float>(0.5 + rng.uniform());
    }
  }
  return m;
}

inline Split random_graph_split(const Graph& g, int64_t rows, int64_t classes, uint64_t seed) {
  Split s;
  s.name = "test";
  s.rows = rows;
  s.features = g.input_size();
  s.sample_shape = g.nodes.front().shape;
  Rng rng(seed);
  s.x.resize(static_cast<std::size_t>(rows * s.features));
  for (auto& v : s.x) v = static_cast<float>(2 * rng.uniform() - 1);
  for (int64_t r = 0; r < rows; ++r)
    s.labels.push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(classes))));
  return s;
}

}  // namespace modeconn::test
