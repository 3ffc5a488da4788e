// The kernels of the graph executor's backward pass (graph_backward.cu) that are not GEMMs: the gradients of
// im2col, pooling, activations and sums. Each is a gather — one thread per element of the gradient it writes,
// summing what reaches that element in a fixed order — so no two threads write one element, no atomics are
// needed, and the result is the same on every run and grid. `add` adds to the gradient already there (an
// output read by two nodes: a residual stream) instead of writing it.
#include "graph_kernels.cuh"
#include "launch.cuh"

namespace modeconn::cuda {
namespace {

// The output positions o (0 ≤ o < count) whose window tap t lands on input coordinate v: v = o·stride −
// pad + t·dilation, so o = (v + pad − t·dilation) / stride when that divides; −1 otherwise.
__device__ int64_t source_of(int64_t v, int64_t t, int64_t stride, int64_t pad, int64_t dilation,
                             int64_t count) {
  const int64_t u = v + pad - t * dilation;
  if (u < 0 || u % stride != 0) return -1;
  const int64_t o = u / stride;
  return o < count ? o : -1;
}

__global__ void col2im_kernel(const float* __restrict__ d_patches, int64_t rows, Window g,
                              float* __restrict__ d_din, bool add) {
  const int64_t n = rows * g.h * g.w * g.c, k = g.kh * g.kw * g.c;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = i % g.c, pos = i / g.c;
    const int64_t r = pos / (g.h * g.w), yx = pos % (g.h * g.w), y = yx / g.w, x = yx % g.w;
    float s = add ? d_din[i] : 0.f;
    for (int64_t a = 0; a < g.kh; ++a) {
      const int64_t oy = source_of(y, a, g.sh, g.ph, g.dh, g.ho);
      if (oy < 0) continue;
      for (int64_t b = 0; b < g.kw; ++b) {
        const int64_t ox = source_of(x, b, g.sw, g.pw, g.dw, g.wo);
        if (ox < 0) continue;
        s += d_patches[((r * g.ho + oy) * g.wo + ox) * k + (a * g.kw + b) * g.c + c];
      }
    }
    d_din[i] = s;
  }
}

// The input position (y·w + x) a max window takes: its first largest value in scan order, a NaN winning as
// in the forward (PyTorch's choice among ties, which ReLU's zeros make common); −1 for a window of padding
// alone.
__device__ int64_t window_argmax(const float* __restrict__ image, const Window& g, int64_t oy, int64_t ox,
                                 int64_t c) {
  float best = -INFINITY;
  int64_t at = -1;
  for (int64_t a = 0; a < g.kh; ++a) {
    const int64_t y = oy * g.sh - g.ph + a;
    if (y < 0 || y >= g.h) continue;
    for (int64_t b = 0; b < g.kw; ++b) {
      const int64_t x = ox * g.sw - g.pw + b;
      if (x < 0 || x >= g.w) continue;
      const float v = image[(y * g.w + x) * g.c + c];
      if (at < 0 || v > best || isnan(v)) {
        best = v;
        at = y * g.w + x;
      }
    }
  }
  return at;
}

// Pooling windows have no dilation; every window holding input (y, x) passes it its share: the whole
// gradient if it is the window's maximum (max), 1/(kh·kw) of it (average, padding counted).
__global__ void window_pool_backward_kernel(const float* __restrict__ d_in, const float* __restrict__ d_dout,
                                            int64_t rows, Window g, bool max, float* __restrict__ d_din,
                                            bool add) {
  const int64_t n = rows * g.h * g.w * g.c;
  const float inv = 1.f / static_cast<float>(g.kh * g.kw);
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = i % g.c, pos = i / g.c;
    const int64_t r = pos / (g.h * g.w), yx = pos % (g.h * g.w), y = yx / g.w, x = yx % g.w;
    const float* image = d_in + r * g.h * g.w * g.c;
    float s = add ? d_din[i] : 0.f;
    for (int64_t a = 0; a < g.kh; ++a) {
      const int64_t oy = source_of(y, a, g.sh, g.ph, 1, g.ho);
      if (oy < 0) continue;
      for (int64_t b = 0; b < g.kw; ++b) {
        const int64_t ox = source_of(x, b, g.sw, g.pw, 1, g.wo);
        if (ox < 0) continue;
        const float dy = d_dout[((r * g.ho + oy) * g.wo + ox) * g.c + c];
        if (!max)
          s += inv * dy;
        else if (window_argmax(image, g, oy, ox, c) == yx)
          s += dy;
      }
    }
    d_din[i] = s;
  }
}

__global__ void global_avg_pool_backward_kernel(const float* __restrict__ d_dout, int64_t rows,
                                                int64_t positions, int64_t channels,
                                                float* __restrict__ d_din, bool add) {
  const int64_t n = rows * positions * channels;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = i % channels, r = i / (positions * channels);
    d_din[i] = (add ? d_din[i] : 0.f) + d_dout[r * channels + c] / static_cast<float>(positions);
  }
}

__global__ void activation_grad_kernel(const float* __restrict__ d_x, const float* __restrict__ d_y,
                                       const float* __restrict__ d_dy, int64_t n, Activation act,
                                       float* __restrict__ d_dx, bool add) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const float g = d_dy[i] * activate_grad(act, d_x[i], d_y[i]);
    d_dx[i] = add ? d_dx[i] + g : g;
  }
}

__global__ void accumulate_kernel(const float* __restrict__ d_src, float* __restrict__ d_dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    d_dst[i] += d_src[i];
}

}  // namespace

void col2im(const float* d_patches, int64_t rows, const Window& g, float* d_din, bool add,
            cudaStream_t stream) {
  MODECONN_EXPECTS(rows >= 0 && g.c > 0 && g.h > 0 && g.w > 0 && g.sh > 0 && g.sw > 0, "col2im shapes");
  if (rows == 0) return;
  launch(col2im_kernel, dim3(grid_for(rows * g.h * g.w * g.c)), kBlock, 0, stream, d_patches, rows, g, d_din,
         add);
}

void window_pool_backward(const float* d_in, const float* d_dout, int64_t rows, const Window& g, bool max,
                          float* d_din, bool add, cudaStream_t stream) {
  MODECONN_EXPECTS(rows >= 0 && g.c > 0 && g.h > 0 && g.w > 0 && g.sh > 0 && g.sw > 0,
                   "pool backward shapes");
  if (rows == 0) return;
  launch(window_pool_backward_kernel, dim3(grid_for(rows * g.h * g.w * g.c)), kBlock, 0, stream, d_in, d_dout,
         rows, g, max, d_din, add);
}

void global_avg_pool_backward(const float* d_dout, int64_t rows, int64_t positions, int64_t channels,
                              float* d_din, bool add, cudaStream_t stream) {
  MODECONN_EXPECTS(rows >= 0 && positions > 0 && channels > 0, "global_avg_pool backward shapes");
  if (rows == 0) return;
  launch(global_avg_pool_backward_kernel, dim3(grid_for(rows * positions * channels)), kBlock, 0, stream,
         d_dout, rows, positions, channels, d_din, add);
}

void activation_grad(const float* d_x, const float* d_y, const float* d_dy, int64_t n, Activation act,
                     float* d_dx, bool add, cudaStream_t stream) {
  MODECONN_EXPECTS(n >= 0, "activation backward shapes");
  if (n == 0) return;
  launch(activation_grad_kernel, dim3(grid_for(n)), kBlock, 0, stream, d_x, d_y, d_dy, n, act, d_dx, add);
}

void accumulate(const float* d_src, float* d_dst, int64_t n, bool add, cudaStream_t stream) {
  MODECONN_EXPECTS(n >= 0 && d_src != d_dst, "accumulate shapes");
  if (n == 0) return;
  if (add)
    launch(accumulate_kernel, dim3(grid_for(n)), kBlock, 0, stream, d_src, d_dst, n);
  else
    MODECONN_CUDA_CHECK(cudaMemcpyAsync(d_dst, d_src, static_cast<std::size_t>(n) * sizeof(float),
                                        cudaMemcpyDeviceToDevice, stream));
}

}  // namespace modeconn::cuda
