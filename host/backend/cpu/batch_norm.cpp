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

namespace {

// A BatchNorm's per channel constants in float: z = a·(x − mu) + b.
struct Affine {
  std::vector<float> mu, a, b;
  explicit Affine(const BnPass& p) : mu(static_cast<std::size_t>(p.c)), a(mu.size()), b(mu.size()) {
    for (int64_t ch = 0; ch < p.c; ++ch) {
      const auto u = static_cast<std::size_t>(ch);
      mu[u] = static_cast<float>(p.mean[ch]);
      a[u] = static_cast<float>((p.gamma ? p.gamma[ch] : 1.0) * p.inv[ch]);
      b[u] = p.beta ? p.beta[ch] : 0.f;
    }
  }
};

// Calls f(i, ch, ∂z) for every value, ∂z = ∂y·act'(z, y) with z recomputed from x (∂y itself without an
// activation).
template <typename F>
void for_each_dz(const BnPass& p, const Affine& k, const float* x, const float* y, const float* dy, F&& f) {
  with_activation(p.then, [&](auto act) {
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t ch = 0; ch < p.c; ++ch) {
        const int64_t at = i * p.c + ch;
        float dz = dy[at];
        constexpr Activation a = decltype(act)::value;
        if constexpr (a == Activation::relu || a == Activation::leaky_relu || a == Activation::tanh ||
                      a == Activation::sigmoid) {
          // Their derivatives follow from y (z > 0 exactly where y > 0): the forward's own decision at a
          // kink.
          dz *= activate_grad(act, y[at], y[at]);
        } else if constexpr (a != Activation::identity) {
          const auto u = static_cast<std::size_t>(ch);
          dz *= activate_grad(act, k.a[u] * (x[at] - k.mu[u]) + k.b[u], y[at]);
        }
        f(i, ch, dz);
      }
  });
}

}  // namespace

void batch_norm_train_forward(const BnPass& p, const float* x, float* y) {
  const Affine k(p);
  with_activation(p.then, [&](auto act) {
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t ch = 0; ch < p.c; ++ch) {
        const auto u = static_cast<std::size_t>(ch);
        y[i * p.c + ch] = activate(act, (x[i * p.c + ch] - k.mu[u]) * k.a[u] + k.b[u]);
      }
  });
}

void batch_norm_grad_sums(const BnPass& p, const float* x, const float* y, const float* dy, double* sums) {
  // Σ∂z·(x − mean) per channel, scaled by inv once at the end.
  const Affine k(p);
  std::vector<double> centred(static_cast<std::size_t>(p.c), 0.0);
  for_each_dz(p, k, x, y, dy, [&](int64_t i, int64_t ch, float dz) {
    const auto u = static_cast<std::size_t>(ch);
    sums[ch] += dz;
    centred[u] += static_cast<double>(dz) * (x[i * p.c + ch] - k.mu[u]);
  });
  for (int64_t ch = 0; ch < p.c; ++ch) sums[p.c + ch] += centred[static_cast<std::size_t>(ch)] * p.inv[ch];
}

void batch_norm_input_grad(const BnPass& p, const float* x, const float* y, const float* dy,
                           const double* totals, bool train, double count, float* dx, bool add) {
  // Per channel in float: ∂x = a·(∂z − s) − e·(x − mean), s = Σ∂z/count, e = a·inv·Σ∂z·x̂/count (s and e zero
  // with fixed statistics).
  const Affine k(p);
  std::vector<float> s(static_cast<std::size_t>(p.c)), e(s.size());
  for (int64_t ch = 0; ch < p.c; ++ch) {
    const auto u = static_cast<std::size_t>(ch);
    s[u] = train ? static_cast<float>(totals[ch] / count) : 0.f;
    e[u] = train ? static_cast<float>(k.a[u] * p.inv[ch] * totals[p.c + ch] / count) : 0.f;
  }
  for_each_dz(p, k, x, y, dy, [&](int64_t i, int64_t ch, float dz) {
    const auto u = static_cast<std::size_t>(ch);
    const int64_t at = i * p.c + ch;
    const float g = k.a[u] * (dz - s[u]) - e[u] * (x[at] - k.mu[u]);
    dx[at] = add ? dx[at] + g : g;
  });
}

}  // namespace modeconn::cpu
