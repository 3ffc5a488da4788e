// Direct convolution kernels (see conv2d_direct.hpp). Each kernel is a template over the vector width,
// inlined into one entry point per instruction set, so that the same loops are compiled for AVX-512, AVX2 and
// the baseline; the entry points are chosen once from what the CPU reports.
#include "backend/cpu/conv2d_direct.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace modeconn::cpu {
namespace {

// CB floats as one value of the compiler's vector extension: one register where the target has it, split
// across narrower ones where it does not.
template <int CB>
struct VecOf {
  typedef float type __attribute__((vector_size(CB * sizeof(float))));
};

#define MODECONN_INLINE [[gnu::always_inline]] inline

// Through a reference, not returned: a vector returned by value would change the ABI between the variants.
template <typename V>
MODECONN_INLINE void load(V& v, const float* p) {
  std::memcpy(&v, p, sizeof v);
}

// Output columns [lo, hi) whose tap at kernel column j reads inside the input row.
MODECONN_INLINE std::pair<int64_t, int64_t> inside_columns(const ConvShape& s, int64_t j) {
  const int64_t offset = j * s.dx - s.px;  // input column of output column ox: ox·sx + offset
  const int64_t lo = offset >= 0 ? 0 : (-offset + s.sx - 1) / s.sx;
  const int64_t hi = s.w - 1 - offset < 0 ? 0 : (s.w - 1 - offset) / s.sx + 1;
  return {std::min(lo, s.wo), std::clamp<int64_t>(hi, std::min(lo, s.wo), s.wo)};
}

// [cols, rows] from [rows, cols]: the prepared weights [out, taps·c] as the forward reads them.
std::vector<float> transposed(const float* w, int64_t rows, int64_t cols) {
  std::vector<float> t(static_cast<std::size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t k = 0; k < cols; ++k) t[static_cast<std::size_t>(k * rows + i)] = w[i * cols + k];
  return t;
}

// P consecutive output positions of output row oy, output channels [co0, co0 + CB): each accumulator one
// position's channels, each tap's input channel broadcast against that tap's weights for the CB channels.
// Positions whose tap falls in the padding read `zeros`.
template <int CB, int P>
MODECONN_INLINE void forward_positions(const ConvShape& s, const float* image, const float* wt, int64_t co0,
                                       int64_t oy, int64_t ox0, const float* zeros, float* out_row) {
  using V = typename VecOf<CB>::type;
  // Even and odd input channels into separate accumulators: 2·P independent chains of multiply-adds, enough
  // to cover their latency.
  V acc[2][P] = {};
  for (int64_t i = 0; i < s.kh; ++i) {
    const int64_t y = oy * s.sy - s.py + i * s.dy;
    if (y < 0 || y >= s.h) continue;
    for (int64_t j = 0; j < s.kw; ++j) {
      const float* src[P];
      for (int p = 0; p < P; ++p) {
        const int64_t x = (ox0 + p) * s.sx - s.px + j * s.dx;
        src[p] = x >= 0 && x < s.w ? image + (y * s.w + x) * s.c : zeros;
      }
      const float* wk = wt + (i * s.kw + j) * s.c * s.out + co0;
      int64_t ci = 0;
      for (; ci + 2 <= s.c; ci += 2) {
        V w0, w1;
        load(w0, wk + ci * s.out);
        load(w1, wk + (ci + 1) * s.out);
        for (int p = 0; p < P; ++p) {
          acc[0][p] += src[p][ci] * w0;
          acc[1][p] += src[p][ci + 1] * w1;
        }
      }
      if (ci < s.c) {
        V wv;
        load(wv, wk + ci * s.out);
        for (int p = 0; p < P; ++p) acc[0][p] += src[p][ci] * wv;
      }
    }
  }
  for (int p = 0; p < P; ++p) {
    const V sum = acc[0][p] + acc[1][p];
    std::memcpy(out_row + (ox0 + p) * s.out + co0, &sum, sizeof(V));
  }
}

template <int CB>
MODECONN_INLINE void forward_all(const ConvShape& s, const float* in, int64_t rows, const float* weight,
                                 float* out) {
  constexpr int P = 4;
  const std::vector<float> wt = transposed(weight, s.out, s.taps() * s.c);  // [taps, c, out]
  const std::vector<float> zeros(static_cast<std::size_t>(s.c), 0.f);
  for (int64_t r = 0; r < rows; ++r) {
    const float* image = in + r * s.in_size();
    for (int64_t oy = 0; oy < s.ho; ++oy) {
      float* out_row = out + (r * s.ho + oy) * s.wo * s.out;
      for (int64_t co0 = 0; co0 < s.out; co0 += CB) {
        int64_t ox = 0;
        for (; ox + P <= s.wo; ox += P)
          forward_positions<CB, P>(s, image, wt.data(), co0, oy, ox, zeros.data(), out_row);
        for (; ox < s.wo; ++ox)
          forward_positions<CB, 1>(s, image, wt.data(), co0, oy, ox, zeros.data(), out_row);
      }
    }
  }
}

// P consecutive input positions of input row y, input channels [ci0, ci0 + CB): every output position whose
// tap read them, its ∂Y broadcast against that tap's weights for the CB channels. Taps whose output position
// does not exist (the stride skips it, or it lies past the edge) read `zeros`.
template <int CB, int P>
MODECONN_INLINE void input_grad_positions(const ConvShape& s, const float* dimage, const float* wd,
                                          int64_t ci0, int64_t y, int64_t x0, const float* zeros,
                                          float* dx_row, bool add) {
  using V = typename VecOf<CB>::type;
  V acc[2][P] = {};  // even and odd output channels, as in forward_positions
  for (int64_t i = 0; i < s.kh; ++i) {
    const int64_t ty = y + s.py - i * s.dy;  // oy·sy
    if (ty < 0 || ty % s.sy != 0 || ty / s.sy >= s.ho) continue;
    const int64_t oy = ty / s.sy;
    for (int64_t j = 0; j < s.kw; ++j) {
      const float* src[P];
      bool any = false;
      for (int p = 0; p < P; ++p) {
        const int64_t tx = x0 + p + s.px - j * s.dx;  // ox·sx
        const bool hit = tx >= 0 && tx % s.sx == 0 && tx / s.sx < s.wo;
        src[p] = hit ? dimage + (oy * s.wo + tx / s.sx) * s.out : zeros;
        any = any || hit;
      }
      if (!any) continue;
      const float* wk = wd + (i * s.kw + j) * s.out * s.c + ci0;
      for (int64_t co = 0; co < s.out; co += 2) {  // out is a multiple of 8
        V w0, w1;
        load(w0, wk + co * s.c);
        load(w1, wk + (co + 1) * s.c);
        for (int p = 0; p < P; ++p) {
          acc[0][p] += src[p][co] * w0;
          acc[1][p] += src[p][co + 1] * w1;
        }
      }
    }
  }
  for (int p = 0; p < P; ++p) {
    float* to = dx_row + (x0 + p) * s.c + ci0;
    V sum = acc[0][p] + acc[1][p];
    if (add) {
      V old;
      load(old, to);
      sum += old;
    }
    std::memcpy(to, &sum, sizeof(V));
  }
}

template <int CB>
MODECONN_INLINE void input_grad_all(const ConvShape& s, const float* dy, int64_t rows, const float* weight,
                                    float* dx, bool add) {
  constexpr int P = 4;
  // [taps, out, c]: for a tap and an output channel, the weights of every input channel side by side.
  std::vector<float> wd(static_cast<std::size_t>(s.taps() * s.out * s.c));
  for (int64_t o = 0; o < s.out; ++o)
    for (int64_t t = 0; t < s.taps(); ++t)
      std::copy_n(weight + (o * s.taps() + t) * s.c, s.c, wd.data() + (t * s.out + o) * s.c);
  const std::vector<float> zeros(static_cast<std::size_t>(s.out), 0.f);
  for (int64_t r = 0; r < rows; ++r) {
    const float* dimage = dy + r * s.out_size();
    for (int64_t y = 0; y < s.h; ++y) {
      float* dx_row = dx + r * s.in_size() + y * s.w * s.c;
      for (int64_t ci0 = 0; ci0 < s.c; ci0 += CB) {
        int64_t x = 0;
        for (; x + P <= s.w; x += P)
          input_grad_positions<CB, P>(s, dimage, wd.data(), ci0, y, x, zeros.data(), dx_row, add);
        for (; x < s.w; ++x)
          input_grad_positions<CB, 1>(s, dimage, wd.data(), ci0, y, x, zeros.data(), dx_row, add);
      }
    }
  }
}

// One row's (image's) Σ over output positions of input[tap, ci0 + q] · ∂Y[co0..co0 + CB) for CI input
// channels of tap (i, j), in registers, added to the float64 sums [taps, c, out].
template <int CB, int CI>
MODECONN_INLINE void weight_grad_tap(const ConvShape& s, const float* image, const float* dimage, int64_t i,
                                     int64_t j, int64_t ci0, int64_t co0, double* sums) {
  using V = typename VecOf<CB>::type;
  // Under 8 input channels the positions alternate between two sets of accumulators, so that at least 4
  // chains of multiply-adds run side by side.
  constexpr int kSets = CI < 8 ? 2 : 1;
  V acc[kSets][CI] = {};
  const auto [lo, hi] = inside_columns(s, j);
  for (int64_t oy = 0; oy < s.ho; ++oy) {
    const int64_t y = oy * s.sy - s.py + i * s.dy;
    if (y < 0 || y >= s.h) continue;
    const float* x_row = image + y * s.w * s.c + ci0;
    const float* g_row = dimage + oy * s.wo * s.out + co0;
    int64_t ox = lo;
    for (; ox + kSets <= hi; ox += kSets)
      for (int k = 0; k < kSets; ++k) {
        const float* xs = x_row + ((ox + k) * s.sx - s.px + j * s.dx) * s.c;
        V g;
        load(g, g_row + (ox + k) * s.out);
        for (int q = 0; q < CI; ++q) acc[k][q] += xs[q] * g;
      }
    for (; ox < hi; ++ox) {
      const float* xs = x_row + (ox * s.sx - s.px + j * s.dx) * s.c;
      V g;
      load(g, g_row + ox * s.out);
      for (int q = 0; q < CI; ++q) acc[0][q] += xs[q] * g;
    }
  }
  double* to = sums + ((i * s.kw + j) * s.c + ci0) * s.out + co0;
  for (int k = 0; k < kSets; ++k)
    for (int q = 0; q < CI; ++q)
      for (int l = 0; l < CB; ++l) to[q * s.out + l] += acc[k][q][l];
}

template <int CB>
MODECONN_INLINE void weight_grad_all(const ConvShape& s, const float* in, const float* dy, int64_t rows,
                                     float* dweight) {
  std::vector<double> sums(static_cast<std::size_t>(s.taps() * s.c * s.out), 0.0);  // [taps, c, out]
  for (int64_t r = 0; r < rows; ++r) {
    const float* image = in + r * s.in_size();
    const float* dimage = dy + r * s.out_size();
    for (int64_t co0 = 0; co0 < s.out; co0 += CB)
      for (int64_t i = 0; i < s.kh; ++i)
        for (int64_t j = 0; j < s.kw; ++j) {
          // The input channels in groups of 8, then 4, 2 and 1: each group's accumulators stay in registers.
          int64_t ci = 0;
          for (; ci + 8 <= s.c; ci += 8) weight_grad_tap<CB, 8>(s, image, dimage, i, j, ci, co0, sums.data());
          if (ci + 4 <= s.c) {
            weight_grad_tap<CB, 4>(s, image, dimage, i, j, ci, co0, sums.data());
            ci += 4;
          }
          if (ci + 2 <= s.c) {
            weight_grad_tap<CB, 2>(s, image, dimage, i, j, ci, co0, sums.data());
            ci += 2;
          }
          if (ci < s.c) weight_grad_tap<CB, 1>(s, image, dimage, i, j, ci, co0, sums.data());
        }
  }
  for (int64_t o = 0; o < s.out; ++o)
    for (int64_t t = 0; t < s.taps(); ++t)
      for (int64_t ci = 0; ci < s.c; ++ci)
        dweight[(o * s.taps() + t) * s.c + ci] +=
            static_cast<float>(sums[static_cast<std::size_t>((t * s.c + ci) * s.out + o)]);
}

// Vectors of 16 where the channel count allows, else 8.
struct Variant {
  void (*forward)(const ConvShape&, const float*, int64_t, const float*, float*);
  void (*input_grad)(const ConvShape&, const float*, int64_t, const float*, float*, bool);
  void (*weight_grad)(const ConvShape&, const float*, const float*, int64_t, float*);
};

#define MODECONN_CONV_VARIANT(NAME, TARGET)                                                          \
  TARGET void NAME##_forward(const ConvShape& s, const float* in, int64_t rows, const float* w,      \
                             float* out) {                                                           \
    if (s.out % 16 == 0)                                                                             \
      forward_all<16>(s, in, rows, w, out);                                                          \
    else                                                                                             \
      forward_all<8>(s, in, rows, w, out);                                                           \
  }                                                                                                  \
  TARGET void NAME##_input_grad(const ConvShape& s, const float* dy, int64_t rows, const float* w,   \
                                float* dx, bool add) {                                               \
    if (s.c % 16 == 0)                                                                               \
      input_grad_all<16>(s, dy, rows, w, dx, add);                                                   \
    else                                                                                             \
      input_grad_all<8>(s, dy, rows, w, dx, add);                                                    \
  }                                                                                                  \
  TARGET void NAME##_weight_grad(const ConvShape& s, const float* in, const float* dy, int64_t rows, \
                                 float* dw) {                                                        \
    if (s.out % 16 == 0)                                                                             \
      weight_grad_all<16>(s, in, dy, rows, dw);                                                      \
    else                                                                                             \
      weight_grad_all<8>(s, in, dy, rows, dw);                                                       \
  }                                                                                                  \
  constexpr Variant NAME{NAME##_forward, NAME##_input_grad, NAME##_weight_grad};

MODECONN_CONV_VARIANT(baseline, )
#if defined(__x86_64__) && defined(__GNUC__)
MODECONN_CONV_VARIANT(avx2, __attribute__((target("avx2,fma"))))
MODECONN_CONV_VARIANT(avx512, __attribute__((target("avx512f,avx512vl,avx2,fma"))))
#endif

struct NamedVariant {
  const char* name;
  const Variant* variant;
};

// What this CPU supports, narrowest first.
std::vector<NamedVariant> supported() {
  std::vector<NamedVariant> v{{"baseline", &baseline}};
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) v.push_back({"avx2", &avx2});
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
    v.push_back({"avx512", &avx512});
#endif
  return v;
}

const Variant*& chosen() {
  static const Variant* widest = supported().back().variant;
  return widest;
}

const Variant& variant() { return *chosen(); }

// Beyond 64 channels a GEMM's panels are wide enough for OpenBLAS to run at speed.
constexpr int64_t kMaxDirectChannels = 64;

}  // namespace

ConvShape conv_shape(const Graph& g, const Node& n) {
  const auto& in = g.nodes[static_cast<std::size_t>(n.inputs.front())].shape;
  ConvShape s;
  s.c = in[0];
  s.h = in[1];
  s.w = in[2];
  s.out = n.shape[0];
  s.ho = n.shape[1];
  s.wo = n.shape[2];
  s.kh = n.kernel[0];
  s.kw = n.kernel[1];
  s.sy = n.stride[0];
  s.sx = n.stride[1];
  s.py = n.padding[0];
  s.px = n.padding[1];
  s.dy = n.dilation[0];
  s.dx = n.dilation[1];
  return s;
}

bool direct_conv_weight_grad_fits(const ConvShape& s) {
  return s.out % 8 == 0 && s.out <= kMaxDirectChannels;
}
bool direct_conv_forward_fits(const ConvShape& s) { return direct_conv_weight_grad_fits(s) && s.c >= 8; }
bool direct_conv_input_grad_fits(const ConvShape& s) { return s.c % 8 == 0 && s.c <= kMaxDirectChannels; }

std::vector<std::string> direct_conv_isas() {
  std::vector<std::string> names;
  for (const NamedVariant& v : supported()) names.emplace_back(v.name);
  return names;
}

void use_direct_conv_isa(const std::string& name) {
  const std::vector<NamedVariant> all = supported();
  chosen() = all.back().variant;
  for (const NamedVariant& v : all)
    if (name == v.name) chosen() = v.variant;
}

void direct_conv_forward(const ConvShape& s, const float* in, int64_t rows, const float* weight, float* out) {
  variant().forward(s, in, rows, weight, out);
}
void direct_conv_input_grad(const ConvShape& s, const float* dy, int64_t rows, const float* weight, float* dx,
                            bool add) {
  variant().input_grad(s, dy, rows, weight, dx, add);
}
void direct_conv_weight_grad(const ConvShape& s, const float* in, const float* dy, int64_t rows,
                             float* dweight) {
  variant().weight_grad(s, in, dy, rows, dweight);
}

}  // namespace modeconn::cpu
