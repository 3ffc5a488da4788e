// Convolution as im2col + SGEMM over every output position of a block of rows at once: the patches
// [rows·Ho·Wo, kh·kw·C] (channels-last, so each kernel tap copies C contiguous floats) times the weights
// prepared as [out, kh·kw·C]. A 1×1 convolution with stride 1 and no padding reads its input directly.
#include <algorithm>
#include <vector>

#include "backend/cpu/op_table.hpp"
#include "backend/cpu_ops.hpp"
#include "modeconn/graph_plan.hpp"

namespace modeconn::cpu {
namespace {

bool is_pointwise(const Node& n) {
  return n.kernel[0] == 1 && n.kernel[1] == 1 && n.stride[0] == 1 && n.stride[1] == 1 && n.padding[0] == 0 &&
         n.padding[1] == 0;
}

// Patches per im2col step: a quarter of a typical L2 cache.
constexpr int64_t kPatchFloats = int64_t{1} << 17;

int64_t conv_scratch(const Graph& g, const Node& n) {
  if (is_pointwise(n)) return 0;
  const int64_t c = g.nodes[static_cast<std::size_t>(n.inputs.front())].shape[0];
  return n.shape[1] * n.shape[2] * n.kernel[0] * n.kernel[1] * c;
}

void im2col(const Graph& g, const Node& n, const float* in, int64_t rows, float* patches) {
  const auto& s = g.nodes[static_cast<std::size_t>(n.inputs.front())].shape;
  const int64_t c = s[0], h = s[1], w = s[2], ho = n.shape[1], wo = n.shape[2];
  const int64_t kh = n.kernel[0], kw = n.kernel[1];
  for (int64_t r = 0; r < rows; ++r) {
    const float* image = in + r * h * w * c;
    for (int64_t oy = 0; oy < ho; ++oy)
      for (int64_t ox = 0; ox < wo; ++ox) {
        float* p = patches + ((r * ho + oy) * wo + ox) * kh * kw * c;
        for (int64_t i = 0; i < kh; ++i) {
          const int64_t y = oy * n.stride[0] - n.padding[0] + i * n.dilation[0];
          for (int64_t j = 0; j < kw; ++j, p += c) {
            const int64_t x = ox * n.stride[1] - n.padding[1] + j * n.dilation[1];
            if (y < 0 || y >= h || x < 0 || x >= w)
              std::fill(p, p + c, 0.f);
            else
              std::copy(image + (y * w + x) * c, image + (y * w + x) * c + c, p);
          }
        }
      }
  }
}

void conv_forward(const OpArgs& a) {
  const Node& n = a.node;
  const auto& in_shape = a.graph.nodes[static_cast<std::size_t>(n.inputs.front())].shape;
  const int64_t in_size = in_shape[0] * in_shape[1] * in_shape[2];
  const int64_t per_row = n.shape[1] * n.shape[2];
  const int64_t k = n.kernel[0] * n.kernel[1] * in_shape[0];
  if (is_pointwise(n)) {
    gemm(a.rows * per_row, n.out, k, 1.f, a.in0, false, a.weight, true, 0.f, a.out);
  } else {
    // A few rows at a time, so that the patches the SGEMM reads are still in cache from being written.
    const int64_t step = std::max<int64_t>(1, kPatchFloats / (per_row * k));
    for (int64_t r = 0; r < a.rows; r += step) {
      const int64_t rows = std::min(step, a.rows - r);
      im2col(a.graph, n, a.in0 + r * in_size, rows, a.scratch);
      gemm(rows * per_row, n.out, k, 1.f, a.scratch, false, a.weight, true, 0.f, a.out + r * per_row * n.out);
    }
  }
  if (a.bias) add_bias(a.out, a.rows * per_row, n.out, a.bias);
}

}  // namespace

const OpKernels kConv2dKernels{conv_forward, conv_scratch, conv_weight_channels_last};

}  // namespace modeconn::cpu
