// cuBLAS's GEMMs as reference loops over column-major operands, queued on the handle's stream. The argument
// checks are cuBLAS's own (they return its status codes); what cuBLAS would not check but a GPU would punish
// is fatal here: an operand that is not device memory, or that runs outside its allocation given its leading
// dimension, batch stride and batch count, and batched results that overlap. TF32 math rounds every input to
// TF32 (10 mantissa bits, to nearest with ties away from zero, as cvt.rna.tf32.f32) and accumulates in float.
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "emulation.hpp"

struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
};

namespace cuda_emulation {
namespace {

std::set<cublasContext*>& handles() {
  static std::set<cublasContext*> h;
  return h;
}

bool live(cublasHandle_t handle) { return handle != nullptr && handles().count(handle) != 0; }

float to_tf32(float x) {
  if (!std::isfinite(x)) return x;
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  u = (u + 0x1000u) & 0xFFFFE000u;  // half of the dropped 13 bits' range, then drop them: ties away from zero
  std::memcpy(&x, &u, sizeof x);
  return x;
}

template <typename T>
struct Gemm {
  bool trans_a = false, trans_b = false;
  int m = 0, n = 0, k = 0;
  T alpha{}, beta{};
  const T* a = nullptr;
  const T* b = nullptr;
  T* c = nullptr;
  int lda = 0, ldb = 0, ldc = 0;
  long long stride_a = 0, stride_b = 0, stride_c = 0;
  int batch = 1;
  bool tf32 = false;
};

// C = alpha · op(A) · op(B) + beta · C for every matrix of the batch; with beta = 0, C is not read (cuBLAS's
// rule, so a NaN in an unwritten C does not leak in). Sums run over k in order, in T.
template <typename T>
void reference_gemm(const Gemm<T>& g) {
  const auto m = static_cast<std::size_t>(g.m), n = static_cast<std::size_t>(g.n),
             k = static_cast<std::size_t>(g.k);
  std::vector<T> a(m * k), b(k * n), acc(m);
  const auto round = [&](T v) {
    if constexpr (std::is_same_v<T, float>)
      return g.tf32 ? to_tf32(v) : v;
    else
      return v;
  };
  for (int batch = 0; batch < g.batch; ++batch) {
    const T* A = g.a + batch * g.stride_a;
    const T* B = g.b + batch * g.stride_b;
    T* C = g.c + batch * g.stride_c;
    for (std::size_t l = 0; l < k; ++l)
      for (std::size_t i = 0; i < m; ++i)
        a[i + l * m] = round(g.trans_a ? A[l + i * g.lda] : A[i + l * g.lda]);
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t l = 0; l < k; ++l)
        b[l + j * k] = round(g.trans_b ? B[j + l * g.ldb] : B[l + j * g.ldb]);
    for (std::size_t j = 0; j < n; ++j) {
      std::fill(acc.begin(), acc.end(), T{0});
      for (std::size_t l = 0; l < k; ++l) {
        const T bv = b[l + j * k];
        const T* col = a.data() + l * m;
        for (std::size_t i = 0; i < m; ++i) acc[i] += col[i] * bv;
      }
      T* out = C + j * static_cast<std::size_t>(g.ldc);
      for (std::size_t i = 0; i < m; ++i)
        out[i] = g.beta == T{0} ? g.alpha * acc[i] : g.alpha * acc[i] + g.beta * out[i];
    }
  }
}

// An operand of rows × cols (column-major, leading dimension ld) repeated `batch` times `stride` elements
// apart must be device memory and lie inside one allocation.
void check_operand(const char* who, const char* name, const void* p, std::size_t element, int rows, int cols,
                   int ld, long long stride, int batch) {
  if (rows == 0 || cols == 0) return;
  const Allocation* a = find_allocation(p);
  if (a == nullptr || a->kind != MemoryKind::device)
    fail(std::string(who) + ": operand " + name + " at " + describe(p) + " is " +
         (a == nullptr ? "host memory (or freed)" : "pinned host memory") + ", not device memory");
  const long long span = static_cast<long long>(cols - 1) * ld + rows;
  const long long last = static_cast<long long>(batch - 1) * stride;
  const long long lo = std::min(0LL, last), hi = std::max(0LL, last) + span;
  const auto base = reinterpret_cast<std::uintptr_t>(p);
  const auto start =
      static_cast<std::uintptr_t>(static_cast<long long>(base) + lo * static_cast<long long>(element));
  const auto bytes = static_cast<std::size_t>(hi - lo) * element;
  if (start < a->base || !a->contains(reinterpret_cast<const void*>(start), bytes))
    fail(std::string(who) + ": operand " + name + " (" + std::to_string(rows) + " x " + std::to_string(cols) +
         ", ld " + std::to_string(ld) + ", stride " + std::to_string(stride) + ", batch " +
         std::to_string(batch) + ") covers elements " + std::to_string(lo) + " to " + std::to_string(hi) +
         " from " + describe(p) + ", outside its allocation of " + std::to_string(a->size) + " bytes at " +
         describe(reinterpret_cast<const void*>(a->base)));
}

bool valid_op(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }

template <typename T>
cublasStatus_t gemm(cublasHandle_t handle, const char* who, cublasOperation_t transa,
                    cublasOperation_t transb, int m, int n, int k, const T* alpha, const T* A, int lda,
                    long long stride_a, const T* B, int ldb, long long stride_b, const T* beta, T* C, int ldc,
                    long long stride_c, int batch, bool tf32) {
  std::lock_guard lock(api_mutex());
  if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  // cuBLAS's own checks, in its order.
  if (!valid_op(transa) || !valid_op(transb) || m < 0 || n < 0 || k < 0 || batch < 0)
    return CUBLAS_STATUS_INVALID_VALUE;
  const bool ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
  if (lda < std::max(1, ta ? k : m) || ldb < std::max(1, tb ? n : k) || ldc < std::max(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (alpha == nullptr || beta == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
  // What a GPU would punish.
  for (const void* scalar : {static_cast<const void*>(alpha), static_cast<const void*>(beta)}) {
    const Allocation* a = find_allocation(scalar);
    if (a != nullptr && a->kind == MemoryKind::device)
      fail(std::string(who) + ": alpha or beta is device memory but the handle's pointer mode is host");
  }
  check_operand(who, "A", A, sizeof(T), ta ? k : m, ta ? m : k, lda, stride_a, batch);
  check_operand(who, "B", B, sizeof(T), tb ? n : k, tb ? k : n, ldb, stride_b, batch);
  check_operand(who, "C", C, sizeof(T), m, n, ldc, stride_c, batch);
  if (batch > 1 && (stride_c == 0 || (ldc == m && std::abs(stride_c) < static_cast<long long>(m) * n)))
    fail(std::string(who) + ": the batch's C matrices overlap (stride " + std::to_string(stride_c) + " for " +
         std::to_string(m) + " x " + std::to_string(n) + " results)");
  Stream* s = stream_of(handle->stream);
  if (s == nullptr) fail(std::string(who) + ": the handle's stream was destroyed");

  Gemm<T> g;
  g.trans_a = ta;
  g.trans_b = tb;
  g.m = m;
  g.n = n;
  g.k = k;
  g.alpha = *alpha;  // host pointer mode: the scalars are read now
  g.beta = *beta;
  g.a = A;
  g.b = B;
  g.c = C;
  g.lda = lda;
  g.ldb = ldb;
  g.ldc = ldc;
  g.stride_a = stride_a;
  g.stride_b = stride_b;
  g.stride_c = stride_c;
  g.batch = batch;
  g.tf32 = tf32;
  const std::string what = who;
  enqueue(s, Op{OpKind::blas, [g, what] {
                  DeviceAccess access({g.a, g.b, g.c}, [&] { return what; });
                  reference_gemm(g);
                }});
  return CUBLAS_STATUS_SUCCESS;
}

// Whether single-precision math may round inputs to TF32: asked for by the compute type, or allowed by the
// handle's math mode for the plain 32F compute type.
bool uses_tf32(cublasHandle_t handle, cublasComputeType_t compute) {
  if (compute == CUBLAS_COMPUTE_32F_FAST_TF32) return true;
  return compute == CUBLAS_COMPUTE_32F && live(handle) && (handle->math & 0xF) == CUBLAS_TF32_TENSOR_OP_MATH;
}

enum class Precision { f32, f64, unsupported };

Precision precision(cudaDataType a, cudaDataType b, cudaDataType c, cublasComputeType_t compute) {
  if (a == CUDA_R_32F && b == CUDA_R_32F && c == CUDA_R_32F &&
      (compute == CUBLAS_COMPUTE_32F || compute == CUBLAS_COMPUTE_32F_PEDANTIC ||
       compute == CUBLAS_COMPUTE_32F_FAST_TF32))
    return Precision::f32;
  if (a == CUDA_R_64F && b == CUDA_R_64F && c == CUDA_R_64F &&
      (compute == CUBLAS_COMPUTE_64F || compute == CUBLAS_COMPUTE_64F_PEDANTIC))
    return Precision::f64;
  return Precision::unsupported;  // half and bfloat16 types and their fast modes are not modelled
}

cublasStatus_t gemm_ex(cublasHandle_t handle, const char* who, cublasOperation_t transa,
                       cublasOperation_t transb, int m, int n, int k, const void* alpha, const void* A,
                       cudaDataType Atype, int lda, long long stride_a, const void* B, cudaDataType Btype,
                       int ldb, long long stride_b, const void* beta, void* C, cudaDataType Ctype, int ldc,
                       long long stride_c, int batch, cublasComputeType_t compute) {
  switch (precision(Atype, Btype, Ctype, compute)) {
    case Precision::f32:
      return gemm(handle, who, transa, transb, m, n, k, static_cast<const float*>(alpha),
                  static_cast<const float*>(A), lda, stride_a, static_cast<const float*>(B), ldb, stride_b,
                  static_cast<const float*>(beta), static_cast<float*>(C), ldc, stride_c, batch,
                  uses_tf32(handle, compute));
    case Precision::f64:
      return gemm(handle, who, transa, transb, m, n, k, static_cast<const double*>(alpha),
                  static_cast<const double*>(A), lda, stride_a, static_cast<const double*>(B), ldb, stride_b,
                  static_cast<const double*>(beta), static_cast<double*>(C), ldc, stride_c, batch, false);
    case Precision::unsupported:
      break;
  }
  return CUBLAS_STATUS_NOT_SUPPORTED;
}

}  // namespace
}  // namespace cuda_emulation

using namespace cuda_emulation;

extern "C" {

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  std::lock_guard lock(api_mutex());
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *handle = new cublasContext;
  handles().insert(*handle);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  std::lock_guard lock(api_mutex());
  if (handle == nullptr || handles().erase(handle) == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
  synchronize_device();  // as cuBLAS does when it releases its resources
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  std::lock_guard lock(api_mutex());
  if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (stream_of(stream) == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream(cublasHandle_t handle, cudaStream_t* stream) {
  std::lock_guard lock(api_mutex());
  if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (stream == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *stream = handle->stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  std::lock_guard lock(api_mutex());
  if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  std::lock_guard lock(api_mutex());
  if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = handle->math;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode(cublasHandle_t handle, cublasPointerMode_t mode) {
  std::lock_guard lock(api_mutex());
  if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode != CUBLAS_POINTER_MODE_HOST)
    return CUBLAS_STATUS_NOT_SUPPORTED;  // device scalars are not modelled
  handle->pointer_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetPointerMode(cublasHandle_t handle, cublasPointerMode_t* mode) {
  std::lock_guard lock(api_mutex());
  if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = handle->pointer_mode;
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR:
      return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "the functionality requested is not supported";
    default:
      return "an internal operation failed";
  }
}

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m,
                           int n, int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                           const float* beta, float* C, int ldc) {
  const bool tf32 = uses_tf32(handle, CUBLAS_COMPUTE_32F);
  return gemm(handle, "cublasSgemm", transa, transb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1,
              tf32);
}

cublasStatus_t cublasDgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m,
                           int n, int k, const double* alpha, const double* A, int lda, const double* B,
                           int ldb, const double* beta, double* C, int ldc) {
  return gemm(handle, "cublasDgemm", transa, transb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1,
              false);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k, const float* alpha,
                                         const float* A, int lda, long long int strideA, const float* B,
                                         int ldb, long long int strideB, const float* beta, float* C, int ldc,
                                         long long int strideC, int batchCount) {
  const bool tf32 = uses_tf32(handle, CUBLAS_COMPUTE_32F);
  return gemm(handle, "cublasSgemmStridedBatched", transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb,
              strideB, beta, C, ldc, strideC, batchCount, tf32);
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m,
                            int n, int k, const void* alpha, const void* A, cudaDataType Atype, int lda,
                            const void* B, cudaDataType Btype, int ldb, const void* beta, void* C,
                            cudaDataType Ctype, int ldc, cublasComputeType_t computeType, cublasGemmAlgo_t) {
  return gemm_ex(handle, "cublasGemmEx", transa, transb, m, n, k, alpha, A, Atype, lda, 0, B, Btype, ldb, 0,
                 beta, C, Ctype, ldc, 0, 1, computeType);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
                                          cublasOperation_t transb, int m, int n, int k, const void* alpha,
                                          const void* A, cudaDataType Atype, int lda, long long int strideA,
                                          const void* B, cudaDataType Btype, int ldb, long long int strideB,
                                          const void* beta, void* C, cudaDataType Ctype, int ldc,
                                          long long int strideC, int batchCount,
                                          cublasComputeType_t computeType, cublasGemmAlgo_t) {
  return gemm_ex(handle, "cublasGemmStridedBatchedEx", transa, transb, m, n, k, alpha, A, Atype, lda, strideA,
                 B, Btype, ldb, strideB, beta, C, Ctype, ldc, strideC, batchCount, computeType);
}

}  // extern "C"
