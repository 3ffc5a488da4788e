// The CPU backend's direct convolution kernels against a float64 convolution written out in full, in every
// instruction set this CPU runs them in: kernels of 1×1 to 5×3, strides, padding wider than a tap, dilation,
// widths that do not fill the kernels' position blocks, 8 to 48 channels (vectors of 8 and of 16), one input
// channel, and the input gradient both written and added.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/conv2d_direct.hpp"

namespace modeconn::cpu {
namespace {

ConvShape make_shape(int64_t c, int64_t h, int64_t w, int64_t out, int64_t kh, int64_t kw, int64_t stride,
                     int64_t pad, int64_t dil) {
  ConvShape s;
  s.c = c;
  s.h = h;
  s.w = w;
  s.out = out;
  s.kh = kh;
  s.kw = kw;
  s.sy = s.sx = stride;
  s.py = s.px = pad;
  s.dy = s.dx = dil;
  s.ho = (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1;
  s.wo = (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1;
  return s;
}

// The input position tap (i, j) of output (oy, ox) reads, or false in the padding.
bool source(const ConvShape& s, int64_t oy, int64_t ox, int64_t i, int64_t j, int64_t& y, int64_t& x) {
  y = oy * s.sy - s.py + i * s.dy;
  x = ox * s.sx - s.px + j * s.dx;
  return y >= 0 && y < s.h && x >= 0 && x < s.w;
}

struct Reference {
  std::vector<double> out, dx, dw;
};

// Channels-last input [rows, h, w, c], weights [out, kh, kw, c], ∂Y [rows, ho, wo, out], all in float64.
Reference reference(const ConvShape& s, int64_t rows, const std::vector<float>& in,
                    const std::vector<float>& w, const std::vector<float>& dy) {
  Reference r;
  r.out.assign(static_cast<std::size_t>(rows * s.out_size()), 0.0);
  r.dx.assign(static_cast<std::size_t>(rows * s.in_size()), 0.0);
  r.dw.assign(w.size(), 0.0);
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t oy = 0; oy < s.ho; ++oy)
      for (int64_t ox = 0; ox < s.wo; ++ox)
        for (int64_t co = 0; co < s.out; ++co) {
          const std::size_t o = static_cast<std::size_t>(((n * s.ho + oy) * s.wo + ox) * s.out + co);
          for (int64_t i = 0; i < s.kh; ++i)
            for (int64_t j = 0; j < s.kw; ++j) {
              int64_t y = 0, x = 0;
              if (!source(s, oy, ox, i, j, y, x)) continue;
              for (int64_t ci = 0; ci < s.c; ++ci) {
                const auto at = static_cast<std::size_t>(((n * s.h + y) * s.w + x) * s.c + ci);
                const auto wk = static_cast<std::size_t>(((co * s.kh + i) * s.kw + j) * s.c + ci);
                r.out[o] += static_cast<double>(w[wk]) * in[at];
                r.dx[at] += static_cast<double>(w[wk]) * dy[o];
                r.dw[wk] += static_cast<double>(in[at]) * dy[o];
              }
            }
        }
  return r;
}

// |got − want| within a float32 rounding of a sum of `terms` products of unit normals.
void expect_close(const std::vector<float>& got, const std::vector<double>& want, double terms,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double tolerance = 1e-5 * std::sqrt(terms) + 1e-6;
  for (std::size_t k = 0; k < got.size(); ++k)
    ASSERT_NEAR(got[k], want[k], tolerance * (1.0 + std::abs(want[k]))) << what << " at " << k;
}

struct Case {
  int64_t c, h, w, out, kh, kw, stride, pad, dil, rows;
};

class DirectConv : public ::testing::TestWithParam<Case> {};

TEST_P(DirectConv, MatchesAFloat64ConvolutionInEveryInstructionSet) {
  const Case k = GetParam();
  const ConvShape s = make_shape(k.c, k.h, k.w, k.out, k.kh, k.kw, k.stride, k.pad, k.dil);
  ASSERT_GT(s.ho, 0);
  ASSERT_GT(s.wo, 0);
  std::mt19937 rng(static_cast<unsigned>(k.c * 131 + k.out * 17 + k.kh * 5 + k.stride));
  std::normal_distribution<float> normal;
  const auto random = [&](int64_t size) {
    std::vector<float> v(static_cast<std::size_t>(size));
    for (float& x : v) x = normal(rng);
    return v;
  };
  const std::vector<float> in = random(k.rows * s.in_size());
  const std::vector<float> w = random(s.out * s.taps() * s.c);
  const std::vector<float> dy = random(k.rows * s.out_size());
  const Reference want = reference(s, k.rows, in, w, dy);
  // Positions whose taps read nothing contribute nothing; the weight gradient sums over every position.
  const double per_output = static_cast<double>(s.taps() * s.c);
  const double per_input = static_cast<double>(s.taps() * s.out);
  const double per_weight = static_cast<double>(k.rows * s.ho * s.wo);

  ASSERT_FALSE(direct_conv_isas().empty());
  for (const std::string& isa : direct_conv_isas()) {
    SCOPED_TRACE(isa);
    use_direct_conv_isa(isa);
    // Every kernel runs on every case, whether or not the backend would pick it for that shape: the forward
    // needs only the output channels in multiples of 8, as the weight gradient does.
    if (direct_conv_weight_grad_fits(s)) {
      std::vector<float> out(want.out.size(), std::nanf(""));
      direct_conv_forward(s, in.data(), k.rows, w.data(), out.data());
      expect_close(out, want.out, per_output, "forward");
      // Added to what is there, as the per-thread partial sums are.
      std::vector<float> dw(w.size(), 0.5f);
      direct_conv_weight_grad(s, in.data(), dy.data(), k.rows, dw.data());
      std::vector<double> shifted = want.dw;
      for (double& v : shifted) v += 0.5;
      expect_close(dw, shifted, per_weight, "weight gradient");
    }
    if (direct_conv_input_grad_fits(s)) {
      std::vector<float> dx(want.dx.size(), std::nanf(""));
      direct_conv_input_grad(s, dy.data(), k.rows, w.data(), dx.data(), false);
      expect_close(dx, want.dx, per_input, "input gradient, written");
      std::vector<float> added(want.dx.size(), -1.f);
      direct_conv_input_grad(s, dy.data(), k.rows, w.data(), added.data(), true);
      std::vector<double> shifted = want.dx;
      for (double& v : shifted) v -= 1.0;
      expect_close(added, shifted, per_input, "input gradient, added");
    }
  }
  use_direct_conv_isa("");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, DirectConv,
    ::testing::Values(Case{8, 7, 9, 8, 3, 3, 1, 1, 1, 2},    // a 3×3 block, width not a multiple of 4
                      Case{1, 6, 6, 16, 3, 3, 1, 1, 1, 3},   // a stem: one input channel
                      Case{8, 9, 9, 16, 3, 3, 2, 1, 1, 2},   // strided, widening
                      Case{16, 5, 7, 16, 3, 3, 1, 1, 1, 1},  // vectors of 16 both ways
                      Case{8, 8, 8, 16, 1, 1, 2, 0, 1, 2},   // a 1×1 projection shortcut
                      Case{24, 6, 5, 24, 5, 3, 1, 2, 1, 1},  // a rectangular kernel, 3 vectors of 8
                      Case{8, 9, 10, 8, 3, 3, 1, 2, 2, 1},   // dilated
                      Case{3, 5, 6, 48, 3, 3, 3, 3, 1, 2},   // padding wider than a tap, stride 3
                      Case{48, 4, 4, 8, 2, 2, 1, 0, 1, 2},   // many inputs, an even kernel
                      Case{8, 3, 3, 8, 3, 3, 1, 0, 1, 4}));  // one output position

}  // namespace
}  // namespace modeconn::cpu
