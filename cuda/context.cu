// Stream and cuBLAS handle: created together, destroyed together, never the default stream.
#include <cstdio>

#include "context.cuh"

namespace modeconn::cuda {

Context::Context(int device, bool tf32) : tf32_(tf32) {
  MODECONN_CUDA_CHECK(cudaSetDevice(device));
  cudaDeviceProp prop{};
  MODECONN_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  name_ = prop.name;
  MODECONN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  const cublasStatus_t s = cublasCreate(&cublas_);
  if (s != CUBLAS_STATUS_SUCCESS) {
    cudaStreamDestroy(stream_);
    throw_cublas(s, "cublasCreate", __FILE__, __LINE__);
  }
  MODECONN_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  MODECONN_CUBLAS_CHECK(cublasSetMathMode(cublas_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}

Context::~Context() {
  if (cublas_ && cublasDestroy(cublas_) != CUBLAS_STATUS_SUCCESS) std::fprintf(stderr, "modeconn: cublasDestroy failed\n");
  if (stream_ && cudaStreamDestroy(stream_) != cudaSuccess) std::fprintf(stderr, "modeconn: cudaStreamDestroy failed\n");
}

std::size_t Context::free_memory() const {
  std::size_t free_bytes = 0, total = 0;
  MODECONN_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total));
  return free_bytes;
}

}  // namespace modeconn::cuda
