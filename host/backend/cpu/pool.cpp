// Pooling over channels-last maps: max and average windows (padding counted in the average, as PyTorch's
// default count_include_pad) and the global average over all positions.
#include <algorithm>
#include <limits>

#include "backend/cpu/op_table.hpp"

namespace modeconn::cpu {
namespace {

template <bool kMax>
void window_pool(const OpArgs& a) {
  const Node& n = a.node;
  const auto& s = a.graph.nodes[static_cast<std::size_t>(n.inputs.front())].shape;
  const int64_t c = s[0], h = s[1], w = s[2], ho = n.shape[1], wo = n.shape[2];
  const float inv = 1.f / static_cast<float>(n.kernel[0] * n.kernel[1]);
  for (int64_t r = 0; r < a.rows; ++r) {
    const float* image = a.in0 + r * h * w * c;
    for (int64_t oy = 0; oy < ho; ++oy)
      for (int64_t ox = 0; ox < wo; ++ox) {
        float* out = a.out + ((r * ho + oy) * wo + ox) * c;
        std::fill(out, out + c, kMax ? -std::numeric_limits<float>::infinity() : 0.f);
        for (int64_t i = 0; i < n.kernel[0]; ++i) {
          const int64_t y = oy * n.stride[0] - n.padding[0] + i;
          if (y < 0 || y >= h) continue;
          for (int64_t j = 0; j < n.kernel[1]; ++j) {
            const int64_t x = ox * n.stride[1] - n.padding[1] + j;
            if (x < 0 || x >= w) continue;
            const float* in = image + (y * w + x) * c;
            for (int64_t ch = 0; ch < c; ++ch) out[ch] = kMax ? std::max(out[ch], in[ch]) : out[ch] + in[ch];
          }
        }
        if (!kMax)
          for (int64_t ch = 0; ch < c; ++ch) out[ch] *= inv;
      }
  }
}

void global_avg_pool(const OpArgs& a) {
  const auto& s = a.graph.nodes[static_cast<std::size_t>(a.node.inputs.front())].shape;
  const int64_t c = s[0], hw = s[1] * s[2];
  for (int64_t r = 0; r < a.rows; ++r) {
    const float* in = a.in0 + r * hw * c;
    float* out = a.out + r * c;
    std::fill(out, out + c, 0.f);
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t ch = 0; ch < c; ++ch) out[ch] += in[p * c + ch];
    for (int64_t ch = 0; ch < c; ++ch) out[ch] /= static_cast<float>(hw);
  }
}

}  // namespace

const OpKernels kMaxPoolKernels{window_pool<true>, nullptr, nullptr};
const OpKernels kAvgPoolKernels{window_pool<false>, nullptr, nullptr};
const OpKernels kGlobalAvgPoolKernels{global_avg_pool, nullptr, nullptr};

}  // namespace modeconn::cpu
