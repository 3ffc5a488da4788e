// The one object that owns a stream and the cuBLAS handle bound to it; passed explicitly to every launcher.
#pragma once

#include <string>

#include "cuda_check.cuh"

namespace modeconn::cuda {

class Context {
 public:
  Context(int device, bool tf32);
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context();

  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  const std::string& device_name() const { return name_; }
  bool tf32() const { return tf32_; }
  std::size_t free_memory() const;
  void synchronize() const { MODECONN_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::string name_;
  bool tf32_ = false;
};

}  // namespace modeconn::cuda
