// The CUDA backend: every path point in one pass over device-resident data (strided-batched GEMMs over
// points), activation statistics, and backpropagation with cuBLAS. Host code reaches it only through the
// Backend interface.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>

#include "cuda_backend.cuh"
#include "gemm.cuh"
#include "graph_backward.cuh"
#include "kernels.cuh"
#include "launch.cuh"
#include "modeconn/backend.hpp"
#include "modeconn/cuda_module.hpp"
#include "row_stream.cuh"

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

float* CudaBackend::forward_to(const Architecture& arch, const float* d_theta, const float* d_x, int64_t rows,
                               std::size_t last, DeviceBuffer<float>& ping, DeviceBuffer<float>& pong) {
  const float* input = d_x;
  float* out = ping.data();
  for (std::size_t l = 0; l <= last; ++l) {
    const auto& layer = arch.layers[l];
    gemm(ctx_, rows, layer.out, layer.in, 1.f, input, false, d_theta + arch.weight_offset(l), true, 0.f, out);
    bias_activation(out, 1, rows, layer.out, d_theta + arch.bias_offset(l), 0, arch.activation,
                    l + 1 < arch.layers.size(), ctx_.stream());
    input = out;
    out = out == ping.data() ? pong.data() : ping.data();
  }
  return const_cast<float*>(input);
}

ActivationStats CudaBackend::activation_stats(const Model& a, const Model& b, const Split& split,
                                              std::size_t layer) {
  MODECONN_EXPECTS(a.arch.same_shape(b.arch) && layer + 1 < a.arch.layers.size(),
                   "a hidden layer of one shape");
  MODECONN_EXPECTS(split.features == a.arch.input_width(), "data that fits the models");
  const cudaStream_t s = ctx_.stream();
  const ResidentSplit& data = resident(split);
  const Architecture& arch = a.arch;
  const int64_t n = arch.layers[layer].out, d = arch.input_width(), maxw = arch.max_width();
  const auto un = static_cast<std::size_t>(n);
  DeviceBuffer<float> d_a(a.params.size()), d_b(b.params.size());
  d_a.upload(a.params.data(), a.params.size(), s);
  d_b.upload(b.params.data(), b.params.size(), s);

  // Row chunks sized so the float64 copies and the running sums stay a small part of the card.
  const int64_t per_row = 4 * 4 * maxw + 8 * 2 * n + (data.streamed ? 4 * 2 * d : 0);
  const int64_t budget = static_cast<int64_t>(ctx_.free_memory() / 4) - 8 * (6 * n + n * n);
  const int64_t chunk = std::clamp<int64_t>(
      budget / per_row, 1, std::max<int64_t>(1, std::min<int64_t>({split.rows, 16384, max_chunk_rows_})));
  DeviceBuffer<float> ping_a = buffer<float>(static_cast<std::size_t>(chunk * maxw)),
                      pong_a = buffer<float>(ping_a.size());
  DeviceBuffer<float> ping_b = buffer<float>(ping_a.size()), pong_b = buffer<float>(ping_a.size());
  DeviceBuffer<double> wide_a = buffer<double>(static_cast<std::size_t>(chunk * n)),
                       wide_b = buffer<double>(wide_a.size()),
                       scratch = buffer<double>(static_cast<std::size_t>(column_stats_scratch(chunk, n)));

  // Running sums: [sum_a, sq_a, max_a, sum_b, sq_b, max_b], then Σ a·bᵀ.
  std::vector<double> init(6 * un, 0.0);
  std::fill(init.begin() + 2 * un, init.begin() + 3 * un, -INFINITY);
  std::fill(init.begin() + 5 * un, init.end(), -INFINITY);
  DeviceBuffer<double> d_sums(init.size()), d_cross(un * un);
  d_sums.upload(init.data(), init.size(), s);
  d_cross.fill_bytes(0, s);
  double* sums = d_sums.data();
  std::unique_ptr<RowStream> stream;
  if (data.streamed) stream = std::make_unique<RowStream>(split.x.data(), split.rows, d, chunk, s);
  for (int64_t r0 = 0; r0 < split.rows; r0 += chunk) {
    const int64_t rows = std::min(chunk, split.rows - r0);
    const float* x = stream ? stream->chunk(r0) : data.x.data() + r0 * d;
    const float* h_a = forward_to(arch, d_a.data(), x, rows, layer, ping_a, pong_a);
    const float* h_b = forward_to(arch, d_b.data(), x, rows, layer, ping_b, pong_b);
    column_stats(h_a, rows, n, sums, sums + n, sums + 2 * n, scratch.data(), s);
    column_stats(h_b, rows, n, sums + 3 * n, sums + 4 * n, sums + 5 * n, scratch.data(), s);
    widen(h_a, wide_a.data(), rows * n, s);  // for the float64 cross product
    widen(h_b, wide_b.data(), rows * n, s);
    gemm_f64(ctx_, n, n, rows, 1.0, wide_a.data(), true, wide_b.data(), false, 1.0, d_cross.data());
    if (stream) stream->consumed();
  }
  std::vector<double> host(6 * un);
  ActivationSums out;
  out.rows = split.rows;
  out.cross.resize(un * un);
  d_sums.download(host.data(), host.size(), s);
  d_cross.download(out.cross.data(), out.cross.size(), s);
  ctx_.synchronize();
  auto part = [&](std::size_t k) {
    return std::vector<double>(host.begin() + k * un, host.begin() + (k + 1) * un);
  };
  out.sum_a = part(0);
  out.sq_a = part(1);
  out.max_a = part(2);
  out.sum_b = part(3);
  out.sq_b = part(4);
  out.max_b = part(5);
  return out.finish();
}

std::vector<float> CudaBackend::outputs(const Model& model, const Split& split, int64_t first,
                                        int64_t count) {
  MODECONN_EXPECTS(first >= 0 && count >= 0 && first + count <= split.rows, "rows inside the split");
  MODECONN_EXPECTS(split.features == model.arch.input_width(), "data that fits the model");
  const Architecture& arch = model.arch;
  std::vector<float> out(static_cast<std::size_t>(count * arch.output_width()));
  if (count == 0) return out;
  const cudaStream_t s = ctx_.stream();
  const ResidentSplit& data = resident(split);
  DeviceBuffer<float> d_theta(model.params.size());
  d_theta.upload(model.params.data(), model.params.size(), s);
  DeviceBuffer<float> ping = buffer<float>(static_cast<std::size_t>(count * arch.max_width())),
                      pong = buffer<float>(ping.size());
  DeviceBuffer<float> rows_up;
  const float* x = data.x.data() + first * arch.input_width();
  if (data.streamed) {
    rows_up = DeviceBuffer<float>(static_cast<std::size_t>(count * arch.input_width()));
    rows_up.upload(split.x.data() + first * arch.input_width(), rows_up.size(), s);
    x = rows_up.data();
  }
  const float* logits = forward_to(arch, d_theta.data(), x, count, arch.layers.size() - 1, ping, pong);
  MODECONN_CUDA_CHECK(
      cudaMemcpyAsync(out.data(), logits, out.size() * sizeof(float), cudaMemcpyDeviceToHost, s));
  ctx_.synchronize();
  return out;
}

std::vector<PointMetrics> CudaBackend::evaluate_at(const Path& path,
                                                   std::span<const std::vector<double>> coefs,
                                                   const Split& split) {
  const Architecture& arch = path.arch;
  const int64_t num_cp = static_cast<int64_t>(path.points.size());
  const int64_t num_pts = static_cast<int64_t>(coefs.size());
  const int64_t np = static_cast<int64_t>(arch.num_params());
  const std::size_t num_layers = arch.layers.size();
  MODECONN_EXPECTS(num_cp >= 1 && split.features == arch.input_width(), "a path that fits the data");
  MODECONN_EXPECTS(split.task == arch.task, "data of the model's task");
  for (const auto& p : path.points) MODECONN_EXPECTS(p.size() == arch.num_params(), "control point size");
  if (num_pts == 0) return {};
  const cudaStream_t s = ctx_.stream();
  const ResidentSplit& data = resident(split);

  // Control points and coefficients up once; all points' weights generated on the device in one launch.
  DeviceBuffer<float> d_points(static_cast<std::size_t>(num_cp * np));
  for (int64_t k = 0; k < num_cp; ++k)
    d_points.upload(path.points[static_cast<std::size_t>(k)].data(), static_cast<std::size_t>(np), s,
                    static_cast<std::size_t>(k * np));
  std::vector<double> coef;
  for (const auto& c : coefs) {
    MODECONN_EXPECTS(static_cast<int64_t>(c.size()) == num_cp, "a coefficient per control point");
    coef.insert(coef.end(), c.begin(), c.end());
  }
  DeviceBuffer<double> d_coef(coef.size());
  d_coef.upload(coef.data(), coef.size(), s);
  const bool factorise = num_cp < num_pts;
  const int64_t tail =
      factorise ? static_cast<int64_t>(arch.bias_offset(0)) : 0;  // first-layer weights stay factored
  DeviceBuffer<float> d_params = buffer<float>(static_cast<std::size_t>(num_pts * np));
  interpolate(d_points.data(), num_cp, np, d_coef.data(), num_pts, tail, np - tail, d_params.data() + tail,
              np, s);
  const auto W = [&](std::size_t l) { return d_params.data() + arch.weight_offset(l); };
  const auto B = [&](std::size_t l) { return d_params.data() + arch.bias_offset(l); };

  // Rows per chunk, sized from the free memory up front: a split too big for the card is chunked.
  const int64_t h1 = arch.layers[0].out, maxw = arch.max_width();
  const int64_t d = arch.input_width();
  const int64_t per_row_bytes =
      4 * ((factorise ? num_cp * h1 : 0) + 2 * num_pts * maxw + (data.streamed ? 4 * d : 0));
  const int64_t budget = static_cast<int64_t>(ctx_.free_memory() / 2) - 8 * 2 * num_pts * split.rows;
  const int64_t chunk = std::clamp<int64_t>(budget / std::max<int64_t>(per_row_bytes, 1), 1,
                                            std::max<int64_t>(1, std::min(split.rows, max_chunk_rows_)));
  DeviceBuffer<float> d_parts = buffer<float>(factorise ? static_cast<std::size_t>(num_cp * chunk * h1) : 0);
  DeviceBuffer<float> d_h = buffer<float>(static_cast<std::size_t>(num_pts * chunk * maxw));
  DeviceBuffer<float> d_next = buffer<float>(d_h.size());
  DeviceBuffer<double> d_loss = buffer<double>(static_cast<std::size_t>(num_pts * split.rows));
  DeviceBuffer<double> d_err = buffer<double>(d_loss.size());
  std::unique_ptr<RowStream> stream;
  if (data.streamed) stream = std::make_unique<RowStream>(split.x.data(), split.rows, d, chunk, s);

  for (int64_t r0 = 0; r0 < split.rows; r0 += chunk) {
    const int64_t rows = std::min(chunk, split.rows - r0);
    const float* x = stream ? stream->chunk(r0) : data.x.data() + r0 * d;
    float* h = d_h.data();
    float* next = d_next.data();
    const bool last0 = num_layers == 1;
    if (factorise) {
      // K products X·W_kᵀ, then every point's first layer as their weighted sum.
      gemm(ctx_, rows, h1, d, 1.f, x, false, d_points.data(), true, 0.f, d_parts.data(),
           {num_cp, 0, np, rows * h1});
      combine_bias_activation(d_parts.data(), num_cp, d_coef.data(), num_pts, rows, h1, B(0), np,
                              last0 ? Activation::identity : arch.activation, h, s);
    } else {
      gemm(ctx_, rows, h1, d, 1.f, x, false, W(0), true, 0.f, h, {num_pts, 0, np, rows * h1});
      bias_activation(h, num_pts, rows, h1, B(0), np, arch.activation, !last0, s);
    }
    for (std::size_t l = 1; l < num_layers; ++l) {
      const auto& layer = arch.layers[l];
      gemm(ctx_, rows, layer.out, layer.in, 1.f, h, false, W(l), true, 0.f, next,
           {num_pts, rows * layer.in, np, rows * layer.out});
      bias_activation(next, num_pts, rows, layer.out, B(l), np, arch.activation, l + 1 < num_layers, s);
      std::swap(h, next);
    }
    row_losses(h, num_pts, rows, arch.output_width(), split.task, data.labels.data(), data.targets.data(), r0,
               d_loss.data(), d_err.data(), split.rows, s);
    if (stream) stream->consumed();
  }

  DeviceBuffer<double> d_sums(static_cast<std::size_t>(2 * num_pts));
  segmented_sum(d_loss.data(), num_pts, split.rows, d_sums.data(), s);
  segmented_sum(d_err.data(), num_pts, split.rows, d_sums.data() + num_pts, s);
  std::vector<double> sums(static_cast<std::size_t>(2 * num_pts));
  d_sums.download(sums.data(), sums.size(), s);
  ctx_.synchronize();  // the only wait: once per evaluation
  std::vector<PointMetrics> out(static_cast<std::size_t>(num_pts));
  for (int64_t p = 0; p < num_pts; ++p)
    out[static_cast<std::size_t>(p)] = {
        sums[static_cast<std::size_t>(p)] / static_cast<double>(split.rows),
        sums[static_cast<std::size_t>(num_pts + p)] / static_cast<double>(split.rows)};
  return out;
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
