// Error checks for CUDA and cuBLAS calls: failures throw modeconn::Error with the code, the call and
// file:line.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "modeconn/error.hpp"

namespace modeconn::cuda {

[[noreturn]] inline void throw_cuda(cudaError_t e, const char* expr, const char* file, int line) {
  // Reported here, so consumed: the runtime keeps a failed call's error as the "last error", and the next
  // launch check would report it again (after an out-of-memory error a caller recovered from, say).
  (void)cudaGetLastError();
  throw Error(ErrorKind::cuda, std::string("CUDA error ") + cudaGetErrorName(e) + " (" +
                                   cudaGetErrorString(e) + ") in " + expr + " at " + file + ":" +
                                   std::to_string(line));
}

[[noreturn]] inline void throw_cublas(cublasStatus_t s, const char* expr, const char* file, int line) {
  throw Error(ErrorKind::cuda, std::string("cuBLAS error ") + cublasGetStatusName(s) + " in " + expr +
                                   " at " + file + ":" + std::to_string(line));
}

}  // namespace modeconn::cuda

#define MODECONN_CUDA_CHECK(expr)                                                                         \
  do {                                                                                                    \
    const cudaError_t modeconn_e_ = (expr);                                                               \
    if (modeconn_e_ != cudaSuccess) ::modeconn::cuda::throw_cuda(modeconn_e_, #expr, __FILE__, __LINE__); \
  } while (0)

#define MODECONN_CUBLAS_CHECK(expr)                                           \
  do {                                                                        \
    const cublasStatus_t modeconn_s_ = (expr);                                \
    if (modeconn_s_ != CUBLAS_STATUS_SUCCESS)                                 \
      ::modeconn::cuda::throw_cublas(modeconn_s_, #expr, __FILE__, __LINE__); \
  } while (0)

// After every launch: the launch error now; in Debug builds also the kernel's own errors.
#ifdef NDEBUG
#define MODECONN_CUDA_CHECK_LAUNCH(stream) MODECONN_CUDA_CHECK(cudaGetLastError())
#else
#define MODECONN_CUDA_CHECK_LAUNCH(stream)              \
  do {                                                  \
    MODECONN_CUDA_CHECK(cudaGetLastError());            \
    MODECONN_CUDA_CHECK(cudaStreamSynchronize(stream)); \
  } while (0)
#endif
