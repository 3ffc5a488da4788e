// CPU path evaluation against OpenBLAS SGEMM on the same shapes: how much of the machine's GEMM rate modeconn
// reaches.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <vector>

#include "modeconn/backend.hpp"
#include "modeconn/rng.hpp"

namespace modeconn {
namespace {

constexpr int kPoints = 25;
constexpr int64_t kRows = 10000;
constexpr int64_t kChunk = 2048;  // the CPU backend's rows per chunk for this model

const std::vector<int64_t> kWidths{784, 1024, 1024, 10};

std::vector<float> random_vector(std::size_t n, uint64_t seed, double scale) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>((2 * rng.uniform() - 1) * scale);
  return v;
}

// The GEMM FLOPs of one evaluation: the first layer once per control point, the rest once per point.
double modeconn_flops(int64_t rows) {
  const auto d = [](int64_t v) { return static_cast<double>(v); };
  double f = 2.0 * 2 * d(rows) * d(kWidths[0]) * d(kWidths[1]);
  for (std::size_t l = 1; l + 1 < kWidths.size(); ++l)
    f += 2.0 * kPoints * d(rows) * d(kWidths[l]) * d(kWidths[l + 1]);
  return f;
}

void BM_PathEvaluate(benchmark::State& state) {
  const Architecture arch = make_architecture(kWidths, Activation::relu, Task::classification);
  Path path{PathKind::linear,
            arch,
            {random_vector(arch.num_params(), 1, 0.05), random_vector(arch.num_params(), 2, 0.05)}};
  Split split;
  split.rows = kRows;
  split.features = kWidths[0];
  split.x = random_vector(static_cast<std::size_t>(kRows * kWidths[0]), 3, 1.0);
  Rng rng(4);
  for (int64_t i = 0; i < kRows; ++i) split.labels.push_back(static_cast<int32_t>(rng.below(10)));
  const std::vector<double> ts = path_grid(kPoints);
  auto backend = make_cpu_backend();
  for (auto _ : state) benchmark::DoNotOptimize(backend->evaluate(path, ts, split));
  state.counters["GFLOP/s"] =
      benchmark::Counter(modeconn_flops(kRows) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// The same GEMMs, in the same chunks, with nothing around them: the rate modeconn is measured against.
void BM_SgemmSameShapes(benchmark::State& state) {
  const int64_t chunk = state.range(0);
  const std::size_t max_w = 1024;
  std::vector<float> x = random_vector(static_cast<std::size_t>(chunk * kWidths[0]), 5, 1.0);
  std::vector<float> a(static_cast<std::size_t>(chunk) * max_w), b(a.size());
  std::vector<std::vector<float>> w;
  for (std::size_t l = 0; l + 1 < kWidths.size(); ++l)
    w.push_back(random_vector(static_cast<std::size_t>(kWidths[l] * kWidths[l + 1]), 6 + l, 0.05));
  const auto gemm = [](int64_t m, int64_t n, int64_t k, const float* in, const float* wt, float* out) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(m), static_cast<blasint>(n),
                static_cast<blasint>(k), 1.f, in, static_cast<blasint>(k), wt, static_cast<blasint>(k), 0.f,
                out, static_cast<blasint>(n));
  };
  for (auto _ : state) {
    for (int64_t r0 = 0; r0 < kRows; r0 += chunk) {
      const int64_t rows = std::min(chunk, kRows - r0);
      for (int k = 0; k < 2; ++k) gemm(rows, kWidths[1], kWidths[0], x.data(), w[0].data(), a.data());
      for (int p = 0; p < kPoints; ++p) {
        gemm(rows, kWidths[2], kWidths[1], a.data(), w[1].data(), b.data());
        gemm(rows, kWidths[3], kWidths[2], b.data(), w[2].data(), a.data() + max_w);
      }
    }
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(modeconn_flops(kRows) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_PathEvaluate)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5.0);
BENCHMARK(BM_SgemmSameShapes)
    ->Arg(kChunk)
    ->Arg(kRows)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(5.0);

}  // namespace
}  // namespace modeconn

BENCHMARK_MAIN();
