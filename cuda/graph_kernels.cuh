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

// ---- Backward (graph_backward_ops.cu). Each writes the gradient of its input, or adds to it with `add`.
// The gradient of im2col: each input element gets the sum of the patch entries it was copied to.
void col2im(const float* d_patches, int64_t rows, const Window& g, float* d_din, bool add,
            cudaStream_t stream);
// Max windows pass their gradient to their first largest input in scan order; average windows 1/(kh·kw) of
// it to each input (d_in: the forward's input, read by max only).
void window_pool_backward(const float* d_in, const float* d_dout, int64_t rows, const Window& g, bool max,
                          float* d_din, bool add, cudaStream_t stream);
// din[r][p][c] = dout[r][c] / positions.
void global_avg_pool_backward(const float* d_dout, int64_t rows, int64_t positions, int64_t channels,
                              float* d_din, bool add, cudaStream_t stream);
// dx[i] = dy[i]·act'(x[i], y[i]).
void activation_grad(const float* d_x, const float* d_y, const float* d_dy, int64_t n, Activation act,
                     float* d_dx, bool add, cudaStream_t stream);
// dst[i] = src[i] (a copy), or dst[i] += src[i] with `add`.
void accumulate(const float* d_src, float* d_dst, int64_t n, bool add, cudaStream_t stream);

// ---- BatchNorm in training (batch_norm_train.cu), on channels-last maps of m values × c channels.
// Per channel: the mean and 1/√(var + eps) to normalise with, from d_sums ([Σx | Σx²] over `count` values)
// when `train` (the running statistics then updated as PyTorch does: momentum 0.1, the variance unbiased),
// from the running statistics otherwise (d_sums unread).
void batch_norm_statistics(const double* d_sums, int64_t c, double count, double eps, bool train,
                           float* d_running_mean, float* d_running_var, double* d_mean, double* d_inv,
                           cudaStream_t stream);
// y = act(γ·inv·(x − mean) + β) (γ = 1 and β = 0 when null).
void batch_norm_normalise(const float* d_x, float* d_y, int64_t m, int64_t c, const double* d_mean,
                          const double* d_inv, const float* d_gamma, const float* d_beta, Activation then,
                          cudaStream_t stream);
// dz = dy·act'(z, y): the gradient at the normalised value, before the fused activation.
void batch_norm_dz(const float* d_x, const float* d_y, const float* d_dy, int64_t m, int64_t c,
                   const double* d_mean, const double* d_inv, const float* d_gamma, const float* d_beta,
                   Activation then, float* d_dz, cudaStream_t stream);
// dx from dz and d_sums = [Σdz | Σdz·(x − mean)] over `count` values; with fixed statistics (`train`
// false) only the scale.
void batch_norm_input_grad(const float* d_x, const float* d_dz, int64_t m, int64_t c, const double* d_mean,
                           const double* d_inv, const float* d_gamma, const double* d_sums, bool train,
                           double count, float* d_dx, bool add, cudaStream_t stream);
// dγ = inv·Σdz·(x − mean), dβ = Σdz.
void batch_norm_param_grad(const double* d_sums, const double* d_inv, int64_t c, float* d_dgamma,
                           float* d_dbeta, cudaStream_t stream);

}  // namespace modeconn::cuda
