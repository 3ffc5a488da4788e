// The CUDA backend: the device-resident splits; the graph runner (graph_runner.cu), on which the MLP's
// evaluation, activation statistics and outputs run as on any backend (host/backend/mlp_on_graph_runner.cpp);
// the MLP's gradient as its layer graph's (graph_backward.cu). Host code reaches it only through the Backend
// interface.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cuda_backend.cuh"
#include "gemm.cuh"
#include "graph_backward.cuh"
#include "launch.cuh"
#include "modeconn/backend.hpp"
#include "modeconn/cuda_module.hpp"
#include "modeconn/graph.hpp"

namespace modeconn {
namespace cuda {

CudaBackend::CudaBackend(bool tf32) : ctx_(0, tf32) {
  // For tests and for sharing a card: the most bytes of inputs kept on the device (default: half the free
  // memory).
  if (const char* limit = std::getenv("MODECONN_CUDA_RESIDENT_BYTES"); limit && *limit)
    resident_limit_ = std::strtoll(limit, nullptr, 10);
  // For tests: the most rows per chunk, so that a small split still goes through several.
  if (const char* rows = std::getenv("MODECONN_CUDA_CHUNK_ROWS"); rows && *rows)
    max_chunk_rows_ = std::max<int64_t>(1, std::strtoll(rows, nullptr, 10));
  // For tests: the most blocks of a grid along x and y, so that every grid-stride loop wraps (unset: 65535).
  const char* cap = std::getenv("MODECONN_CUDA_GRID_CAP");
  set_grid_cap(cap && *cap ? static_cast<unsigned>(std::max(0LL, std::strtoll(cap, nullptr, 10))) : 0);
}

CudaBackend::~CudaBackend() = default;

const ResidentSplit& CudaBackend::resident(const Split& split) {
  for (const auto& r : cache_)
    if (split.uid != 0 && r.uid == split.uid && r.rows == split.rows && r.features == split.features)
      return r;
  // The slot is emptied first and filled only once every upload is queued, so a failure (out of memory)
  // leaves no half-made entry for the next call to find.
  ResidentSplit& slot = cache_[next_slot_];
  next_slot_ = (next_slot_ + 1) % 2;
  slot = ResidentSplit{};
  ResidentSplit r;
  r.uid = split.uid;
  r.rows = split.rows;
  r.features = split.features;
  const auto bytes = static_cast<int64_t>(split.x.size() * sizeof(float));
  r.streamed =
      bytes > (resident_limit_ >= 0 ? resident_limit_ : static_cast<int64_t>(ctx_.free_memory() / 2));
  if (!r.streamed) {
    r.x = DeviceBuffer<float>(split.x.size());
    r.x.upload(split.x.data(), split.x.size(), ctx_.stream());
  }
  if (split.task == Task::classification) {
    r.labels = DeviceBuffer<int32_t>(split.labels.size());
    r.labels.upload(split.labels.data(), split.labels.size(), ctx_.stream());
  } else {
    r.targets = DeviceBuffer<float>(split.targets.size());
    r.targets.upload(split.targets.data(), split.targets.size(), ctx_.stream());
  }
  slot = std::move(r);
  return slot;
}

void CudaBackend::product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                          const float* a, const float* b, float beta, float* c) {
  MODECONN_EXPECTS(m >= 0 && n >= 0 && k >= 0, "product shapes");
  if (m == 0 || n == 0) return;
  const cudaStream_t s = ctx_.stream();
  DeviceBuffer<float> d_a(static_cast<std::size_t>(m * k)), d_b(static_cast<std::size_t>(k * n)),
      d_c = buffer<float>(static_cast<std::size_t>(m * n));
  d_a.upload(a, d_a.size(), s);
  d_b.upload(b, d_b.size(), s);
  if (beta != 0.f) d_c.upload(c, d_c.size(), s);
  gemm(ctx_, m, n, k, alpha, d_a.data(), trans_a, d_b.data(), trans_b, beta, d_c.data());
  d_c.download(c, d_c.size(), s);
  ctx_.synchronize();
}

// The MLP's gradient is its layer graph's (mlp_graph: the parameters in the MLP's order, no BatchNorm).
PointMetrics CudaBackend::metrics_and_grad(const Architecture& arch, std::span<const float> params,
                                           const Split& split, std::span<const int64_t> rows,
                                           std::span<float> grad) {
  MODECONN_EXPECTS(params.size() == arch.num_params() && grad.size() == params.size(), "sizes");
  MODECONN_EXPECTS(split.task == arch.task, "data of the model's task");
  DeviceBuffer<float> d_theta = buffer<float>(params.size()), d_grad = buffer<float>(params.size());
  d_theta.upload(params.data(), params.size(), ctx_.stream());
  if (!backprop_) backprop_ = std::make_unique<DeviceBackpropWorkspace>();
  const PointMetrics metrics = graph_device_metrics_and_grad(*this, mlp_graph(arch), d_theta.data(), nullptr,
                                                             false, split, rows, d_grad.data(), *backprop_);
  d_grad.download(grad.data(), grad.size(), ctx_.stream());
  ctx_.synchronize();
  return metrics;
}

}  // namespace cuda

}  // namespace modeconn

// The module's entry points (modeconn/cuda_module.hpp), looked up by name when the core library loads it.
extern "C" {

__attribute__((visibility("default"))) int modeconn_cuda_device_count(char* why, std::size_t size) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaSuccess && count > 0) return count;
  (void)cudaGetLastError();  // the answer is the count and the reason, not a pending error
  const std::string reason = e == cudaSuccess || e == cudaErrorNoDevice
                                 ? std::string("no CUDA device")
                                 : std::string("the CUDA runtime cannot use this machine's driver: ") +
                                       cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  std::snprintf(why, size, "%s", reason.c_str());
  return 0;
}

__attribute__((visibility("default"))) modeconn::Backend* modeconn_cuda_make_backend(bool tf32) {
  return new modeconn::cuda::CudaBackend(tf32);
}

__attribute__((visibility("default"))) void modeconn_cuda_set_poison(modeconn::Backend* backend, bool on) {
  if (auto* b = dynamic_cast<modeconn::cuda::CudaBackend*>(backend)) b->poison(on);
}

}  // extern "C"
