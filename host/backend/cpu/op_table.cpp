// The table of the CPU backend's graph ops, indexed by the op enum.
#include "backend/cpu/op_table.hpp"

#include <array>
#include <vector>

#include "backend/cpu_ops.hpp"

namespace modeconn::cpu {

void finish_affine(const OpArgs& a, int64_t rows, int64_t cols) {
  const bool activate = a.then != Activation::identity;
  if (a.bias)
    bias_activation(a.out, rows, cols, a.bias, a.then, activate);
  else if (activate)
    apply_activation(a.out, rows * cols, a.then);
}

void column_sums(const float* x, int64_t rows, int64_t cols, float* sums) {
  std::vector<double> s(static_cast<std::size_t>(cols), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) s[static_cast<std::size_t>(j)] += x[r * cols + j];
  for (int64_t j = 0; j < cols; ++j) sums[j] += static_cast<float>(s[static_cast<std::size_t>(j)]);
}

const OpKernels& op_kernels(Op op) {
  static const std::array<const OpKernels*, kNumOps> table = [] {
    std::array<const OpKernels*, kNumOps> t{};
    t[static_cast<std::size_t>(Op::input)] = &kInputKernels;
    t[static_cast<std::size_t>(Op::linear)] = &kLinearKernels;
    t[static_cast<std::size_t>(Op::conv2d)] = &kConv2dKernels;
    t[static_cast<std::size_t>(Op::batch_norm)] = &kBatchNormKernels;
    t[static_cast<std::size_t>(Op::activation)] = &kActivationKernels;
    t[static_cast<std::size_t>(Op::max_pool2d)] = &kMaxPoolKernels;
    t[static_cast<std::size_t>(Op::avg_pool2d)] = &kAvgPoolKernels;
    t[static_cast<std::size_t>(Op::global_avg_pool)] = &kGlobalAvgPoolKernels;
    t[static_cast<std::size_t>(Op::flatten)] = &kFlattenKernels;
    t[static_cast<std::size_t>(Op::add)] = &kAddKernels;
    return t;
  }();
  return *table[static_cast<std::size_t>(op)];
}

}  // namespace modeconn::cpu
