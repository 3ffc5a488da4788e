// BatchNorm in inference form: per channel y = scale·x + shift, the executor having folded the weight, bias
// and the statistics of the chosen --bn mode into scale and shift.
#include "backend/cpu/op_table.hpp"

namespace modeconn::cpu {
namespace {

void batch_norm_forward(const OpArgs& a) {
  const int64_t c = channels_of(a.node.shape), n = a.rows * positions_of(a.node.shape);
  for (int64_t i = 0; i < n; ++i) {
    const float* __restrict__ in = a.in0 + i * c;
    float* out = a.out + i * c;
    for (int64_t ch = 0; ch < c; ++ch) out[ch] = a.scale[ch] * in[ch] + a.shift[ch];
  }
}

}  // namespace

const OpKernels kBatchNormKernels{batch_norm_forward, nullptr, nullptr};

}  // namespace modeconn::cpu
