// Strided-batched GEMM through cublasGemmStridedBatchedEx: a row-major product is the column-major product of
// the transposes, so the operands swap places.
#include <algorithm>

#include "gemm.cuh"

namespace modeconn::cuda {
namespace {

// cuBLAS wants a leading dimension of at least 1, also for an operand with no columns (k = 0, C = beta·C).
int leading_dimension(int64_t columns) { return static_cast<int>(std::max<int64_t>(columns, 1)); }

}  // namespace

void gemm(const Context& ctx, int64_t m, int64_t n, int64_t k, float alpha, const float* d_a, bool trans_a,
          const float* d_b, bool trans_b, float beta, float* d_c, const GemmBatch& batch) {
  MODECONN_EXPECTS(m >= 0 && n >= 0 && k >= 0 && batch.count >= 0, "gemm shapes");
  MODECONN_EXPECTS(m < (int64_t{1} << 31) && n < (int64_t{1} << 31) && k < (int64_t{1} << 31),
                   "gemm sizes fit int");
  if (m == 0 || n == 0 || batch.count == 0) return;
  const int lda = leading_dimension(trans_a ? m : k), ldb = leading_dimension(trans_b ? k : n);
  MODECONN_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      ctx.cublas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
      static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, d_b, CUDA_R_32F, ldb,
      batch.stride_b, d_a, CUDA_R_32F, lda, batch.stride_a, &beta, d_c, CUDA_R_32F, static_cast<int>(n),
      batch.stride_c, static_cast<int>(batch.count),
      ctx.tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void gemm_f64(const Context& ctx, int64_t m, int64_t n, int64_t k, double alpha, const double* d_a,
              bool trans_a, const double* d_b, bool trans_b, double beta, double* d_c) {
  MODECONN_EXPECTS(m >= 0 && n >= 0 && k >= 0, "gemm shapes");
  MODECONN_EXPECTS(m < (int64_t{1} << 31) && n < (int64_t{1} << 31) && k < (int64_t{1} << 31),
                   "gemm sizes fit int");
  if (m == 0 || n == 0) return;
  const int lda = leading_dimension(trans_a ? m : k), ldb = leading_dimension(trans_b ? k : n);
  MODECONN_CUBLAS_CHECK(cublasDgemm(ctx.cublas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                    trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(n),
                                    static_cast<int>(m), static_cast<int>(k), &alpha, d_b, ldb, d_a, lda,
                                    &beta, d_c, static_cast<int>(n)));
}

}  // namespace modeconn::cuda
