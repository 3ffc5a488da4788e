// Stream and cuBLAS handle: created together, destroyed together, never the default stream.
#include <cstdio>

#include "context.cuh"

namespace modeconn::cuda {

Context::Context(int device, bool tf32) : tf32_(tf32) {
  MODECONN_CUDA_CHECK(cudaSetDevice(device));
  cudaDeviceProp prop{};
  MODECONN_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  name_ = prop.name;
  // Stream-ordered buffers come from the device's default pool; let it keep up to 256 MiB between
  // synchronisations, so that a training step reuses the last step's memory instead of mapping it again.
  cudaMemPool_t pool = nullptr;
  MODECONN_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t keep = uint64_t{256} << 20;
  MODECONN_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
  MODECONN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  const cublasStatus_t s = cublasCreate(&cublas_);
  if (s != CUBLAS_STATUS_SUCCESS) {
    cudaStreamDestroy(stream_);
    throw_cublas(s, "cublasCreate", __FILE__, __LINE__);
  }
  try {
    MODECONN_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
    MODECONN_CUBLAS_CHECK(
        cublasSetMathMode(cublas_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  } catch (...) {  // the destructor does not run for an object whose constructor threw
    cublasDestroy(cublas_);
    cudaStreamDestroy(stream_);
    throw;
  }
}

Context::~Context() {
  if (cublas_ && cublasDestroy(cublas_) != CUBLAS_STATUS_SUCCESS)
    std::fprintf(stderr, "modeconn: cublasDestroy failed\n");
  if (stream_ && cudaStreamDestroy(stream_) != cudaSuccess)
    std::fprintf(stderr, "modeconn: cudaStreamDestroy failed\n");
}

std::size_t Context::free_memory() const {
  std::size_t free_bytes = 0, total = 0;
  MODECONN_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total));
  return free_bytes;
}

}  // namespace modeconn::cuda
