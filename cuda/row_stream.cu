// Two slots, used alternately: chunk i lives in slot i % 2. Before slot s is refilled, the host waits for the
// copy out of its pinned buffer (event copied) and the copy stream waits for the work that read its device
// buffer (event computed); the compute stream waits for the copy of the chunk it is about to read.
#include <algorithm>
#include <cstring>

#include "row_stream.cuh"

namespace modeconn::cuda {

RowStream::RowStream(const float* host, int64_t rows, int64_t cols, int64_t chunk_rows, cudaStream_t compute)
    : host_(host),
      rows_(rows),
      cols_(cols),
      chunk_(std::clamp<int64_t>(chunk_rows, 1, std::max<int64_t>(rows, 1))),
      count_((rows + chunk_ - 1) / chunk_),
      compute_(compute),
      pinned_{PinnedBuffer<float>(static_cast<std::size_t>(chunk_ * cols)),
              PinnedBuffer<float>(static_cast<std::size_t>(chunk_ * cols))},
      device_{DeviceBuffer<float>(static_cast<std::size_t>(chunk_ * cols)),
              DeviceBuffer<float>(static_cast<std::size_t>(chunk_ * cols))} {
  MODECONN_EXPECTS(rows >= 0 && cols > 0, "row stream shape");
}

RowStream::~RowStream() {
  // The work that reads the chunks first, then the copies: the device buffers go when this returns, and the
  // compute stream reaches the last chunks only through its waits on their copies (were one missing, the
  // emulation's deferred schedules would run the work before the copy and show it, instead of the copies
  // draining first and hiding it).
  if (cudaStreamSynchronize(compute_) != cudaSuccess)
    std::fprintf(stderr, "modeconn: compute stream failed\n");
  if (cudaStreamSynchronize(copy_.get()) != cudaSuccess)
    std::fprintf(stderr, "modeconn: copy stream failed\n");
}

void RowStream::stage(int64_t index) {
  const int s = static_cast<int>(index % 2);
  const int64_t r0 = index * chunk_, rows = std::min(chunk_, rows_ - r0);
  const auto count = static_cast<std::size_t>(rows * cols_);
  MODECONN_CUDA_CHECK(cudaEventSynchronize(copied_[s].get()));  // the pinned buffer's last copy is done
  std::memcpy(pinned_[s].data(), host_ + r0 * cols_, count * sizeof(float));
  MODECONN_CUDA_CHECK(cudaStreamWaitEvent(copy_.get(), computed_[s].get(), 0));  // nobody reads the slot now
  MODECONN_CUDA_CHECK(cudaMemcpyAsync(device_[s].data(), pinned_[s].data(), count * sizeof(float),
                                      cudaMemcpyHostToDevice, copy_.get()));
  MODECONN_CUDA_CHECK(cudaEventRecord(copied_[s].get(), copy_.get()));
  staged_ = index;
}

const float* RowStream::chunk(int64_t r0) {
  MODECONN_EXPECTS(r0 % chunk_ == 0 && r0 / chunk_ == current_ + 1 && r0 < rows_,
                   "chunks asked for in order");
  current_ = r0 / chunk_;
  if (staged_ < current_) stage(current_);
  const int s = static_cast<int>(current_ % 2);
  MODECONN_CUDA_CHECK(cudaStreamWaitEvent(compute_, copied_[s].get(), 0));
  if (current_ + 1 < count_)
    stage(current_ + 1);  // its slot was last read by chunk current_ - 1, already queued
  return device_[s].data();
}

void RowStream::consumed() {
  MODECONN_EXPECTS(current_ >= 0, "a chunk was taken");
  MODECONN_CUDA_CHECK(cudaEventRecord(computed_[current_ % 2].get(), compute_));
}

}  // namespace modeconn::cuda
