// The CPU backend's building blocks: SGEMM through OpenBLAS and fused row operations. The row operations run
// on the calling thread; callers parallelise over blocks of rows.
#pragma once

#include <cstdint>
#include <span>
#include <type_traits>

#include "modeconn/activation.hpp"
#include "modeconn/backend.hpp"
#include "modeconn/dataset.hpp"

namespace modeconn::cpu {

// Calls f with the activation as a compile-time constant, so that the switch inside activate() folds away
// and the loops around it vectorise.
template <typename F>
[[gnu::always_inline]] inline void with_activation(Activation a, F&& f) {
  using A = Activation;
  switch (a) {
    case A::relu:
      f(std::integral_constant<A, A::relu>{});
      return;
    case A::leaky_relu:
      f(std::integral_constant<A, A::leaky_relu>{});
      return;
    case A::tanh:
      f(std::integral_constant<A, A::tanh>{});
      return;
    case A::sigmoid:
      f(std::integral_constant<A, A::sigmoid>{});
      return;
    case A::gelu:
      f(std::integral_constant<A, A::gelu>{});
      return;
    case A::softplus:
      f(std::integral_constant<A, A::softplus>{});
      return;
    case A::identity:
      f(std::integral_constant<A, A::identity>{});
      return;
  }
}

// Sets OpenBLAS's thread count for a scope: 1 while OpenMP threads each run their own GEMMs.
class BlasThreadsGuard {
 public:
  explicit BlasThreadsGuard(int threads);
  ~BlasThreadsGuard();
  BlasThreadsGuard(const BlasThreadsGuard&) = delete;
  BlasThreadsGuard& operator=(const BlasThreadsGuard&) = delete;

 private:
  int previous_;
};

// C[m×n] = alpha · op(A) · op(B) + beta · C, all row-major; A is [k×m] when trans_a, else [m×k]; B is [n×k]
// when trans_b, else [k×n]. With k = 0, C = beta · C.
void gemm(int64_t m, int64_t n, int64_t k, float alpha, const float* a, bool trans_a, const float* b,
          bool trans_b, float beta, float* c);
// Rows [r0, r1) of that product: op(A)'s block of rows (columns of A when trans_a, so still m apart) times
// op(B) into C's rows r0..r1. The building block of splitting a product over threads.
void gemm_row_block(int64_t m, int64_t r0, int64_t r1, int64_t n, int64_t k, float alpha, const float* a,
                    bool trans_a, const float* b, bool trans_b, float beta, float* c);
// The same with the rows of C shared among the OpenMP threads, each block a single-threaded SGEMM: the
// backend keeps one pool of threads (OpenMP's, waiting passively), never OpenBLAS's spinning beside it. Call
// it outside parallel regions; inside one it runs on the calling thread.
void parallel_gemm(int64_t m, int64_t n, int64_t k, float alpha, const float* a, bool trans_a, const float* b,
                   bool trans_b, float beta, float* c);

// h[r, j] = act(z[r, j] + bias[j]) in place; `activate` false leaves the affine output (the last layer).
void bias_activation(float* z, int64_t rows, int64_t cols, const float* bias, Activation act, bool activate);

// z[r, j] += bias[j].
void add_bias(float* z, int64_t rows, int64_t cols, const float* bias);
// z[i] = act(z[i]) for count values.
void apply_activation(float* z, int64_t count, Activation act);

// h[r, j] = act(Σ_k coef[k] · parts[k][r, j] + bias[j]): the first layer of a path point from the control
// points' products X·W_kᵀ (DESIGN's first-layer factorisation).
void combine_bias_activation(std::span<const float* const> parts, std::span<const double> coef, float* h,
                             int64_t rows, int64_t cols, const float* bias, Activation act);

// Loss and error of one row's logits `z` against split row `row`, in float64. With `grad`, also the gradient
// of the mean loss over a minibatch of `batch` rows with respect to the logits (the backward pass's start).
void row_loss(const float* z, int64_t cols, const Split& split, int64_t row, double* loss, double* error,
              float* grad = nullptr, int64_t batch = 1);

// Per-row loss and error of `logits` against rows [row0, row0 + rows) of the split, in float64.
void row_losses(const float* logits, int64_t rows, int64_t cols, const Split& split, int64_t row0,
                double* loss, double* error);

}  // namespace modeconn::cpu
