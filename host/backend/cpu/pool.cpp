// Pooling over channels-last maps: max and average windows (padding counted in the average, as PyTorch's
// default count_include_pad) and the global average over all positions. Backward: a max window's gradient
// goes to its first largest value in scan order (PyTorch's choice among ties, which ReLU's zeros make
// common), an average's is shared by every position it read.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

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

template <bool kMax>
void window_pool_backward(const GradArgs& a) {
  const Node& n = a.node;
  const auto& s = a.graph.nodes[static_cast<std::size_t>(n.inputs.front())].shape;
  const int64_t c = s[0], h = s[1], w = s[2], ho = n.shape[1], wo = n.shape[2];
  const float inv = 1.f / static_cast<float>(n.kernel[0] * n.kernel[1]);
  std::vector<float> best(static_cast<std::size_t>(c));
  std::vector<int64_t> at(static_cast<std::size_t>(c));
  if (!a.add0) std::fill(a.din0, a.din0 + a.rows * h * w * c, 0.f);  // windows scatter by adding
  for (int64_t r = 0; r < a.rows; ++r) {
    const float* image = a.in0 + r * h * w * c;
    float* dimage = a.din0 + r * h * w * c;
    for (int64_t oy = 0; oy < ho; ++oy)
      for (int64_t ox = 0; ox < wo; ++ox) {
        const float* dy = a.dout + ((r * ho + oy) * wo + ox) * c;
        std::fill(best.begin(), best.end(), -std::numeric_limits<float>::infinity());
        std::fill(at.begin(), at.end(), int64_t{-1});
        for (int64_t i = 0; i < n.kernel[0]; ++i) {
          const int64_t y = oy * n.stride[0] - n.padding[0] + i;
          if (y < 0 || y >= h) continue;
          for (int64_t j = 0; j < n.kernel[1]; ++j) {
            const int64_t x = ox * n.stride[1] - n.padding[1] + j;
            if (x < 0 || x >= w) continue;
            const int64_t p = (y * w + x) * c;
            for (int64_t ch = 0; ch < c; ++ch) {
              const auto u = static_cast<std::size_t>(ch);
              if (!kMax)
                dimage[p + ch] += inv * dy[ch];
              else if (at[u] < 0 || image[p + ch] > best[u] || std::isnan(image[p + ch])) {
                best[u] = image[p + ch];
                at[u] = p + ch;
              }
            }
          }
        }
        if (kMax)
          for (int64_t ch = 0; ch < c; ++ch)
            if (at[static_cast<std::size_t>(ch)] >= 0) dimage[at[static_cast<std::size_t>(ch)]] += dy[ch];
      }
  }
}

void global_avg_pool_backward(const GradArgs& a) {
  const auto& s = a.graph.nodes[static_cast<std::size_t>(a.node.inputs.front())].shape;
  const int64_t c = s[0], hw = s[1] * s[2];
  for (int64_t r = 0; r < a.rows; ++r) {
    float* din = a.din0 + r * hw * c;
    const float* dy = a.dout + r * c;
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t ch = 0; ch < c; ++ch)
        din[p * c + ch] = (a.add0 ? din[p * c + ch] : 0.f) + dy[ch] / static_cast<float>(hw);
  }
}

}  // namespace

const OpKernels kMaxPoolKernels{window_pool<true>, window_pool_backward<true>, nullptr, nullptr, nullptr};
const OpKernels kAvgPoolKernels{window_pool<false>, window_pool_backward<false>, nullptr, nullptr, nullptr};
const OpKernels kGlobalAvgPoolKernels{global_avg_pool, global_avg_pool_backward, nullptr, nullptr, nullptr};

}  // namespace modeconn::cpu
