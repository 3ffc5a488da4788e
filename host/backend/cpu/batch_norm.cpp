// BatchNorm in inference form: per channel y = scale·x + shift, the executor having folded the weight, bias
// and the statistics of the chosen --bn mode into scale and shift; with an activation fused after it (the
// plan's fused_activation), y = act(scale·x + shift) in the same pass. Training's passes (batch statistics
// and the backward) are the functions after it, which the training executor calls between its meetings.
#include <type_traits>
#include <vector>

#include "backend/cpu/op_table.hpp"
#include "backend/cpu/vector_clones.hpp"
#include "backend/cpu_ops.hpp"

namespace modeconn::cpu {
namespace {

// f(C) with C the channel count as a compile-time constant for the counts networks use (8, 16, 32, 64), or 0
// for any other (then read at run time): with a constant trip count the channel loop compiles to whole
// vectors; with a count read at run time GCC guards its vector loop with a minimum trip count above 8 and
// 8 or 16 channels ran element by element.
template <typename F>
MODECONN_INLINE inline void with_channels(int64_t c, F&& f) {
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

// Every pass here runs over positions with the channels innermost (channels-last maps), so each position's
// channels are one vector operation at the CPU's width (vector_clones.hpp); the float64 sums too, per
// channel, each channel's values still added in the order of the positions.
MODECONN_NARROW_CLONES
void batch_norm_forward(const OpArgs& a) {
  const int64_t channels = channels_of(a.node.shape), n = a.rows * positions_of(a.node.shape);
  with_channels(channels, [&](auto fixed) MODECONN_INLINE {
    const int64_t c = fixed() ? fixed() : channels;
    with_activation(a.then, [&](auto act) MODECONN_INLINE {
      for (int64_t i = 0; i < n; ++i) {
        const float* in = a.in0 + i * c;
        float* out = a.out + i * c;
        for (int64_t ch = 0; ch < c; ++ch) out[ch] = activate(act, a.scale[ch] * in[ch] + a.shift[ch]);
      }
    });
  });
}

}  // namespace

const OpKernels kBatchNormKernels{batch_norm_forward, nullptr, nullptr, nullptr, nullptr};

MODECONN_NARROW_CLONES
void batch_norm_value_sums(const float* x, int64_t m, int64_t channels, double* sums) {
  with_channels(channels, [&](auto fixed) MODECONN_INLINE {
    const int64_t c = fixed() ? fixed() : channels;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t ch = 0; ch < c; ++ch) {
        const double v = x[i * c + ch];
        sums[ch] += v;
        sums[c + ch] += v * v;
      }
  });
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

// Calls f(at, ch, ∂z) for every value (at: its index in the map), ∂z = ∂y·act'(z, y) with z recomputed from x
// (∂y itself without an activation).
template <typename F>
MODECONN_INLINE inline void for_each_dz(const BnPass& p, const Affine& k, const float* x, const float* y,
                                        const float* dy, F&& f) {
  with_channels(p.c, [&](auto fixed) MODECONN_INLINE {
    const int64_t c = fixed() ? fixed() : p.c;
    with_activation(p.then, [&](auto act) MODECONN_INLINE {
      for (int64_t i = 0; i < p.m; ++i)
        for (int64_t ch = 0; ch < c; ++ch) {
          const int64_t at = i * c + ch;
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
          f(at, ch, dz);
        }
    });
  });
}

}  // namespace

MODECONN_NARROW_CLONES
void batch_norm_train_forward(const BnPass& p, const float* x, float* y) {
  const Affine k(p);
  with_channels(p.c, [&](auto fixed) MODECONN_INLINE {
    const int64_t c = fixed() ? fixed() : p.c;
    with_activation(p.then, [&](auto act) MODECONN_INLINE {
      for (int64_t i = 0; i < p.m; ++i)
        for (int64_t ch = 0; ch < c; ++ch) {
          const auto u = static_cast<std::size_t>(ch);
          y[i * c + ch] = activate(act, (x[i * c + ch] - k.mu[u]) * k.a[u] + k.b[u]);
        }
    });
  });
}

MODECONN_NARROW_CLONES
void batch_norm_grad_sums(const BnPass& p, const float* x, const float* y, const float* dy, double* sums) {
  // Σ∂z and Σ∂z·(x − mean) per channel, the second scaled by inv once at the end. Up to 64 channels they
  // accumulate in arrays on the stack, which the compiler knows no input aliases (through `sums` it could not
  // vectorise); each channel's values are still added in the order of the positions.
  const Affine k(p);
  constexpr int64_t kOnStack = 64;
  double stack_dz[kOnStack] = {}, stack_centred[kOnStack] = {};
  std::vector<double> heap;
  double* sum_dz = stack_dz;
  double* centred = stack_centred;
  if (p.c > kOnStack) {
    heap.assign(static_cast<std::size_t>(2 * p.c), 0.0);
    sum_dz = heap.data();
    centred = heap.data() + p.c;
  }
  for_each_dz(p, k, x, y, dy, [&](int64_t at, int64_t ch, float dz) MODECONN_INLINE {
    sum_dz[ch] += dz;
    centred[ch] += static_cast<double>(dz) * (x[at] - k.mu[static_cast<std::size_t>(ch)]);
  });
  for (int64_t ch = 0; ch < p.c; ++ch) {
    sums[ch] += sum_dz[ch];
    sums[p.c + ch] += centred[ch] * p.inv[ch];
  }
}

MODECONN_NARROW_CLONES
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
  // Adding to ∂x or writing it, decided outside the loop: a load under a condition inside it kept the loop
  // from vectorising.
  const auto pass = [&](auto accumulate) MODECONN_INLINE {
    for_each_dz(p, k, x, y, dy, [&](int64_t at, int64_t ch, float dz) MODECONN_INLINE {
      const auto u = static_cast<std::size_t>(ch);
      const float g = k.a[u] * (dz - s[u]) - e[u] * (x[at] - k.mu[u]);
      if constexpr (decltype(accumulate)::value)
        dx[at] += g;
      else
        dx[at] = g;
    });
  };
  if (add)
    pass(std::true_type{});
  else
    pass(std::false_type{});
}

}  // namespace modeconn::cpu
