// MODECONN_HD math evaluated in a kernel against the same functions on the host.
#include <gtest/gtest.h>

#include <vector>

#include "gpu/gpu_environment.hpp"
#include "launch.cuh"
#include "modeconn/activation.hpp"
#include "modeconn/path.hpp"

namespace modeconn {
namespace {

constexpr int kBlock = 128;

__global__ void activation_kernel(Activation act, const float* __restrict__ d_x, float* __restrict__ d_y,
                                  float* __restrict__ d_g, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  d_y[i] = activate(act, d_x[i]);
  d_g[i] = activate_grad(act, d_x[i], d_y[i]);
}

__global__ void bernstein_kernel(double t, int order, double* __restrict__ d_out) {
  const int k = threadIdx.x;
  if (k <= order) d_out[k] = bernstein(k, order, t);
}

class HdMath : public test::GpuTest {};

TEST_F(HdMath, ActivationsAgreeOnHostAndDevice) {
  std::vector<float> x;
  for (int i = -400; i <= 400; ++i) x.push_back(static_cast<float>(i) * 0.07f);
  x.push_back(25.f);  // softplus above its threshold
  const int n = static_cast<int>(x.size());
  float *d_x, *d_y, *d_g;
  ASSERT_EQ(cudaMalloc(&d_x, n * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&d_y, n * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&d_g, n * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(d_x, x.data(), n * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  for (Activation act : {Activation::relu, Activation::leaky_relu, Activation::tanh, Activation::sigmoid,
                         Activation::gelu, Activation::softplus, Activation::identity}) {
    ASSERT_NO_THROW(cuda::launch(activation_kernel, (n + kBlock - 1) / kBlock, kBlock, 0, nullptr, act, d_x,
                                 d_y, d_g, n));
    std::vector<float> y(n), g(n);
    ASSERT_EQ(cudaMemcpy(y.data(), d_y, n * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(g.data(), d_g, n * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
    for (int i = 0; i < n; ++i) {
      const float hy = activate(act, x[i]);
      EXPECT_NEAR(y[i], hy, 2e-6f * (1.f + std::abs(hy))) << activation_name(act) << " at " << x[i];
      EXPECT_NEAR(g[i], activate_grad(act, x[i], hy), 2e-6f) << activation_name(act) << " at " << x[i];
    }
  }
  cudaFree(d_x);
  cudaFree(d_y);
  cudaFree(d_g);
}

TEST_F(HdMath, BernsteinAgreesOnHostAndDevice) {
  double* d_out;
  ASSERT_EQ(cudaMalloc(&d_out, 8 * sizeof(double)), cudaSuccess);
  ASSERT_NO_THROW(cuda::launch(bernstein_kernel, 1, 8, 0, nullptr, 0.3, 5, d_out));
  double out[8];
  ASSERT_EQ(cudaMemcpy(out, d_out, 6 * sizeof(double), cudaMemcpyDeviceToHost), cudaSuccess);
  for (int k = 0; k <= 5; ++k) EXPECT_NEAR(out[k], bernstein(k, 5, 0.3), 1e-15) << k;
  cudaFree(d_out);
}

}  // namespace
}  // namespace modeconn
