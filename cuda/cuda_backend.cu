// The CUDA backend: every path point in one pass over device-resident data (strided-batched GEMMs over points),
// and backpropagation with cuBLAS. Host code reaches it only through the Backend interface.
#include <algorithm>

#include "context.cuh"
#include "device_buffer.cuh"
#include "gemm.cuh"
#include "kernels.cuh"
#include "modeconn/backend.hpp"
#include "modeconn/cuda_module.hpp"

namespace modeconn {
namespace cuda {
namespace {

// A split copied to the device once and kept while the same split is evaluated again.
struct ResidentSplit {
  uint64_t uid = 0;
  int64_t rows = 0, features = 0;
  DeviceBuffer<float> x;
  DeviceBuffer<int32_t> labels;
  DeviceBuffer<float> targets;
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(bool tf32) : ctx_(0, tf32), cpu_(make_cpu_backend()) {}

  std::string name() const override { return "cuda (" + ctx_.device_name() + (ctx_.tf32() ? ", tf32)" : ")"); }
  std::vector<PointMetrics> evaluate(const Path& path, std::span<const double> ts, const Split& split) override;
  double loss_and_grad(const Architecture& arch, std::span<const float> params, const Split& split,
                       std::span<const int64_t> rows, std::span<float> grad) override;
  // Not yet on the device: these run on the CPU backend (they are a small part of an alignment).
  ActivationStats activation_stats(const Model& a, const Model& b, const Split& split, std::size_t layer) override {
    return cpu_->activation_stats(a, b, split, layer);
  }
  std::vector<float> outputs(const Model& model, const Split& split, int64_t first, int64_t count) override {
    return cpu_->outputs(model, split, first, count);
  }

  // Tests set this: every intermediate buffer is filled with NaN before use, so an unwritten element shows.
  void poison(bool on) { poison_ = on; }

 private:
  const ResidentSplit& resident(const Split& split);
  template <typename T>
  DeviceBuffer<T> buffer(std::size_t n) {
    DeviceBuffer<T> b(n);
    if (poison_) b.fill_bytes(0xFF, ctx_.stream());
    return b;
  }

  Context ctx_;
  std::unique_ptr<Backend> cpu_;
  ResidentSplit cache_[2];  // train and test stay resident together
  int next_slot_ = 0;
  bool poison_ = false;
};

const ResidentSplit& CudaBackend::resident(const Split& split) {
  for (const auto& r : cache_)
    if (split.uid != 0 && r.uid == split.uid && r.rows == split.rows && r.features == split.features) return r;
  ResidentSplit& r = cache_[next_slot_];
  next_slot_ = (next_slot_ + 1) % 2;
  r = ResidentSplit{};
  r.uid = split.uid;
  r.rows = split.rows;
  r.features = split.features;
  r.x = DeviceBuffer<float>(split.x.size());
  r.x.upload(split.x.data(), split.x.size(), ctx_.stream());
  if (split.task == Task::classification) {
    r.labels = DeviceBuffer<int32_t>(split.labels.size());
    r.labels.upload(split.labels.data(), split.labels.size(), ctx_.stream());
  } else {
    r.targets = DeviceBuffer<float>(split.targets.size());
    r.targets.upload(split.targets.data(), split.targets.size(), ctx_.stream());
  }
  return r;
}

std::vector<PointMetrics> CudaBackend::evaluate(const Path& path, std::span<const double> ts, const Split& split) {
  const Architecture& arch = path.arch;
  const int64_t num_cp = static_cast<int64_t>(path.points.size());
  const int64_t num_pts = static_cast<int64_t>(ts.size());
  const int64_t np = static_cast<int64_t>(arch.num_params());
  const std::size_t num_layers = arch.layers.size();
  MODECONN_EXPECTS(num_cp >= 1 && split.features == arch.input_width(), "a path that fits the data");
  if (num_pts == 0) return {};
  const cudaStream_t s = ctx_.stream();
  const ResidentSplit& data = resident(split);

  // Control points and coefficients up once; all points' weights generated on the device in one launch.
  DeviceBuffer<float> d_points(static_cast<std::size_t>(num_cp * np));
  for (int64_t k = 0; k < num_cp; ++k) d_points.upload(path.points[static_cast<std::size_t>(k)].data(), static_cast<std::size_t>(np), s, static_cast<std::size_t>(k * np));
  std::vector<double> coef;
  for (double t : ts) {
    const auto c = path.coefficients(t);
    coef.insert(coef.end(), c.begin(), c.end());
  }
  DeviceBuffer<double> d_coef(coef.size());
  d_coef.upload(coef.data(), coef.size(), s);
  const bool factorise = num_cp < num_pts;
  const int64_t tail = factorise ? static_cast<int64_t>(arch.bias_offset(0)) : 0;  // first-layer weights stay factored
  DeviceBuffer<float> d_params = buffer<float>(static_cast<std::size_t>(num_pts * np));
  interpolate(d_points.data(), num_cp, np, d_coef.data(), num_pts, tail, np - tail, d_params.data() + tail, np, s);
  const auto W = [&](std::size_t l) { return d_params.data() + arch.weight_offset(l); };
  const auto B = [&](std::size_t l) { return d_params.data() + arch.bias_offset(l); };

  // Rows per chunk, sized from the free memory up front: a split too big for the card is chunked.
  const int64_t h1 = arch.layers[0].out, maxw = arch.max_width();
  const int64_t per_row_bytes = 4 * ((factorise ? num_cp * h1 : 0) + 2 * num_pts * maxw);
  const int64_t budget = static_cast<int64_t>(ctx_.free_memory() / 2) - 8 * 2 * num_pts * split.rows;
  const int64_t chunk = std::clamp<int64_t>(budget / std::max<int64_t>(per_row_bytes, 1), 1, split.rows);
  DeviceBuffer<float> d_parts = buffer<float>(factorise ? static_cast<std::size_t>(num_cp * chunk * h1) : 0);
  DeviceBuffer<float> d_h = buffer<float>(static_cast<std::size_t>(num_pts * chunk * maxw));
  DeviceBuffer<float> d_next = buffer<float>(d_h.size());
  DeviceBuffer<double> d_loss = buffer<double>(static_cast<std::size_t>(num_pts * split.rows));
  DeviceBuffer<double> d_err = buffer<double>(d_loss.size());

  const int64_t d = arch.input_width();
  for (int64_t r0 = 0; r0 < split.rows; r0 += chunk) {
    const int64_t rows = std::min(chunk, split.rows - r0);
    const float* x = data.x.data() + r0 * d;
    float* h = d_h.data();
    float* next = d_next.data();
    const bool last0 = num_layers == 1;
    if (factorise) {
      // K products X·W_kᵀ, then every point's first layer as their weighted sum.
      gemm(ctx_, rows, h1, d, 1.f, x, false, d_points.data(), true, 0.f, d_parts.data(), {num_cp, 0, np, rows * h1});
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
  }

  DeviceBuffer<double> d_sums(static_cast<std::size_t>(2 * num_pts));
  segmented_sum(d_loss.data(), num_pts, split.rows, d_sums.data(), s);
  segmented_sum(d_err.data(), num_pts, split.rows, d_sums.data() + num_pts, s);
  std::vector<double> sums(static_cast<std::size_t>(2 * num_pts));
  d_sums.download(sums.data(), sums.size(), s);
  ctx_.synchronize();  // the only wait: once per evaluation
  std::vector<PointMetrics> out(static_cast<std::size_t>(num_pts));
  for (int64_t p = 0; p < num_pts; ++p)
    out[static_cast<std::size_t>(p)] = {sums[static_cast<std::size_t>(p)] / static_cast<double>(split.rows),
                                        sums[static_cast<std::size_t>(num_pts + p)] / static_cast<double>(split.rows)};
  return out;
}

double CudaBackend::loss_and_grad(const Architecture& arch, std::span<const float> params, const Split& split,
                                  std::span<const int64_t> rows, std::span<float> grad) {
  MODECONN_EXPECTS(params.size() == arch.num_params() && grad.size() == params.size() && !rows.empty(), "sizes");
  const cudaStream_t s = ctx_.stream();
  const ResidentSplit& data = resident(split);
  const int64_t n = static_cast<int64_t>(rows.size());
  const std::size_t num_layers = arch.layers.size();
  DeviceBuffer<float> d_theta(params.size()), d_grad = buffer<float>(params.size());
  d_theta.upload(params.data(), params.size(), s);
  DeviceBuffer<int64_t> d_rows(rows.size());
  d_rows.upload(rows.data(), rows.size(), s);
  DeviceBuffer<float> d_x = buffer<float>(static_cast<std::size_t>(n * arch.input_width()));
  gather_rows(data.x.data(), arch.input_width(), d_rows.data(), n, d_x.data(), s);

  std::vector<DeviceBuffer<float>> pre, post;
  const float* input = d_x.data();
  for (std::size_t l = 0; l < num_layers; ++l) {
    const auto& layer = arch.layers[l];
    pre.push_back(buffer<float>(static_cast<std::size_t>(n * layer.out)));
    gemm(ctx_, n, layer.out, layer.in, 1.f, input, false, d_theta.data() + arch.weight_offset(l), true, 0.f, pre[l].data());
    bias_activation(pre[l].data(), 1, n, layer.out, d_theta.data() + arch.bias_offset(l), 0, arch.activation, false, s);
    post.push_back(buffer<float>(static_cast<std::size_t>(n * layer.out)));
    activate_copy(pre[l].data(), post[l].data(), n * layer.out, l + 1 < num_layers ? arch.activation : Activation::identity, s);
    input = post[l].data();
  }
  const int64_t c = arch.output_width();
  DeviceBuffer<float> d_delta = buffer<float>(static_cast<std::size_t>(n * c));
  DeviceBuffer<double> d_row_loss = buffer<double>(static_cast<std::size_t>(n));
  loss_gradient(post.back().data(), n, c, split.task, data.labels.data(), data.targets.data(), d_rows.data(),
                d_delta.data(), d_row_loss.data(), s);
  DeviceBuffer<double> d_loss(1);
  segmented_sum(d_row_loss.data(), 1, n, d_loss.data(), s);

  std::vector<float> ones_host(static_cast<std::size_t>(n), 1.f);
  DeviceBuffer<float> d_ones(ones_host.size());
  d_ones.upload(ones_host.data(), ones_host.size(), s);
  for (std::size_t l = num_layers; l-- > 0;) {
    const auto& layer = arch.layers[l];
    const float* in = l == 0 ? d_x.data() : post[l - 1].data();
    gemm(ctx_, layer.out, layer.in, n, 1.f, d_delta.data(), true, in, false, 0.f, d_grad.data() + arch.weight_offset(l));
    gemm(ctx_, 1, layer.out, n, 1.f, d_ones.data(), false, d_delta.data(), false, 0.f, d_grad.data() + arch.bias_offset(l));
    if (l == 0) break;
    DeviceBuffer<float> d_prev = buffer<float>(static_cast<std::size_t>(n * layer.in));
    gemm(ctx_, n, layer.in, layer.out, 1.f, d_delta.data(), false, d_theta.data() + arch.weight_offset(l), false, 0.f,
         d_prev.data());
    activation_backward(d_prev.data(), pre[l - 1].data(), post[l - 1].data(), n * layer.in, arch.activation, s);
    d_delta = std::move(d_prev);
  }
  double loss = 0;
  d_loss.download(&loss, 1, s);
  d_grad.download(grad.data(), grad.size(), s);
  ctx_.synchronize();
  return loss / static_cast<double>(n);
}

}  // namespace
}  // namespace cuda

}  // namespace modeconn

// The module's entry points (modeconn/cuda_module.hpp), looked up by name when the core library loads it.
extern "C" {

__attribute__((visibility("default"))) int modeconn_cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();  // no driver or no device: not an error for the caller
    return 0;
  }
  return count;
}

__attribute__((visibility("default"))) modeconn::Backend* modeconn_cuda_make_backend(bool tf32) {
  return new modeconn::cuda::CudaBackend(tf32);
}

__attribute__((visibility("default"))) void modeconn_cuda_set_poison(modeconn::Backend* backend, bool on) {
  if (auto* b = dynamic_cast<modeconn::cuda::CudaBackend*>(backend)) b->poison(on);
}

}  // extern "C"
