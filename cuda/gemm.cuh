// Row-major GEMMs over cuBLAS's column-major interface: C = op(A) · op(B), batched with strides.
#pragma once

#include "context.cuh"

namespace modeconn::cuda {

struct GemmBatch {
  int64_t count = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;  // elements between consecutive matrices (0: shared)
};

// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major; A is [m×k] (or [k×m] when trans_a), B is [k×n] (or
// [n×k]). FP32 compute, or TF32 tensor-core compute when the context asks for it.
void gemm(const Context& ctx, int64_t m, int64_t n, int64_t k, float alpha, const float* d_a, bool trans_a,
          const float* d_b, bool trans_b, float beta, float* d_c, const GemmBatch& batch = {});

// The same in float64 (cublasDgemm), unbatched: for statistics accumulated in float64.
void gemm_f64(const Context& ctx, int64_t m, int64_t n, int64_t k, double alpha, const double* d_a,
              bool trans_a, const double* d_b, bool trans_b, double beta, double* d_c);

}  // namespace modeconn::cuda
