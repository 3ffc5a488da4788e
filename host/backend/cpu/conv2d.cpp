// Convolution as im2col + SGEMM over every output position of a block of rows at once: the patches
// [rows·Ho·Wo, kh·kw·C] (channels-last, so each kernel tap copies C contiguous floats) times the weights
// prepared as [out, kh·kw·C]. A 1×1 convolution with stride 1 and no padding reads its input directly.
// Backward over the same patches: ∂W += ∂Yᵀ·patches, and ∂X from ∂patches = ∂Y·W scattered back to the
// positions each patch copied (col2im).
#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "backend/cpu/conv2d_direct.hpp"
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
  if (is_pointwise(n) || direct_conv_forward_fits(conv_shape(g, n))) return 0;
  const int64_t c = g.nodes[static_cast<std::size_t>(n.inputs.front())].shape[0];
  return n.shape[1] * n.shape[2] * n.kernel[0] * n.kernel[1] * c;
}

// Copies c floats, or zeroes them: below a few cache lines a library call per tap costs more than the copy
// (one input channel, a stem, makes a tap a single float; eight channels, 32 bytes).
inline void copy_tap(const float* src, int64_t c, float* dst) {
  switch (c) {  // the common widths of small networks as fixed-size moves
    case 8:
      std::memcpy(dst, src, 8 * sizeof(float));
      return;
    case 16:
      std::memcpy(dst, src, 16 * sizeof(float));
      return;
    case 32:
      std::memcpy(dst, src, 32 * sizeof(float));
      return;
    default:
      break;
  }
  if (c >= 64)
    std::copy_n(src, c, dst);
  else
    for (int64_t q = 0; q < c; ++q) dst[q] = src[q];
}
inline void zero_tap(int64_t c, float* dst) {
  if (c >= 64)
    std::fill_n(dst, c, 0.f);
  else
    for (int64_t q = 0; q < c; ++q) dst[q] = 0.f;
}

// First output column whose tap j reads inside the row, and one past the last: the padding's columns are
// known in advance, so the copy loop carries no bounds test.
std::pair<int64_t, int64_t> inside_columns(int64_t j, const Node& n, int64_t w, int64_t wo) {
  const int64_t offset = j * n.dilation[1] - n.padding[1], sx = n.stride[1];  // x = ox·sx + offset
  const int64_t lo = offset >= 0 ? 0 : (-offset + sx - 1) / sx;
  const int64_t hi = w - 1 - offset < 0 ? 0 : (w - 1 - offset) / sx + 1;
  return {std::min(lo, wo), std::clamp<int64_t>(hi, std::min(lo, wo), wo)};
}

// Patches [rows·Ho·Wo, kh·kw·C]. Tap by tap over a whole output row: each tap's slot is written for every
// output column in one loop, the columns that read padding zeroed apart from those that copy. With one input
// channel (a stem) the patches are written transposed instead, [kh·kw, rows·Ho·Wo], so that each tap's row is
// written contiguously; the SGEMM then reads them as Aᵀ.
void im2col(const Graph& g, const Node& n, const float* in, int64_t rows, float* patches) {
  const auto& s = g.nodes[static_cast<std::size_t>(n.inputs.front())].shape;
  const int64_t c = s[0], h = s[1], w = s[2], ho = n.shape[1], wo = n.shape[2];
  const int64_t kh = n.kernel[0], kw = n.kernel[1], k = kh * kw * c, sx = n.stride[1];
  const int64_t m = rows * ho * wo;
  for (int64_t r = 0; r < rows; ++r) {
    const float* image = in + r * h * w * c;
    for (int64_t oy = 0; oy < ho; ++oy) {
      const int64_t pos0 = (r * ho + oy) * wo;  // the first output position of this row
      for (int64_t i = 0; i < kh; ++i) {
        const int64_t y = oy * n.stride[0] - n.padding[0] + i * n.dilation[0];
        for (int64_t j = 0; j < kw; ++j) {
          const int64_t t = i * kw + j;
          const auto [lo, hi] =
              y < 0 || y >= h ? std::pair<int64_t, int64_t>{wo, wo} : inside_columns(j, n, w, wo);
          const int64_t x0 =
              j * n.dilation[1] - n.padding[1];  // input column of output column ox: ox·sx + x0
          if (c == 1) {
            float* dst = patches + t * m + pos0;
            std::fill(dst, dst + lo, 0.f);
            for (int64_t ox = lo; ox < hi; ++ox) dst[ox] = image[y * w + ox * sx + x0];
            std::fill(dst + hi, dst + wo, 0.f);
          } else {
            float* dst = patches + pos0 * k + t * c;
            for (int64_t ox = 0; ox < lo; ++ox) zero_tap(c, dst + ox * k);
            for (int64_t ox = lo; ox < hi; ++ox)
              copy_tap(image + (y * w + ox * sx + x0) * c, c, dst + ox * k);
            for (int64_t ox = hi; ox < wo; ++ox) zero_tap(c, dst + ox * k);
          }
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
  if (const ConvShape s = conv_shape(a.graph, n); direct_conv_forward_fits(s)) {
    direct_conv_forward(s, a.in0, a.rows, a.weight, a.out);
  } else if (is_pointwise(n)) {
    gemm(a.rows * per_row, n.out, k, 1.f, a.in0, false, a.weight, true, 0.f, a.out);
  } else {
    // A few rows at a time, so that the patches the SGEMM reads are still in cache from being written.
    const int64_t step = std::max<int64_t>(1, kPatchFloats / (per_row * k));
    for (int64_t r = 0; r < a.rows; r += step) {
      const int64_t rows = std::min(step, a.rows - r);
      im2col(a.graph, n, a.in0 + r * in_size, rows, a.scratch);
      gemm(rows * per_row, n.out, k, 1.f, a.scratch, in_shape[0] == 1, a.weight, true, 0.f,
           a.out + r * per_row * n.out);
    }
  }
  finish_affine(a, a.rows * per_row, n.out);
}

// Adds ∂patches [rows·Ho·Wo, kh·kw·C] (never transposed) into ∂X at the positions im2col copied from; taps
// that read padding had no source.
void col2im_add(const Graph& g, const Node& n, const float* dpatches, int64_t rows, float* dx) {
  const auto& s = g.nodes[static_cast<std::size_t>(n.inputs.front())].shape;
  const int64_t c = s[0], h = s[1], w = s[2], ho = n.shape[1], wo = n.shape[2];
  const int64_t kh = n.kernel[0], kw = n.kernel[1], k = kh * kw * c, sx = n.stride[1];
  for (int64_t r = 0; r < rows; ++r) {
    float* image = dx + r * h * w * c;
    for (int64_t oy = 0; oy < ho; ++oy) {
      const int64_t pos0 = (r * ho + oy) * wo;
      for (int64_t i = 0; i < kh; ++i) {
        const int64_t y = oy * n.stride[0] - n.padding[0] + i * n.dilation[0];
        if (y < 0 || y >= h) continue;
        for (int64_t j = 0; j < kw; ++j) {
          const auto [lo, hi] = inside_columns(j, n, w, wo);
          const int64_t x0 = j * n.dilation[1] - n.padding[1];
          const float* src = dpatches + pos0 * k + (i * kw + j) * c;
          for (int64_t ox = lo; ox < hi; ++ox) {
            float* to = image + (y * w + ox * sx + x0) * c;
            const float* from = src + ox * k;
            for (int64_t q = 0; q < c; ++q) to[q] += from[q];
          }
        }
      }
    }
  }
}

void conv_backward(const GradArgs& a) {
  const Node& n = a.node;
  const auto& in_shape = a.graph.nodes[static_cast<std::size_t>(n.inputs.front())].shape;
  const int64_t in_size = in_shape[0] * in_shape[1] * in_shape[2];
  const int64_t per_row = n.shape[1] * n.shape[2];
  const int64_t k = n.kernel[0] * n.kernel[1] * in_shape[0];
  if (a.dbias) column_sums(a.dout, a.rows * per_row, n.out, a.dbias);
  // The direct kernels take the parts whose channel counts suit them; the rest go through GEMMs.
  const ConvShape s = conv_shape(a.graph, n);
  bool weight_done = false, input_done = !a.din0;
  if (direct_conv_weight_grad_fits(s)) {
    direct_conv_weight_grad(s, a.in0, a.dout, a.rows, a.dweight);
    weight_done = true;
  }
  if (!input_done && direct_conv_input_grad_fits(s)) {
    direct_conv_input_grad(s, a.dout, a.rows, a.weight, a.din0, a.add0);
    input_done = true;
  }
  if (weight_done && input_done) return;
  if (is_pointwise(n)) {
    if (!weight_done) gemm(n.out, k, a.rows * per_row, 1.f, a.dout, true, a.in0, false, 1.f, a.dweight);
    if (!input_done)
      gemm(a.rows * per_row, k, n.out, 1.f, a.dout, false, a.weight, false, a.add0 ? 1.f : 0.f, a.din0);
    return;
  }
  if (!input_done && !a.add0) std::fill(a.din0, a.din0 + a.rows * in_size, 0.f);  // col2im scatters by adding
  const int64_t step = std::max<int64_t>(1, kPatchFloats / (per_row * k));
  // Written before they are read: not zeroed.
  const auto patches =
      std::make_unique_for_overwrite<float[]>(weight_done ? 0 : static_cast<std::size_t>(step * per_row * k));
  const auto dpatches =
      std::make_unique_for_overwrite<float[]>(input_done ? 0 : static_cast<std::size_t>(step * per_row * k));
  for (int64_t r = 0; r < a.rows; r += step) {
    const int64_t rows = std::min(step, a.rows - r), m = rows * per_row;
    const float* dy = a.dout + r * per_row * n.out;
    if (!weight_done) {
      im2col(a.graph, n, a.in0 + r * in_size, rows, patches.get());
      // One input channel: im2col wrote the patches transposed, [k, m].
      gemm(n.out, k, m, 1.f, dy, true, patches.get(), in_shape[0] == 1, 1.f, a.dweight);
    }
    if (!input_done) {
      gemm(m, k, n.out, 1.f, dy, false, a.weight, false, 0.f, dpatches.get());
      col2im_add(a.graph, n, dpatches.get(), rows, a.din0 + r * in_size);
    }
  }
}

}  // namespace

const OpKernels kConv2dKernels{conv_forward, conv_backward, nullptr, conv_scratch, conv_weight_channels_last};

}  // namespace modeconn::cpu
