// SGEMM wrapper and the fused elementwise passes of the CPU backend.
#include "backend/cpu_ops.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "backend/cpu/vector_clones.hpp"

namespace modeconn::cpu {

BlasThreadsGuard::BlasThreadsGuard(int threads) : previous_(openblas_get_num_threads()) {
  openblas_set_num_threads(threads);
}

BlasThreadsGuard::~BlasThreadsGuard() { openblas_set_num_threads(previous_); }

namespace {

// The SGEMM of rows [r0, r1) of C, with op(A)'s leading dimension that of the whole product (an A^T block is
// columns of A, so its rows stay m apart).
void gemm_rows(int64_t m, int64_t r0, int64_t r1, int64_t n, int64_t k, float alpha, const float* a,
               bool trans_a, const float* b, bool trans_b, float beta, float* c) {
  const auto ld = [](int64_t columns) {
    return static_cast<blasint>(std::max<int64_t>(columns, 1));
  };  // k = 0 too
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(r1 - r0), static_cast<blasint>(n), static_cast<blasint>(k), alpha,
              trans_a ? a + r0 : a + r0 * k, ld(trans_a ? m : k), b, ld(trans_b ? k : n), beta, c + r0 * n,
              static_cast<blasint>(n));
}

}  // namespace

void gemm_row_block(int64_t m, int64_t r0, int64_t r1, int64_t n, int64_t k, float alpha, const float* a,
                    bool trans_a, const float* b, bool trans_b, float beta, float* c) {
  if (r1 <= r0 || n == 0) return;
  gemm_rows(m, r0, r1, n, k, alpha, a, trans_a, b, trans_b, beta, c);
}

void gemm(int64_t m, int64_t n, int64_t k, float alpha, const float* a, bool trans_a, const float* b,
          bool trans_b, float beta, float* c) {
  if (m == 0 || n == 0) return;
  gemm_rows(m, 0, m, n, k, alpha, a, trans_a, b, trans_b, beta, c);
}

void parallel_gemm(int64_t m, int64_t n, int64_t k, float alpha, const float* a, bool trans_a, const float* b,
                   bool trans_b, float beta, float* c) {
  if (m == 0 || n == 0) return;
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  // Below a few hundred thousand multiply-adds a block, waking threads costs more than it saves.
  const int64_t blocks = std::clamp<int64_t>(m * n * std::max<int64_t>(k, 1) / (int64_t{1} << 18), 1,
                                             std::min<int64_t>(threads, (m + 7) / 8));
  BlasThreadsGuard single_threaded_blas(1);
  if (blocks == 1) {
    gemm_rows(m, 0, m, n, k, alpha, a, trans_a, b, trans_b, beta, c);
    return;
  }
  const int64_t per = (m + blocks - 1) / blocks;
  const int team = static_cast<int>(blocks);
#pragma omp parallel for schedule(static) num_threads(team)
  for (int64_t t = 0; t < blocks; ++t)
    if (t * per < m)
      gemm_rows(m, t * per, std::min(m, (t + 1) * per), n, k, alpha, a, trans_a, b, trans_b, beta, c);
}

// The passes over every point's activations (25 copies of a hidden layer on a 25-point path) run at the
// CPU's vector width (vector_clones.hpp): at the baseline's they were a fifth of a path's time on AVX-512.
MODECONN_VECTOR_CLONES
void bias_activation(float* z, int64_t rows, int64_t cols, const float* bias, Activation act, bool activate) {
  with_activation(activate ? act : Activation::identity, [&](auto a) MODECONN_INLINE {
    for (int64_t r = 0; r < rows; ++r) {
      float* __restrict__ row = z + r * cols;
      for (int64_t j = 0; j < cols; ++j) row[j] = modeconn::activate(a, row[j] + bias[j]);
    }
  });
}

void add_bias(float* z, int64_t rows, int64_t cols, const float* bias) {
  for (int64_t r = 0; r < rows; ++r) {
    float* __restrict__ row = z + r * cols;
    for (int64_t j = 0; j < cols; ++j) row[j] += bias[j];
  }
}

void apply_activation(float* z, int64_t count, Activation act) {
  with_activation(act, [&](auto a) {
    for (int64_t i = 0; i < count; ++i) z[i] = modeconn::activate(a, z[i]);
  });
}

MODECONN_VECTOR_CLONES
void combine_bias_activation(std::span<const float* const> parts, std::span<const double> coef, float* h,
                             int64_t rows, int64_t cols, const float* bias, Activation act) {
  const std::size_t k = parts.size();
  with_activation(act, [&](auto a) MODECONN_INLINE {
    if (k == 2) {  // a line or a two-point segment: one pass instead of three
      const float c0 = static_cast<float>(coef[0]), c1 = static_cast<float>(coef[1]);
      for (int64_t r = 0; r < rows; ++r) {
        float* __restrict__ out = h + r * cols;
        const float* __restrict__ in0 = parts[0] + r * cols;
        const float* __restrict__ in1 = parts[1] + r * cols;
        for (int64_t j = 0; j < cols; ++j)
          out[j] = modeconn::activate(a, (c0 * in0[j] + bias[j]) + c1 * in1[j]);
      }
      return;
    }
    for (int64_t r = 0; r < rows; ++r) {
      float* __restrict__ out = h + r * cols;
      const float c0 = static_cast<float>(coef[0]);
      const float* __restrict__ in0 = parts[0] + r * cols;
      for (int64_t j = 0; j < cols; ++j) out[j] = c0 * in0[j] + bias[j];
      for (std::size_t q = 1; q < k; ++q) {
        const float c = static_cast<float>(coef[q]);
        const float* __restrict__ in = parts[q] + r * cols;
        for (int64_t j = 0; j < cols; ++j) out[j] += c * in[j];
      }
      for (int64_t j = 0; j < cols; ++j) out[j] = modeconn::activate(a, out[j]);
    }
  });
}

void row_loss(const float* z, int64_t cols, const Split& split, int64_t row, double* loss, double* error,
              float* grad, int64_t batch) {
  if (split.task == Task::classification) {
    int64_t best = 0;
    for (int64_t j = 1; j < cols; ++j)
      if (z[j] > z[best]) best = j;  // first maximum, as argmax does
    const double m = z[best];
    double sum = 0;
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(z[j] - m);
    const int32_t label = split.labels[static_cast<std::size_t>(row)];
    *loss = m + std::log(sum) - z[label];
    *error = best == label ? 0.0 : 1.0;
    if (grad)
      for (int64_t j = 0; j < cols; ++j)
        grad[j] = static_cast<float>((std::exp(z[j] - m) / sum - (j == label ? 1.0 : 0.0)) /
                                     static_cast<double>(batch));
  } else {
    const float* y = split.targets.data() + row * cols;
    double se = 0, ae = 0;
    for (int64_t j = 0; j < cols; ++j) {
      const double d = static_cast<double>(z[j]) - y[j];
      se += d * d;
      ae += std::abs(d);
      if (grad) grad[j] = static_cast<float>(2.0 * d / static_cast<double>(batch * cols));
    }
    *loss = se / static_cast<double>(cols);
    *error = ae / static_cast<double>(cols);
  }
}

void row_losses(const float* logits, int64_t rows, int64_t cols, const Split& split, int64_t row0,
                double* loss, double* error) {
  for (int64_t r = 0; r < rows; ++r) row_loss(logits + r * cols, cols, split, row0 + r, loss + r, error + r);
}

}  // namespace modeconn::cpu
