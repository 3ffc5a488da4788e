// BatchNorm in inference form: per channel y = scale·x + shift, the executor having folded the weight, bias
// and the statistics of the chosen --bn mode into scale and shift; with an activation fused after it (the
// plan's fused_activation), y = act(scale·x + shift) in the same pass.
#include "backend/cpu/op_table.hpp"
#include "backend/cpu_ops.hpp"

namespace modeconn::cpu {
namespace {

void batch_norm_forward(const OpArgs& a) {
  const int64_t c = channels_of(a.node.shape), n = a.rows * positions_of(a.node.shape);
  with_activation(a.then, [&](auto act) {
    for (int64_t i = 0; i < n; ++i) {
      const float* in = a.in0 + i * c;
      float* out = a.out + i * c;
      for (int64_t ch = 0; ch < c; ++ch) out[ch] = activate(act, a.scale[ch] * in[ch] + a.shift[ch]);
    }
  });
}

}  // namespace

const OpKernels kBatchNormKernels{batch_norm_forward, nullptr, nullptr};

}  // namespace modeconn::cpu
