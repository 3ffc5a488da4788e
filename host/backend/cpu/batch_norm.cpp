// BatchNorm in inference form: per channel y = scale·x + shift, the executor having folded the weight, bias
// and the statistics of the chosen --bn mode into scale and shift; with an activation fused after it (the
// plan's fused_activation), y = act(scale·x + shift) in the same pass. Training's passes (batch statistics
// and the backward) are the functions after it, which the training executor calls between its meetings.
#include <algorithm>
#include <type_traits>
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

namespace {

// Calls f with the channel count as a compile-time constant for the widths of small networks (0: another
// width, read at run time), so that the per-channel loops unroll into vector operations.
template <typename F>
void with_channels(int64_t c, F&& f) {
  switch (c) {
    case 8:
      f(std::integral_constant<int64_t, 8>{});
      return;
    case 16:
      f(std::integral_constant<int64_t, 16>{});
      return;
    case 32:
      f(std::integral_constant<int64_t, 32>{});
      return;
    case 64:
      f(std::integral_constant<int64_t, 64>{});
      return;
    default:
      f(std::integral_constant<int64_t, 0>{});
  }
}

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

// ∂z = ∂y·act'(z, y) for the value at `at` of channel ch, z recomputed from x (∂y itself without an
// activation).
template <typename Act>
inline float dz_of(Act act, const float* __restrict a, const float* __restrict mu, const float* __restrict b,
                   const float* x, const float* y, const float* dy, int64_t at, int64_t ch) {
  constexpr Activation f = Act::value;
  float dz = dy[at];
  if constexpr (f == Activation::relu || f == Activation::leaky_relu || f == Activation::tanh ||
                f == Activation::sigmoid) {
    // Their derivatives follow from y (z > 0 exactly where y > 0): the forward's own decision at a kink.
    dz *= activate_grad(act, y[at], y[at]);
  } else if constexpr (f != Activation::identity) {
    dz *= activate_grad(act, a[ch] * (x[at] - mu[ch]) + b[ch], y[at]);
  }
  return dz;
}

}  // namespace

// Every sum in float64, value by value: a batch's ∂β = Σ∂z is a small difference of many terms, and float
// partial sums (tried over blocks of 64 positions) moved a ResNet's BatchNorm bias 8 times further from
// PyTorch's float64 steps than PyTorch's own float32 moves it.
void batch_norm_value_sums(const float* x, int64_t m, int64_t c, double* sums) {
  with_channels(c, [&](auto fixed) {
    constexpr int64_t C = decltype(fixed)::value;
    const int64_t nc = C > 0 ? C : c;
    double* __restrict s = sums;
    double* __restrict q = sums + nc;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t ch = 0; ch < nc; ++ch) {
        const double v = x[i * nc + ch];
        s[ch] += v;
        q[ch] += v * v;
      }
  });
}

void batch_norm_train_forward(const BnPass& p, const float* x, float* y) {
  const Affine k(p);
  with_channels(p.c, [&](auto fixed) {
    constexpr int64_t C = decltype(fixed)::value;
    const int64_t c = C > 0 ? C : p.c;
    const float* __restrict mu = k.mu.data();
    const float* __restrict a = k.a.data();
    const float* __restrict b = k.b.data();
    with_activation(p.then, [&](auto act) {
      for (int64_t i = 0; i < p.m; ++i)
        for (int64_t ch = 0; ch < c; ++ch)
          y[i * c + ch] = activate(act, (x[i * c + ch] - mu[ch]) * a[ch] + b[ch]);
    });
  });
}

void batch_norm_grad_sums(const BnPass& p, const float* x, const float* y, const float* dy, double* sums) {
  // Σ∂z and Σ∂z·(x − mean) per channel, the second scaled by inv once at the end.
  const Affine k(p);
  with_channels(p.c, [&](auto fixed) {
    constexpr int64_t C = decltype(fixed)::value;
    const int64_t c = C > 0 ? C : p.c;
    const float* __restrict mu = k.mu.data();
    const float* __restrict a = k.a.data();
    const float* __restrict b = k.b.data();
    std::vector<double> centred(static_cast<std::size_t>(c), 0.0);
    double* __restrict s = sums;
    double* __restrict e = centred.data();
    with_activation(p.then, [&](auto act) {
      for (int64_t i = 0; i < p.m; ++i)
        for (int64_t ch = 0; ch < c; ++ch) {
          const int64_t at = i * c + ch;
          const double dz = dz_of(act, a, mu, b, x, y, dy, at, ch);
          s[ch] += dz;
          e[ch] += dz * (x[at] - mu[ch]);
        }
    });
    for (int64_t ch = 0; ch < c; ++ch) sums[c + ch] += centred[static_cast<std::size_t>(ch)] * p.inv[ch];
  });
}

void batch_norm_input_grad(const BnPass& p, const float* x, const float* y, const float* dy,
                           const double* totals, bool train, double count, float* dx, bool add) {
  // Per channel in float: ∂x = a·(∂z − s) − e·(x − mean), s = Σ∂z/count, e = a·inv·Σ∂z·x̂/count (s and e zero
  // with fixed statistics).
  const Affine k(p);
  std::vector<float> se(static_cast<std::size_t>(2 * p.c));
  for (int64_t ch = 0; ch < p.c; ++ch) {
    const auto u = static_cast<std::size_t>(ch);
    se[u] = train ? static_cast<float>(totals[ch] / count) : 0.f;
    se[u + static_cast<std::size_t>(p.c)] =
        train ? static_cast<float>(k.a[u] * p.inv[ch] * totals[p.c + ch] / count) : 0.f;
  }
  with_channels(p.c, [&](auto fixed) {
    constexpr int64_t C = decltype(fixed)::value;
    const int64_t c = C > 0 ? C : p.c;
    const float* __restrict mu = k.mu.data();
    const float* __restrict a = k.a.data();
    const float* __restrict b = k.b.data();
    const float* __restrict s = se.data();
    const float* __restrict e = s + c;
    with_activation(p.then, [&](auto act) {
      for (int64_t i = 0; i < p.m; ++i)
        for (int64_t ch = 0; ch < c; ++ch) {
          const int64_t at = i * c + ch;
          const float g = a[ch] * (dz_of(act, a, mu, b, x, y, dy, at, ch) - s[ch]) - e[ch] * (x[at] - mu[ch]);
          dx[at] = add ? dx[at] + g : g;
        }
    });
  });
}

}  // namespace modeconn::cpu
