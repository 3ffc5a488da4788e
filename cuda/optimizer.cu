// The optimizers' update rules on the device, written as the host's (host/train/optimizer.cpp) with every
// operation rounded as the host rounds it (no fused multiply-adds), so both backends take the same steps.
#include <cmath>

#include "kernels.cuh"
#include "launch.cuh"

namespace modeconn::cuda {
namespace {

__global__ void optimizer_kernel(float* d_theta, float* __restrict__ d_m1, float* __restrict__ d_m2,
                                 const float* __restrict__ d_g, const float* d_decay_at, float c, int64_t n,
                                 OptimizerStep o) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    // g_k = c·g + wd·(c·φ): the host forms c·g and c·φ first, then adds the decay.
    const float gi = __fadd_rn(__fmul_rn(c, d_g[i]), __fmul_rn(o.weight_decay, __fmul_rn(c, d_decay_at[i])));
    if (!o.adam) {
      const float m = o.first ? gi : __fadd_rn(__fmul_rn(o.momentum, d_m1[i]), gi);
      d_m1[i] = m;
      d_theta[i] = __fsub_rn(d_theta[i], __fmul_rn(o.lr, m));
      continue;
    }
    const float m1 = __fadd_rn(__fmul_rn(o.beta1, d_m1[i]), __fmul_rn(__fsub_rn(1.f, o.beta1), gi));
    const float m2 =
        __fadd_rn(__fmul_rn(o.beta2, d_m2[i]), __fmul_rn(__fmul_rn(__fsub_rn(1.f, o.beta2), gi), gi));
    d_m1[i] = m1;
    d_m2[i] = m2;
    const float denom = __fadd_rn(__fsqrt_rn(__fdiv_rn(m2, o.correction2)), o.eps);
    d_theta[i] = __fsub_rn(d_theta[i], __fdiv_rn(__fmul_rn(o.lr, __fdiv_rn(m1, o.correction1)), denom));
  }
}

}  // namespace

OptimizerStep optimizer_step_at(const TrainOptions& options, long long t) {
  OptimizerStep o;
  o.adam = options.optimizer == Optimizer::adam;
  o.first = t == 1;
  o.lr = static_cast<float>(options.lr);
  o.momentum = static_cast<float>(options.momentum);
  o.beta1 = static_cast<float>(options.beta1);
  o.beta2 = static_cast<float>(options.beta2);
  o.eps = static_cast<float>(options.eps);
  o.weight_decay = static_cast<float>(options.weight_decay);
  o.correction1 = static_cast<float>(1.0 - std::pow(options.beta1, static_cast<double>(t)));
  o.correction2 = static_cast<float>(1.0 - std::pow(options.beta2, static_cast<double>(t)));
  return o;
}

void optimizer_step(float* d_theta, float* d_m1, float* d_m2, const float* d_g, const float* d_decay_at,
                    float c, int64_t n, const OptimizerStep& o, cudaStream_t stream) {
  MODECONN_EXPECTS(n >= 0 && (!o.adam || d_m2 != nullptr), "optimizer step shapes");
  if (n == 0) return;
  launch(optimizer_kernel, grid_for(n), kBlock, 0, stream, d_theta, d_m1, d_m2, d_g, d_decay_at, c, n, o);
}

}  // namespace modeconn::cuda
