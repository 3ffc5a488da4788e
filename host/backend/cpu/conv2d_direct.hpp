// Direct convolution for the narrow layers of small CNNs, channels-last, without patches.
//
// With 8 or 16 output channels, im2col + SGEMM is a GEMM whose N is 8 or 16: OpenBLAS's kernels are built for
// wide panels and spend their time packing, and the patches (kh·kw times the input) go through memory twice.
// Here each output position's channels are one vector register (or two), accumulated tap by tap from the
// input in place: the same arithmetic, the input read from cache, nothing packed. The gradients are the same
// loops turned around: ∂X gathers ∂Y through the taps (vectorised over input channels), ∂W sums input × ∂Y
// over positions with the tap's accumulators held in registers. The loops are compiled for AVX-512, AVX2 and
// the baseline, and the widest the CPU runs is picked once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "modeconn/graph.hpp"

namespace modeconn::cpu {

// A convolution's sizes, from its node and its input's shape.
struct ConvShape {
  int64_t c = 0, h = 0, w = 0;      // input channels and size
  int64_t out = 0, ho = 0, wo = 0;  // output channels and size
  int64_t kh = 0, kw = 0, sy = 1, sx = 1, py = 0, px = 0, dy = 1, dx = 1;
  int64_t in_size() const { return c * h * w; }
  int64_t out_size() const { return out * ho * wo; }
  int64_t taps() const { return kh * kw; }
};
ConvShape conv_shape(const Graph& graph, const Node& node);

// Whether the weight gradient runs directly (the output channels a multiple of 8, at most 64); the forward
// (the same, and at least 8 input channels: with one, a stem's, each tap is a single float and im2col's
// transposed patches run faster); the input gradient (the input channels a multiple of 8, at most 64).
bool direct_conv_weight_grad_fits(const ConvShape& s);
bool direct_conv_forward_fits(const ConvShape& s);
bool direct_conv_input_grad_fits(const ConvShape& s);

// `weight` and `dweight` in the prepared layout [out, kh, kw, c]. out = conv(in) without bias, written.
void direct_conv_forward(const ConvShape& s, const float* in, int64_t rows, const float* weight, float* out);
// ∂X from ∂Y, written over dx or added to it.
void direct_conv_input_grad(const ConvShape& s, const float* dy, int64_t rows, const float* weight, float* dx,
                            bool add);
// ∂W += Σ over rows and positions of input patch × ∂Y (each row's sums taken in float64).
void direct_conv_weight_grad(const ConvShape& s, const float* in, const float* dy, int64_t rows,
                             float* dweight);

// The instruction sets this CPU runs the kernels in, widest last ("baseline", then "avx2", "avx512" where
// supported), and a choice among them for tests (an empty name: the widest again). Not thread-safe: set it
// before any convolution runs.
std::vector<std::string> direct_conv_isas();
void use_direct_conv_isa(const std::string& name);

}  // namespace modeconn::cpu
