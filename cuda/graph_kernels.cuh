// Launchers of the kernels the graph executor adds (graph_ops.cu): layout changes, im2col, per-channel affine
// maps, activations in place, pooling and residual sums. Feature maps are channels-last, [rows, H, W, C].
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "modeconn/activation.hpp"

namespace modeconn::cuda {

// A map's geometry for the window ops: input [H, W, C], output [Ho, Wo, C or out], the window.
struct Window {
  int64_t h = 0, w = 0, c = 0, ho = 0, wo = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
};

// out[r][p][c] = in[r][c][p] (to_channels_last) or out[r][c][p] = in[r][p][c], for rows × C × positions.
void transpose_channels(const float* d_in, float* d_out, int64_t rows, int64_t channels, int64_t positions,
                        bool to_channels_last, cudaStream_t stream);
// patches[r][oy][ox][i][j][c] = in[r][oy·sh − ph + i·dh][ox·sw − pw + j·dw][c], 0 outside the map.
void im2col(const float* d_in, int64_t rows, const Window& g, float* d_patches, cudaStream_t stream);
// y[p][i][c] = act(scale_p[c]·x[p][i][c] + shift_p[c]) for `batch` points of n values of C channels each (in
// place when x = y), point p's scale and shift param_stride floats after point p − 1's: BatchNorm folded,
// with the activation after it fused (identity when none).
void channel_affine(const float* d_x, float* d_y, int64_t batch, int64_t n, int64_t channels,
                    const float* d_scale, const float* d_shift, int64_t param_stride, Activation act,
                    cudaStream_t stream);
// y[i] = act(x[i]) (in place when x = y).
void activation_forward(const float* d_x, float* d_y, int64_t n, Activation act, cudaStream_t stream);
// Max (padding never chosen) or average (padding counted, as PyTorch's count_include_pad) over each window.
void window_pool(const float* d_in, int64_t rows, const Window& g, bool max, float* d_out,
                 cudaStream_t stream);
// out[r][c] = mean over positions of in[r][p][c].
void global_avg_pool(const float* d_in, int64_t rows, int64_t positions, int64_t channels, float* d_out,
                     cudaStream_t stream);
// out[i] = a[i] + b[i].
void add(const float* d_a, const float* d_b, float* d_out, int64_t n, cudaStream_t stream);

}  // namespace modeconn::cuda
