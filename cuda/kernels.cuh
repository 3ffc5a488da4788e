// Launchers of the CUDA backend's kernels. Each checks its shapes, launches on the given stream and checks
// the launch; one kernel family per .cu file.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "modeconn/activation.hpp"
#include "modeconn/model.hpp"
#include "modeconn/train.hpp"

namespace modeconn::cuda {

// interpolate.cu: out[p][i] = Σ_k coef[p][k] · points[k][begin + i] for i < count, p < num_points.
// points: K rows of `stride` floats; out: num_points rows of `out_stride` floats.
void interpolate(const float* d_points, int64_t num_cp, int64_t stride, const double* d_coef,
                 int64_t num_points, int64_t begin, int64_t count, float* d_out, int64_t out_stride,
                 cudaStream_t stream);

// elementwise.cu: z[b][r][j] = act(z[b][r][j] + bias_b[j]) over `batch` matrices of rows × cols; bias_b
// starts at d_bias + b · bias_stride. `activate` false adds the bias only.
void bias_activation(float* d_z, int64_t batch, int64_t rows, int64_t cols, const float* d_bias,
                     int64_t bias_stride, Activation act, bool activate, cudaStream_t stream);
// h[p][r][j] = act(Σ_k coef[p][k] · parts[k][r][j] + bias_p[j]): the first layer of every point from the
// control points' products (DESIGN's factorisation).
void combine_bias_activation(const float* d_parts, int64_t num_cp, const double* d_coef, int64_t num_points,
                             int64_t rows, int64_t cols, const float* d_bias, int64_t bias_stride,
                             Activation act, float* d_h, cudaStream_t stream);
// out[r][:] = x[rows[r]][:].
void gather_rows(const float* d_x, int64_t cols, const int64_t* d_rows, int64_t count, float* d_out,
                 cudaStream_t stream);

// loss.cu: per (point, row) loss and error of the logits [batch][rows][cols] against labels (classification)
// or targets (regression) starting at row0, written to loss[b · loss_stride + row0 + r] (float64).
void row_losses(const float* d_logits, int64_t batch, int64_t rows, int64_t cols, Task task,
                const int32_t* d_labels, const float* d_targets, int64_t row0, double* d_loss,
                double* d_error, int64_t loss_stride, cudaStream_t stream);
// The gradient of the mean loss over `rows` rows with respect to the logits, in place of d_grad, and each
// row's loss and error.
void loss_gradient(const float* d_logits, int64_t rows, int64_t cols, Task task, const int32_t* d_labels,
                   const float* d_targets, const int64_t* d_rows, float* d_grad, double* d_row_loss,
                   double* d_row_error, cudaStream_t stream);
// sums[s] = Σ_i values[s · n + i] for s < segments, in a fixed order (deterministic).
void segmented_sum(const double* d_values, int64_t segments, int64_t n, double* d_sums, cudaStream_t stream);

// stats.cu: out[i] = (double) in[i].
void widen(const float* d_in, double* d_out, int64_t n, cudaStream_t stream);
// For each column j of a rows × cols matrix: sum[j] += Σ_r h[r][j], sq[j] += Σ_r h[r][j]², max[j] =
// max(max[j], h[r][j]), in float64 and in an order fixed by the shape alone (the same sums on every run and
// grid). Parallel over rows as well as columns, so a few channels over millions of positions (a convolution's
// output) run as fast as many units over few rows. d_scratch holds column_stats_scratch(rows, cols) doubles.
int64_t column_stats_scratch(int64_t rows, int64_t cols);
void column_stats(const float* d_h, int64_t rows, int64_t cols, double* d_sum, double* d_sq, double* d_max,
                  double* d_scratch, cudaStream_t stream);

// Per column j of a rows × cols matrix a: Σ_r a[r][j] and Σ_r a[r][j]·(b[r][j] − shift[j]) (b = a and shift 0
// when null: Σa²), in float64 and an order fixed by the shape alone, written to d_out as [sums | seconds]
// (BatchNorm's statistics in training and its backward's sums). d_scratch holds column_sums_scratch(rows,
// cols) doubles.
int64_t column_sums_scratch(int64_t rows, int64_t cols);
void column_sums(const float* d_a, const float* d_b, const double* d_shift, int64_t rows, int64_t cols,
                 double* d_out, double* d_scratch, cudaStream_t stream);

// optimizer.cu: one step of PyTorch's SGD with momentum or Adam, as host/train/optimizer.cpp takes it.
struct OptimizerStep {
  bool adam = false;
  bool first = false;  // SGD: the momentum buffer starts as the first gradient
  float lr = 0, momentum = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0;
  float correction1 = 1, correction2 = 1;  // Adam: 1 − β^t
};
// Step t (1-based) of the optimizer `options` describe, its bias corrections computed as the host's.
OptimizerStep optimizer_step_at(const TrainOptions& options, long long t);
// θ[i] updated with the gradient c·g[i] + weight_decay·(c·decay_at[i]); m1 (and m2 for Adam) are the state.
// decay_at may be θ itself (training a model, c = 1).
void optimizer_step(float* d_theta, float* d_m1, float* d_m2, const float* d_g, const float* d_decay_at,
                    float c, int64_t n, const OptimizerStep& o, cudaStream_t stream);

}  // namespace modeconn::cuda
