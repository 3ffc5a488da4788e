// BatchNorm in inference form: per channel y = scale·x + shift, the executor having folded the weight, bias
// and the statistics of the chosen --bn mode into scale and shift; with an activation fused after it (the
// plan's fused_activation), y = act(scale·x + shift) in the same pass. Training's passes (batch statistics
// and the backward) are the functions after it, which the training executor calls between its meetings.
#include <vector>

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

const OpKernels kBatchNormKernels{batch_norm_forward, nullptr, nullptr, nullptr, nullptr};

void batch_norm_value_sums(const float* x, int64_t m, int64_t c, double* sums) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t ch = 0; ch < c; ++ch) {
      const double v = x[i * c + ch];
      sums[ch] += v;
      sums[c + ch] += v * v;
    }
}

void batch_norm_train_forward(const float* x, int64_t m, int64_t c, const double* mean, const double* inv,
                              const float* gamma, const float* beta, float* y) {
  std::vector<float> mu(static_cast<std::size_t>(c)), scale(mu.size()), shift(mu.size());
  for (int64_t ch = 0; ch < c; ++ch) {
    const auto u = static_cast<std::size_t>(ch);
    mu[u] = static_cast<float>(mean[ch]);
    scale[u] = static_cast<float>((gamma ? gamma[ch] : 1.0) * inv[ch]);
    shift[u] = beta ? beta[ch] : 0.f;
  }
  for (int64_t i = 0; i < m; ++i)
    for (int64_t ch = 0; ch < c; ++ch) {
      const auto u = static_cast<std::size_t>(ch);
      y[i * c + ch] = (x[i * c + ch] - mu[u]) * scale[u] + shift[u];
    }
}

void batch_norm_grad_sums(const float* x, const float* dy, int64_t m, int64_t c, const double* mean,
                          const double* inv, double* sums) {
  // Σ∂y·(x − mean) per channel, scaled by inv once at the end.
  std::vector<float> mu(static_cast<std::size_t>(c));
  for (int64_t ch = 0; ch < c; ++ch) mu[static_cast<std::size_t>(ch)] = static_cast<float>(mean[ch]);
  std::vector<double> centred(static_cast<std::size_t>(c), 0.0);
  for (int64_t i = 0; i < m; ++i) {
    const float* xi = x + i * c;
    const float* gi = dy + i * c;
    for (int64_t ch = 0; ch < c; ++ch) {
      sums[ch] += gi[ch];
      centred[static_cast<std::size_t>(ch)] +=
          static_cast<double>(gi[ch]) * (xi[ch] - mu[static_cast<std::size_t>(ch)]);
    }
  }
  for (int64_t ch = 0; ch < c; ++ch) sums[c + ch] += centred[static_cast<std::size_t>(ch)] * inv[ch];
}

void batch_norm_input_grad(const float* x, const float* dy, int64_t m, int64_t c, const double* mean,
                           const double* inv, const float* gamma, const double* totals, bool train,
                           double count, float* dx, bool add) {
  // Per channel in float: ∂x = a·(∂y − s) − b·(x − mean), a = γ·inv, s = Σ∂y/count, b = a·inv·Σ∂y·x̂/count
  // (s and b zero with fixed statistics).
  std::vector<float> a(static_cast<std::size_t>(c)), s(a.size()), b(a.size()), mu(a.size());
  for (int64_t ch = 0; ch < c; ++ch) {
    const auto u = static_cast<std::size_t>(ch);
    const double scale = (gamma ? gamma[ch] : 1.0) * inv[ch];
    a[u] = static_cast<float>(scale);
    s[u] = train ? static_cast<float>(totals[ch] / count) : 0.f;
    b[u] = train ? static_cast<float>(scale * inv[ch] * totals[c + ch] / count) : 0.f;
    mu[u] = static_cast<float>(mean[ch]);
  }
  for (int64_t i = 0; i < m; ++i) {
    const float* xi = x + i * c;
    const float* gi = dy + i * c;
    float* di = dx + i * c;
    for (int64_t ch = 0; ch < c; ++ch) {
      const auto u = static_cast<std::size_t>(ch);
      const float g = a[u] * (gi[ch] - s[u]) - b[u] * (xi[ch] - mu[u]);
      di[ch] = add ? di[ch] + g : g;
    }
  }
}

}  // namespace modeconn::cpu
