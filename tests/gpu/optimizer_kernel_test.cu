// The device's update kernel against the host optimizer, bit for bit over many steps: both round every
// operation the same way, so any difference (a term in the wrong place, weight decay measured at the wrong
// point) shows.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "context.cuh"
#include "device_buffer.cuh"
#include "gpu/gpu_environment.hpp"
#include "kernels.cuh"
#include "modeconn/rng.hpp"
#include "train/optimizer.hpp"

namespace modeconn {
namespace {

class OptimizerKernel : public test::GpuTest {};

std::vector<float> random_vector(std::size_t n, Rng& rng, double scale) {
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>((2 * rng.uniform() - 1) * scale);
  return v;
}

// `steps` updates of n parameters by the host optimizer and by the kernel, with fresh gradients each step.
// A model (curve = false) decays at its own parameters with c = 1; a curve's control point gets c·g and
// decays at c·φ for a φ that moves every step.
void expect_identical_steps(const TrainOptions& options, bool curve, int steps) {
  const std::size_t n = 1237;
  Rng rng(curve ? 31 : 32);
  std::vector<float> host = random_vector(n, rng, 1.0);
  cuda::Context ctx(0, false);
  const cudaStream_t s = ctx.stream();
  cuda::DeviceBuffer<float> theta(n), m1(n), m2(n), g(n), phi(n);
  theta.upload(host.data(), n, s);
  m1.fill_bytes(0, s);
  m2.fill_bytes(0, s);
  OptimizerState state(options, n);
  for (int t = 1; t <= steps; ++t) {
    const std::vector<float> grad = random_vector(n, rng, 0.1), at = random_vector(n, rng, 1.0);
    const float c = curve ? static_cast<float>(0.2 + 0.6 * rng.uniform()) : 1.f;
    std::vector<float> host_grad(n), host_decay(n);
    for (std::size_t i = 0; i < n; ++i) {
      host_grad[i] = curve ? c * grad[i] : grad[i];
      host_decay[i] = curve ? c * at[i] : host[i];
    }
    state.step(host, host_grad, host_decay);

    g.upload(grad.data(), n, s);
    phi.upload(at.data(), n, s);
    const cuda::OptimizerStep o = cuda::optimizer_step_at(options, t);
    cuda::optimizer_step(theta.data(), m1.data(), o.adam ? m2.data() : nullptr, g.data(),
                         curve ? phi.data() : theta.data(), c, static_cast<int64_t>(n), o, s);
  }
  std::vector<float> device(n);
  theta.download(device.data(), n, s);
  ctx.synchronize();
  for (std::size_t i = 0; i < n; ++i) {
    uint32_t a, b;
    std::memcpy(&a, &device[i], sizeof a);
    std::memcpy(&b, &host[i], sizeof b);
    ASSERT_EQ(a, b) << "parameter " << i << ": device " << device[i] << ", host " << host[i];
  }
}

TEST_F(OptimizerKernel, SgdWithMomentumAndWeightDecayIsTheHostsBitForBit) {
  TrainOptions o;
  o.lr = 0.05;
  o.momentum = 0.9;
  o.weight_decay = 0.01;
  EXPECT_NO_FATAL_FAILURE(expect_identical_steps(o, false, 40));
  EXPECT_NO_FATAL_FAILURE(expect_identical_steps(o, true, 40));
}

TEST_F(OptimizerKernel, AdamWithWeightDecayIsTheHostsBitForBit) {
  TrainOptions o;
  o.optimizer = Optimizer::adam;
  o.lr = 0.003;
  o.weight_decay = 0.02;
  EXPECT_NO_FATAL_FAILURE(expect_identical_steps(o, false, 40));
  EXPECT_NO_FATAL_FAILURE(expect_identical_steps(o, true, 40));
}

}  // namespace
}  // namespace modeconn
