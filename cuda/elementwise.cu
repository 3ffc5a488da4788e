// Fused elementwise passes: bias + activation, the factorised first layer, row gathers.
#include "kernels.cuh"
#include "launch.cuh"

namespace modeconn::cuda {
namespace {

__global__ void bias_activation_kernel(float* __restrict__ d_z, int64_t batch, int64_t per_batch,
                                       int64_t cols, const float* __restrict__ d_bias, int64_t bias_stride,
                                       Activation act, bool activate) {
  for (int64_t b = blockIdx.y; b < batch; b += gridDim.y) {
    float* z = d_z + b * per_batch;
    const float* bias = d_bias + b * bias_stride;
    for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < per_batch;
         i += int64_t{gridDim.x} * blockDim.x) {
      const float v = z[i] + bias[i % cols];
      z[i] = activate ? modeconn::activate(act, v) : v;
    }
  }
}

__global__ void combine_kernel(const float* __restrict__ d_parts, int num_cp,
                               const double* __restrict__ d_coef, int64_t num_points, int64_t per_point,
                               int64_t cols, const float* __restrict__ d_bias, int64_t bias_stride,
                               Activation act, float* __restrict__ d_h) {
  for (int64_t p = blockIdx.y; p < num_points; p += gridDim.y) {
    const double* c = d_coef + p * num_cp;
    const float* bias = d_bias + p * bias_stride;
    for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < per_point;
         i += int64_t{gridDim.x} * blockDim.x) {
      float v = 0.f;
      for (int k = 0; k < num_cp; ++k) v += static_cast<float>(c[k]) * d_parts[k * per_point + i];
      d_h[p * per_point + i] = modeconn::activate(act, v + bias[i % cols]);
    }
  }
}

__global__ void gather_kernel(const float* __restrict__ d_x, int64_t cols, const int64_t* __restrict__ d_rows,
                              int64_t count, float* __restrict__ d_out) {
  const int64_t n = count * cols;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    d_out[i] = d_x[d_rows[i / cols] * cols + i % cols];
}

}  // namespace

void bias_activation(float* d_z, int64_t batch, int64_t rows, int64_t cols, const float* d_bias,
                     int64_t bias_stride, Activation act, bool activate, cudaStream_t stream) {
  MODECONN_EXPECTS(batch >= 0 && rows >= 0 && cols > 0, "bias_activation shapes");
  if (batch == 0 || rows == 0) return;
  launch(bias_activation_kernel, dim3(grid_for(rows * cols), blocks_for(batch)), kBlock, 0, stream, d_z,
         batch, rows * cols, cols, d_bias, bias_stride, act, activate);
}

void combine_bias_activation(const float* d_parts, int64_t num_cp, const double* d_coef, int64_t num_points,
                             int64_t rows, int64_t cols, const float* d_bias, int64_t bias_stride,
                             Activation act, float* d_h, cudaStream_t stream) {
  MODECONN_EXPECTS(num_cp > 0 && num_cp < (int64_t{1} << 31) && num_points >= 0 && rows >= 0 && cols > 0,
                   "combine shapes");
  if (num_points == 0 || rows == 0) return;
  launch(combine_kernel, dim3(grid_for(rows * cols), blocks_for(num_points)), kBlock, 0, stream, d_parts,
         static_cast<int>(num_cp), d_coef, num_points, rows * cols, cols, d_bias, bias_stride, act, d_h);
}

void gather_rows(const float* d_x, int64_t cols, const int64_t* d_rows, int64_t count, float* d_out,
                 cudaStream_t stream) {
  MODECONN_EXPECTS(cols > 0 && count >= 0, "gather shapes");
  if (count == 0) return;
  launch(gather_kernel, grid_for(count * cols), kBlock, 0, stream, d_x, cols, d_rows, count, d_out);
}

}  // namespace modeconn::cuda
