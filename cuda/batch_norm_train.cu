// BatchNorm as training runs it (graph_backward.cu): statistics of the batch or the running ones, the
// normalisation with the activation the plan fuses after it, and the backward. The arithmetic is the CPU
// backend's (host/backend/cpu/batch_norm.cpp): per channel in float, z = a·(x − μ) + b with μ = (float) mean,
// a = (float) (γ·inv), b = β, so both backends round alike. Maps are channels-last: [m values][c channels].
#include <cmath>

#include "graph_kernels.cuh"
#include "launch.cuh"

namespace modeconn::cuda {
namespace {

// PyTorch's BatchNorm default: running = (1 − momentum)·running + momentum·batch.
constexpr double kMomentum = 0.1;

__global__ void statistics_kernel(const double* __restrict__ d_sums, int64_t c, double count, double eps,
                                  bool train, float* __restrict__ d_running_mean,
                                  float* __restrict__ d_running_var, double* __restrict__ d_mean,
                                  double* __restrict__ d_inv) {
  for (int64_t ch = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; ch < c;
       ch += int64_t{gridDim.x} * blockDim.x) {
    double mean = d_running_mean[ch], var = d_running_var[ch];
    if (train) {
      mean = d_sums[ch] / count;
      var = fmax(0.0, d_sums[c + ch] / count - mean * mean);
      // The running statistics as PyTorch updates them: the variance unbiased (count − 1).
      const double unbiased = count > 1 ? var * count / (count - 1) : var;
      d_running_mean[ch] = static_cast<float>((1 - kMomentum) * d_running_mean[ch] + kMomentum * mean);
      d_running_var[ch] = static_cast<float>((1 - kMomentum) * d_running_var[ch] + kMomentum * unbiased);
    }
    d_mean[ch] = mean;
    d_inv[ch] = 1.0 / sqrt(var + eps);
  }
}

struct ChannelAffine {
  float mu, a, b;
};
__device__ ChannelAffine channel_affine_of(int64_t ch, const double* d_mean, const double* d_inv,
                                           const float* d_gamma, const float* d_beta) {
  return {static_cast<float>(d_mean[ch]),
          static_cast<float>((d_gamma ? static_cast<double>(d_gamma[ch]) : 1.0) * d_inv[ch]),
          d_beta ? d_beta[ch] : 0.f};
}

__global__ void normalise_kernel(const float* __restrict__ d_x, float* __restrict__ d_y, int64_t n, int64_t c,
                                 const double* __restrict__ d_mean, const double* __restrict__ d_inv,
                                 const float* __restrict__ d_gamma, const float* __restrict__ d_beta,
                                 Activation then) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const ChannelAffine k = channel_affine_of(i % c, d_mean, d_inv, d_gamma, d_beta);
    d_y[i] = modeconn::activate(then, (d_x[i] - k.mu) * k.a + k.b);
  }
}

// ∂z = ∂y·act'(z, y). ReLU-like activations and tanh/sigmoid read their derivative from y (z > 0 exactly
// where y > 0: the forward's own decision at a kink); the others recompute z from x.
__global__ void dz_kernel(const float* __restrict__ d_x, const float* __restrict__ d_y,
                          const float* __restrict__ d_dy, int64_t n, int64_t c,
                          const double* __restrict__ d_mean, const double* __restrict__ d_inv,
                          const float* __restrict__ d_gamma, const float* __restrict__ d_beta,
                          Activation then, float* __restrict__ d_dz) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    float dz = d_dy[i];
    if (then == Activation::relu || then == Activation::leaky_relu || then == Activation::tanh ||
        then == Activation::sigmoid) {
      dz *= activate_grad(then, d_y[i], d_y[i]);
    } else if (then != Activation::identity) {
      const ChannelAffine k = channel_affine_of(i % c, d_mean, d_inv, d_gamma, d_beta);
      dz *= activate_grad(then, k.a * (d_x[i] - k.mu) + k.b, d_y[i]);
    }
    d_dz[i] = dz;
  }
}

__global__ void input_grad_kernel(const float* __restrict__ d_x, const float* __restrict__ d_dz, int64_t n,
                                  int64_t c, const double* __restrict__ d_mean,
                                  const double* __restrict__ d_inv, const float* __restrict__ d_gamma,
                                  const double* __restrict__ d_sums, bool train, double count,
                                  float* __restrict__ d_dx, bool add) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = i % c;
    const ChannelAffine k = channel_affine_of(ch, d_mean, d_inv, d_gamma, nullptr);
    const float s = train ? static_cast<float>(d_sums[ch] / count) : 0.f;
    const float e =
        train
            ? static_cast<float>(static_cast<double>(k.a) * d_inv[ch] * (d_sums[c + ch] * d_inv[ch]) / count)
            : 0.f;
    const float g = k.a * (d_dz[i] - s) - e * (d_x[i] - k.mu);
    d_dx[i] = add ? d_dx[i] + g : g;
  }
}

__global__ void param_grad_kernel(const double* __restrict__ d_sums, const double* __restrict__ d_inv,
                                  int64_t c, float* __restrict__ d_dgamma, float* __restrict__ d_dbeta) {
  for (int64_t ch = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; ch < c;
       ch += int64_t{gridDim.x} * blockDim.x) {
    d_dgamma[ch] = static_cast<float>(d_sums[c + ch] * d_inv[ch]);
    d_dbeta[ch] = static_cast<float>(d_sums[ch]);
  }
}

}  // namespace

void batch_norm_statistics(const double* d_sums, int64_t c, double count, double eps, bool train,
                           float* d_running_mean, float* d_running_var, double* d_mean, double* d_inv,
                           cudaStream_t stream) {
  MODECONN_EXPECTS(c > 0 && count > 0, "batch_norm statistics shapes");
  launch(statistics_kernel, dim3(grid_for(c)), kBlock, 0, stream, d_sums, c, count, eps, train,
         d_running_mean, d_running_var, d_mean, d_inv);
}

void batch_norm_normalise(const float* d_x, float* d_y, int64_t m, int64_t c, const double* d_mean,
                          const double* d_inv, const float* d_gamma, const float* d_beta, Activation then,
                          cudaStream_t stream) {
  MODECONN_EXPECTS(m >= 0 && c > 0, "batch_norm shapes");
  if (m == 0) return;
  launch(normalise_kernel, dim3(grid_for(m * c)), kBlock, 0, stream, d_x, d_y, m * c, c, d_mean, d_inv,
         d_gamma, d_beta, then);
}

void batch_norm_dz(const float* d_x, const float* d_y, const float* d_dy, int64_t m, int64_t c,
                   const double* d_mean, const double* d_inv, const float* d_gamma, const float* d_beta,
                   Activation then, float* d_dz, cudaStream_t stream) {
  MODECONN_EXPECTS(m >= 0 && c > 0, "batch_norm backward shapes");
  if (m == 0) return;
  launch(dz_kernel, dim3(grid_for(m * c)), kBlock, 0, stream, d_x, d_y, d_dy, m * c, c, d_mean, d_inv,
         d_gamma, d_beta, then, d_dz);
}

void batch_norm_input_grad(const float* d_x, const float* d_dz, int64_t m, int64_t c, const double* d_mean,
                           const double* d_inv, const float* d_gamma, const double* d_sums, bool train,
                           double count, float* d_dx, bool add, cudaStream_t stream) {
  MODECONN_EXPECTS(m >= 0 && c > 0 && count > 0, "batch_norm backward shapes");
  if (m == 0) return;
  launch(input_grad_kernel, dim3(grid_for(m * c)), kBlock, 0, stream, d_x, d_dz, m * c, c, d_mean, d_inv,
         d_gamma, d_sums, train, count, d_dx, add);
}

void batch_norm_param_grad(const double* d_sums, const double* d_inv, int64_t c, float* d_dgamma,
                           float* d_dbeta, cudaStream_t stream) {
  MODECONN_EXPECTS(c > 0, "batch_norm parameter shapes");
  launch(param_grad_kernel, dim3(grid_for(c)), kBlock, 0, stream, d_sums, d_inv, c, d_dgamma, d_dbeta);
}

}  // namespace modeconn::cuda
