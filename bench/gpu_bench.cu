// GPU path evaluation: modeconn's CUDA backend against cuBLAS SGEMM on the same shapes, in two regimes
// (launch-bound small MLP, GEMM-bound large MLPs), 25 points each. Prints a table; times are medians.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "../cuda/context.cuh"
#include "../cuda/device_buffer.cuh"
#include "../cuda/gemm.cuh"
#include "modeconn/backend.hpp"
#include "modeconn/rng.hpp"

namespace {

using namespace modeconn;

constexpr int kPoints = 25;
constexpr int kRepeats = 7;

struct Regime {
  const char* name;
  std::vector<int64_t> widths;
  int64_t rows;
};

std::vector<float> random_vector(std::size_t n, uint64_t seed, double scale) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>((2 * rng.uniform() - 1) * scale);
  return v;
}

// GEMM FLOPs of one evaluation: the first layer once per control point (2), the others once per point.
double flops(const Regime& r) {
  const auto d = [](int64_t v) { return static_cast<double>(v); };
  double f = 2.0 * 2 * d(r.rows) * d(r.widths[0]) * d(r.widths[1]);
  for (std::size_t l = 1; l + 1 < r.widths.size(); ++l)
    f += 2.0 * kPoints * d(r.rows) * d(r.widths[l]) * d(r.widths[l + 1]);
  return f;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The same GEMMs modeconn issues (one batched product per layer over all points), nothing around them.
double sgemm_seconds(const Regime& r, bool tf32) {
  cuda::Context ctx(0, tf32);
  const int64_t maxw = *std::max_element(r.widths.begin(), r.widths.end());
  cuda::DeviceBuffer<float> x(static_cast<std::size_t>(r.rows * r.widths[0]));
  cuda::DeviceBuffer<float> w(static_cast<std::size_t>(kPoints) * static_cast<std::size_t>(maxw * maxw));
  cuda::DeviceBuffer<float> a(static_cast<std::size_t>(kPoints * r.rows * maxw)), b(a.size());
  const auto hx = random_vector(x.size(), 1, 1.0), hw = random_vector(w.size(), 2, 0.05);
  x.upload(hx.data(), hx.size(), ctx.stream());
  w.upload(hw.data(), hw.size(), ctx.stream());
  const auto run = [&] {
    cuda::gemm(ctx, r.rows, r.widths[1], r.widths[0], 1.f, x.data(), false, w.data(), true, 0.f, a.data(),
               {2, 0, r.widths[0] * r.widths[1], r.rows * r.widths[1]});
    for (std::size_t l = 1; l + 1 < r.widths.size(); ++l)
      cuda::gemm(ctx, r.rows, r.widths[l + 1], r.widths[l], 1.f, a.data(), false, w.data(), true, 0.f,
                 b.data(),
                 {kPoints, r.rows * r.widths[l], r.widths[l] * r.widths[l + 1], r.rows * r.widths[l + 1]});
  };
  run();
  ctx.synchronize();
  cudaEvent_t start, stop;
  MODECONN_CUDA_CHECK(cudaEventCreate(&start));
  MODECONN_CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<double> times;
  for (int i = 0; i < kRepeats; ++i) {
    MODECONN_CUDA_CHECK(cudaEventRecord(start, ctx.stream()));
    run();
    MODECONN_CUDA_CHECK(cudaEventRecord(stop, ctx.stream()));
    MODECONN_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    MODECONN_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms * 1e-3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return median(times);
}

double modeconn_seconds(const Regime& r, bool tf32) {
  const Architecture arch = make_architecture(r.widths, Activation::relu, Task::classification);
  const Path path{PathKind::linear,
                  arch,
                  {random_vector(arch.num_params(), 3, 0.05), random_vector(arch.num_params(), 4, 0.05)}};
  Split split;
  split.rows = r.rows;
  split.features = r.widths[0];
  split.x = random_vector(static_cast<std::size_t>(r.rows * r.widths[0]), 5, 1.0);
  Rng rng(6);
  for (int64_t i = 0; i < r.rows; ++i)
    split.labels.push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(r.widths.back()))));
  split.uid = next_split_uid();
  const std::vector<double> ts = path_grid(kPoints);
  auto backend = make_cuda_backend(tf32);
  backend->evaluate(path, ts, split);  // warm-up: the data goes to the device here, once
  std::vector<double> times;
  for (int i = 0; i < kRepeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    backend->evaluate(path, ts, split);  // returns after its one synchronisation
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return median(times);
}

}  // namespace

int main() {
  if (cuda_device_count() == 0) {
    std::printf("gpu_bench: no usable CUDA device\n");
    return 0;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("device: %s, %d SMs; %d points, median of %d runs\n", prop.name, prop.multiProcessorCount,
              kPoints, kRepeats);
  const std::vector<Regime> regimes = {{"small 784-128-128-10, 10k", {784, 128, 128, 10}, 10000},
                                       {"large 784-512-512-512-10, 60k", {784, 512, 512, 512, 10}, 60000},
                                       {"large 784-1024-1024-10, 60k", {784, 1024, 1024, 10}, 60000}};
  std::printf("%-32s %-5s %12s %12s %10s %10s %8s\n", "regime", "prec", "modeconn ms", "sgemm ms", "GFLOP/s",
              "SGEMM GF/s", "ratio");
  for (const auto& r : regimes)
    for (bool tf32 : {false, true}) {
      const double t = modeconn_seconds(r, tf32), g = sgemm_seconds(r, tf32), f = flops(r);
      std::printf("%-32s %-5s %12.3f %12.3f %10.0f %10.0f %7.0f%%\n", r.name, tf32 ? "tf32" : "fp32", t * 1e3,
                  g * 1e3, f / t * 1e-9, f / g * 1e-9, 100 * g / t);
    }
  return 0;
}
