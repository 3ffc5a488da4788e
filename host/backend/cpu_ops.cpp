// SGEMM wrapper and the fused elementwise passes of the CPU backend.
#include "backend/cpu_ops.hpp"

#include <cblas.h>

#include <cmath>

namespace modeconn::cpu {

void gemm(int64_t m, int64_t n, int64_t k, float alpha, const float* a, bool trans_a, const float* b, bool trans_b,
          float beta, float* c) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(trans_a ? m : k), b, static_cast<blasint>(trans_b ? k : n), beta, c,
              static_cast<blasint>(n));
}

void bias_activation(float* z, int64_t rows, int64_t cols, const float* bias, Activation act, bool activate) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    float* row = z + r * cols;
    if (activate) {
      for (int64_t j = 0; j < cols; ++j) row[j] = modeconn::activate(act, row[j] + bias[j]);
    } else {
      for (int64_t j = 0; j < cols; ++j) row[j] += bias[j];
    }
  }
}

void combine_bias_activation(std::span<const float* const> parts, std::span<const double> coef, float* h,
                             int64_t rows, int64_t cols, const float* bias, Activation act) {
  const std::size_t k = parts.size();
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    float* out = h + r * cols;
    for (int64_t j = 0; j < cols; ++j) out[j] = static_cast<float>(coef[0]) * parts[0][r * cols + j];
    for (std::size_t q = 1; q < k; ++q) {
      const float c = static_cast<float>(coef[q]);
      const float* in = parts[q] + r * cols;
      for (int64_t j = 0; j < cols; ++j) out[j] += c * in[j];
    }
    for (int64_t j = 0; j < cols; ++j) out[j] = modeconn::activate(act, out[j] + bias[j]);
  }
}

void row_losses(const float* logits, int64_t rows, int64_t cols, const Split& split, int64_t row0, double* loss,
                double* error) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* z = logits + r * cols;
    if (split.task == Task::classification) {
      int64_t best = 0;
      for (int64_t j = 1; j < cols; ++j)
        if (z[j] > z[best]) best = j;  // first maximum, as argmax does
      double sum = 0;
      for (int64_t j = 0; j < cols; ++j) sum += std::exp(static_cast<double>(z[j]) - z[best]);
      const int32_t label = split.labels[static_cast<std::size_t>(row0 + r)];
      loss[r] = static_cast<double>(z[best]) + std::log(sum) - z[label];
      error[r] = best == label ? 0.0 : 1.0;
    } else {
      const float* y = split.targets.data() + (row0 + r) * cols;
      double se = 0, ae = 0;
      for (int64_t j = 0; j < cols; ++j) {
        const double d = static_cast<double>(z[j]) - y[j];
        se += d * d;
        ae += std::abs(d);
      }
      loss[r] = se / static_cast<double>(cols);
      error[r] = ae / static_cast<double>(cols);
    }
  }
}

}  // namespace modeconn::cpu
