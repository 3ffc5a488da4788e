// Per-unit statistics of hidden activations, accumulated in float64 over row chunks: what activation matching
// and the symmetry report read.
#include "kernels.cuh"
#include "launch.cuh"

namespace modeconn::cuda {
namespace {

__global__ void widen_kernel(const float* __restrict__ d_in, double* __restrict__ d_out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    d_out[i] = static_cast<double>(d_in[i]);
}

// One thread per column walks its rows in order, so the sums do not depend on the launch shape; neighbouring
// threads read neighbouring columns of a row, which keeps the loads coalesced.
__global__ void column_stats_kernel(const double* __restrict__ d_h, int64_t rows, int64_t cols,
                                    double* __restrict__ d_sum, double* __restrict__ d_sq,
                                    double* __restrict__ d_max) {
  for (int64_t j = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; j < cols;
       j += int64_t{gridDim.x} * blockDim.x) {
    double sum = d_sum[j], sq = d_sq[j], mx = d_max[j];
    for (int64_t r = 0; r < rows; ++r) {
      const double v = d_h[r * cols + j];
      sum += v;
      sq += v * v;
      mx = fmax(mx, v);
    }
    d_sum[j] = sum;
    d_sq[j] = sq;
    d_max[j] = mx;
  }
}

}  // namespace

void widen(const float* d_in, double* d_out, int64_t n, cudaStream_t stream) {
  MODECONN_EXPECTS(n >= 0, "widen size");
  if (n == 0) return;
  launch(widen_kernel, grid_for(n), kBlock, 0, stream, d_in, d_out, n);
}

void column_stats(const double* d_h, int64_t rows, int64_t cols, double* d_sum, double* d_sq, double* d_max,
                  cudaStream_t stream) {
  MODECONN_EXPECTS(rows >= 0 && cols >= 0, "column_stats shape");
  if (rows == 0 || cols == 0) return;
  launch(column_stats_kernel, grid_for(cols), kBlock, 0, stream, d_h, rows, cols, d_sum, d_sq, d_max);
}

}  // namespace modeconn::cuda
