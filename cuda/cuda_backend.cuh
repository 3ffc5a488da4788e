// The CUDA backend's class: every path point in one pass over device-resident data, backpropagation with
// cuBLAS, and trainers that keep parameters and optimizer state on the device (trainer.cu).
#pragma once

#include <limits>
#include <memory>
#include <span>

#include "context.cuh"
#include "device_buffer.cuh"
#include "modeconn/backend.hpp"

namespace modeconn::cuda {

// A split copied to the device once and kept while the same split is evaluated again. Its inputs stay on
// the host when they would take more than half the card (`streamed`): they then go up chunk by chunk.
struct ResidentSplit {
  uint64_t uid = 0;
  int64_t rows = 0, features = 0;
  bool streamed = false;
  DeviceBuffer<float> x;
  DeviceBuffer<int32_t> labels;
  DeviceBuffer<float> targets;
};

struct DeviceBackpropWorkspace;  // graph_backward.cuh

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(bool tf32);
  ~CudaBackend() override;

  std::string name() const override {
    return "cuda (" + ctx_.device_name() + (ctx_.tf32() ? ", tf32)" : ")");
  }
  PointMetrics metrics_and_grad(const Architecture& arch, std::span<const float> params, const Split& split,
                                std::span<const int64_t> rows, std::span<float> grad) override;
  void product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
               const float* b, float beta, float* c) override;
  std::unique_ptr<Trainer> make_trainer(const Path& path, std::size_t first, std::size_t last,
                                        const Split& split, const TrainOptions& options) override;
  // Layer graphs on the device (graph_runner.cu).
  std::unique_ptr<GraphRunner> graph_runner() override;

  const Context& context() const { return ctx_; }
  // The most rows a chunk (a graph's block) holds: unlimited unless a test set MODECONN_CUDA_CHUNK_ROWS.
  int64_t max_chunk_rows() const { return max_chunk_rows_; }

  // Tests set this: every intermediate buffer is filled with NaN before use, so an unwritten element shows.
  void poison(bool on) { poison_ = on; }

  // A new stream-ordered device buffer for work on this backend's stream, NaN-filled first when poisoning is
  // on.
  template <typename T>
  DeviceBuffer<T> buffer(std::size_t n) {
    DeviceBuffer<T> b(n, ctx_.stream());
    if (poison_) b.fill_bytes(0xFF, ctx_.stream());
    return b;
  }

  // The split's inputs and targets on the device, uploaded on first use and kept while it is evaluated again.
  const ResidentSplit& resident(const Split& split);

 private:
  Context ctx_;
  std::unique_ptr<DeviceBackpropWorkspace> backprop_;  // metrics_and_grad's buffers, kept between calls
  ResidentSplit cache_[2];                             // train and test stay resident together
  int next_slot_ = 0;
  bool poison_ = false;
  int64_t resident_limit_ = -1;
  int64_t max_chunk_rows_ = std::numeric_limits<int64_t>::max();
};

}  // namespace modeconn::cuda
