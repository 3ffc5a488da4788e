// Owned device and pinned host memory: move-only, freed in the destructor (which logs, never throws).
#pragma once

#include <cstdio>
#include <utility>

#include "cuda_check.cuh"

namespace modeconn::cuda {

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t n) : n_(n) {
    if (n_ > 0) MODECONN_CUDA_CHECK(cudaMalloc(&d_, n_ * sizeof(T)));
  }
  // Stream-ordered: allocated and freed in the order of work on `stream`, from the device's memory pool, so
  // neither waits for the device (cudaFree would). Only for buffers that no other stream touches.
  DeviceBuffer(std::size_t n, cudaStream_t stream) : n_(n), stream_(stream), ordered_(true) {
    if (n_ > 0) MODECONN_CUDA_CHECK(cudaMallocAsync(&d_, n_ * sizeof(T), stream_));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : d_(std::exchange(o.d_, nullptr)),
        n_(std::exchange(o.n_, 0)),
        stream_(o.stream_),
        ordered_(o.ordered_) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      d_ = std::exchange(o.d_, nullptr);
      n_ = std::exchange(o.n_, 0);
      stream_ = o.stream_;
      ordered_ = o.ordered_;
    }
    return *this;
  }
  ~DeviceBuffer() { release(); }

  T* data() { return d_; }
  const T* data() const { return d_; }
  std::size_t size() const { return n_; }

  // Copies are explicit and ordered on the stream.
  void upload(const T* host, std::size_t n, cudaStream_t stream, std::size_t offset = 0) {
    MODECONN_EXPECTS(offset + n <= n_, "upload inside the buffer");
    if (n)
      MODECONN_CUDA_CHECK(cudaMemcpyAsync(d_ + offset, host, n * sizeof(T), cudaMemcpyHostToDevice, stream));
  }
  void download(T* host, std::size_t n, cudaStream_t stream) const {
    MODECONN_EXPECTS(n <= n_, "download inside the buffer");
    if (n) MODECONN_CUDA_CHECK(cudaMemcpyAsync(host, d_, n * sizeof(T), cudaMemcpyDeviceToHost, stream));
  }
  // Fills every byte with `byte`: 0xFF poisons floats with NaN, so an element nothing wrote shows up.
  void fill_bytes(int byte, cudaStream_t stream) {
    if (n_) MODECONN_CUDA_CHECK(cudaMemsetAsync(d_, byte, n_ * sizeof(T), stream));
  }

 private:
  void release() noexcept {
    if (d_) {
      const cudaError_t e = ordered_ ? cudaFreeAsync(d_, stream_) : cudaFree(d_);
      if (e != cudaSuccess) std::fprintf(stderr, "modeconn: cudaFree failed: %s\n", cudaGetErrorString(e));
      d_ = nullptr;
    }
  }
  T* d_ = nullptr;
  std::size_t n_ = 0;
  cudaStream_t stream_ = nullptr;
  bool ordered_ = false;
};

// Page-locked host memory, so that copies to the device run asynchronously at full speed.
template <typename T>
class PinnedBuffer {
 public:
  explicit PinnedBuffer(std::size_t n) : n_(n) {
    if (n_ > 0) MODECONN_CUDA_CHECK(cudaMallocHost(&h_, n_ * sizeof(T)));
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  ~PinnedBuffer() {
    if (h_) {
      const cudaError_t e = cudaFreeHost(h_);
      if (e != cudaSuccess)
        std::fprintf(stderr, "modeconn: cudaFreeHost failed: %s\n", cudaGetErrorString(e));
    }
  }
  T* data() { return h_; }
  std::size_t size() const { return n_; }

 private:
  T* h_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace modeconn::cuda
