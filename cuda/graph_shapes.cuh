// What the graph executors (graph_runner.cu forward, graph_backward.cu training) read off a node's shapes.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "graph_kernels.cuh"
#include "modeconn/graph.hpp"

namespace modeconn::cuda {

inline int64_t elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}
// Positions per row of a [C, H, W] map (1 for a vector).
inline int64_t positions_of(const std::vector<int64_t>& s) { return s.size() == 3 ? s[1] * s[2] : 1; }
// A 1×1 convolution with stride 1 and no padding reads its input as its patches.
inline bool pointwise(const Node& n) {
  return n.kernel == std::array<int64_t, 2>{1, 1} && n.stride == std::array<int64_t, 2>{1, 1} &&
         n.padding == std::array<int64_t, 2>{0, 0};
}
// A window op's geometry from its input's shape [C, H, W] and its own.
inline Window window(const std::vector<int64_t>& in, const Node& n) {
  return {in[1],       in[2],       in[0],        n.shape[1],   n.shape[2],    n.kernel[0],  n.kernel[1],
          n.stride[0], n.stride[1], n.padding[0], n.padding[1], n.dilation[0], n.dilation[1]};
}

}  // namespace modeconn::cuda
