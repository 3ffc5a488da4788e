// The graph executor's kernels: grid-stride loops over output elements, one thread per element.
#include "graph_kernels.cuh"
#include "launch.cuh"

namespace modeconn::cuda {
namespace {

__global__ void transpose_kernel(const float* __restrict__ d_in, float* __restrict__ d_out, int64_t rows,
                                 int64_t channels, int64_t positions, bool to_channels_last) {
  const int64_t n = rows * channels * positions;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i / (channels * positions), rest = i % (channels * positions);
    // i indexes the output.
    if (to_channels_last) {
      const int64_t p = rest / channels, c = rest % channels;
      d_out[i] = d_in[(r * channels + c) * positions + p];
    } else {
      const int64_t c = rest / positions, p = rest % positions;
      d_out[i] = d_in[(r * positions + p) * channels + c];
    }
  }
}

__global__ void im2col_kernel(const float* __restrict__ d_in, int64_t rows, Window g,
                              float* __restrict__ d_out) {
  const int64_t k = g.kh * g.kw * g.c;
  const int64_t n = rows * g.ho * g.wo * k;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t pos = i / k, tap = i % k;
    const int64_t c = tap % g.c, ij = tap / g.c, a = ij / g.kw, b = ij % g.kw;
    const int64_t r = pos / (g.ho * g.wo), o = pos % (g.ho * g.wo), oy = o / g.wo, ox = o % g.wo;
    const int64_t y = oy * g.sh - g.ph + a * g.dh, x = ox * g.sw - g.pw + b * g.dw;
    d_out[i] = (y < 0 || y >= g.h || x < 0 || x >= g.w) ? 0.f : d_in[((r * g.h + y) * g.w + x) * g.c + c];
  }
}

__global__ void channel_affine_kernel(const float* d_x, float* d_y, int64_t total, int64_t n,
                                      int64_t channels, const float* __restrict__ d_scale,
                                      const float* __restrict__ d_shift, int64_t param_stride,
                                      Activation act) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = (i / n) * param_stride + i % channels;  // n is a multiple of channels
    d_y[i] = modeconn::activate(act, d_scale[c] * d_x[i] + d_shift[c]);
  }
}

__global__ void activation_kernel(const float* d_x, float* d_y, int64_t n, Activation act) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    d_y[i] = modeconn::activate(act, d_x[i]);
}

__global__ void window_pool_kernel(const float* __restrict__ d_in, int64_t rows, Window g, bool max,
                                   float* __restrict__ d_out) {
  const int64_t n = rows * g.ho * g.wo * g.c;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = i % g.c, pos = i / g.c;
    const int64_t r = pos / (g.ho * g.wo), o = pos % (g.ho * g.wo), oy = o / g.wo, ox = o % g.wo;
    float v = max ? -INFINITY : 0.f;
    for (int64_t a = 0; a < g.kh; ++a) {
      const int64_t y = oy * g.sh - g.ph + a;
      if (y < 0 || y >= g.h) continue;
      for (int64_t b = 0; b < g.kw; ++b) {
        const int64_t x = ox * g.sw - g.pw + b;
        if (x < 0 || x >= g.w) continue;
        const float u = d_in[((r * g.h + y) * g.w + x) * g.c + c];
        v = max ? fmaxf(v, u) : v + u;
      }
    }
    d_out[i] = max ? v : v * (1.f / static_cast<float>(g.kh * g.kw));
  }
}

__global__ void global_avg_pool_kernel(const float* __restrict__ d_in, int64_t rows, int64_t positions,
                                       int64_t channels, float* __restrict__ d_out) {
  const int64_t n = rows * channels;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i / channels, c = i % channels;
    float v = 0.f;
    for (int64_t p = 0; p < positions; ++p) v += d_in[(r * positions + p) * channels + c];
    d_out[i] = v / static_cast<float>(positions);
  }
}

__global__ void add_kernel(const float* d_a, const float* d_b, float* d_out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    d_out[i] = d_a[i] + d_b[i];
}

}  // namespace

void transpose_channels(const float* d_in, float* d_out, int64_t rows, int64_t channels, int64_t positions,
                        bool to_channels_last, cudaStream_t stream) {
  MODECONN_EXPECTS(rows >= 0 && channels > 0 && positions > 0 && d_in != d_out, "transpose shapes");
  if (rows == 0) return;
  launch(transpose_kernel, dim3(grid_for(rows * channels * positions)), kBlock, 0, stream, d_in, d_out, rows,
         channels, positions, to_channels_last);
}

void im2col(const float* d_in, int64_t rows, const Window& g, float* d_patches, cudaStream_t stream) {
  MODECONN_EXPECTS(rows >= 0 && g.c > 0 && g.ho > 0 && g.wo > 0, "im2col shapes");
  if (rows == 0) return;
  launch(im2col_kernel, dim3(grid_for(rows * g.ho * g.wo * g.kh * g.kw * g.c)), kBlock, 0, stream, d_in, rows,
         g, d_patches);
}

void channel_affine(const float* d_x, float* d_y, int64_t batch, int64_t n, int64_t channels,
                    const float* d_scale, const float* d_shift, int64_t param_stride, Activation act,
                    cudaStream_t stream) {
  MODECONN_EXPECTS(batch >= 0 && n >= 0 && channels > 0 && n % channels == 0 && param_stride >= 0,
                   "channel_affine shapes");
  if (batch == 0 || n == 0) return;
  launch(channel_affine_kernel, dim3(grid_for(batch * n)), kBlock, 0, stream, d_x, d_y, batch * n, n,
         channels, d_scale, d_shift, param_stride, act);
}

void activation_forward(const float* d_x, float* d_y, int64_t n, Activation act, cudaStream_t stream) {
  MODECONN_EXPECTS(n >= 0, "activation shapes");
  if (n == 0) return;
  launch(activation_kernel, dim3(grid_for(n)), kBlock, 0, stream, d_x, d_y, n, act);
}

void window_pool(const float* d_in, int64_t rows, const Window& g, bool max, float* d_out,
                 cudaStream_t stream) {
  MODECONN_EXPECTS(rows >= 0 && g.c > 0 && g.ho > 0 && g.wo > 0, "pool shapes");
  if (rows == 0) return;
  launch(window_pool_kernel, dim3(grid_for(rows * g.ho * g.wo * g.c)), kBlock, 0, stream, d_in, rows, g, max,
         d_out);
}

void global_avg_pool(const float* d_in, int64_t rows, int64_t positions, int64_t channels, float* d_out,
                     cudaStream_t stream) {
  MODECONN_EXPECTS(rows >= 0 && positions > 0 && channels > 0, "global_avg_pool shapes");
  if (rows == 0) return;
  launch(global_avg_pool_kernel, dim3(grid_for(rows * channels)), kBlock, 0, stream, d_in, rows, positions,
         channels, d_out);
}

void add(const float* d_a, const float* d_b, float* d_out, int64_t n, cudaStream_t stream) {
  MODECONN_EXPECTS(n >= 0, "add shapes");
  if (n == 0) return;
  launch(add_kernel, dim3(grid_for(n)), kBlock, 0, stream, d_a, d_b, d_out, n);
}

}  // namespace modeconn::cuda
