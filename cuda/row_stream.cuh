// Feeding a split that does not fit on the card: row chunks go up through two pinned staging buffers on a
// copy stream of their own, so the upload of one chunk overlaps the work on the one before.
#pragma once

#include <cstdint>

#include "device_buffer.cuh"

namespace modeconn::cuda {

// Owned stream and events (move-free: they live as long as the RowStream that holds them).
class Stream {
 public:
  Stream() { MODECONN_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() {
    if (cudaStreamDestroy(s_) != cudaSuccess) std::fprintf(stderr, "modeconn: cudaStreamDestroy failed\n");
  }
  cudaStream_t get() const { return s_; }

 private:
  cudaStream_t s_ = nullptr;
};

class Event {
 public:
  Event() { MODECONN_CUDA_CHECK(cudaEventCreateWithFlags(&e_, cudaEventDisableTiming)); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() {
    if (cudaEventDestroy(e_) != cudaSuccess) std::fprintf(stderr, "modeconn: cudaEventDestroy failed\n");
  }
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

class RowStream {
 public:
  // `host` is rows × cols floats; chunks of up to chunk_rows rows are consumed by work on `compute`.
  RowStream(const float* host, int64_t rows, int64_t cols, int64_t chunk_rows, cudaStream_t compute);
  RowStream(const RowStream&) = delete;
  RowStream& operator=(const RowStream&) = delete;
  // Waits for the work on the compute stream, then for the copies still in flight.
  ~RowStream();

  int64_t chunk_rows() const { return chunk_; }
  // The device copy of the chunk starting at row r0 (a multiple of chunk_rows, asked for in order), ready for
  // work queued on the compute stream from now on; the next chunk's upload starts before this returns.
  const float* chunk(int64_t r0);
  // Call after queuing the work that reads the chunk last returned: its buffer may then be reused.
  void consumed();

 private:
  void stage(int64_t index);

  const float* host_;
  int64_t rows_, cols_, chunk_, count_;
  cudaStream_t compute_;
  Stream copy_;
  PinnedBuffer<float> pinned_[2];
  DeviceBuffer<float> device_[2];
  Event copied_[2], computed_[2];
  int64_t staged_ = -1, current_ = -1;
};

}  // namespace modeconn::cuda
