// CPU path evaluation against OpenBLAS SGEMM on the same shapes, and both against the cores' own FMA peak:
// how much of the machine's GEMM rate modeconn reaches, and how much of the silicon's rate that is.
//   path_bench --benchmark_filter='BM_FmaPeak|/0$'      # the headline shape, 784-1024-1024-10
// The shapes are those of RESULTS.md's scaling table (10 000 rows, 25 points, a linear path).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "modeconn/backend.hpp"
#include "modeconn/rng.hpp"

namespace modeconn {
namespace {

constexpr int kPoints = 25;
constexpr int64_t kRows = 10000;
constexpr int64_t kChunk = 2048;  // rows per SGEMM in the peer loop, threaded by OpenBLAS

const std::vector<std::vector<int64_t>> kShapes{
    {784, 1024, 1024, 10}, {784, 512, 512, 512, 10},    {3072, 512, 512, 10},
    {784, 256, 10},        {784, 256, 256, 10},         {784, 256, 256, 256, 10},
    {784, 1024, 10},       {784, 1024, 1024, 1024, 10}, {784, 4096, 10}};

const std::vector<int64_t>& shape_of(const benchmark::State& state) {
  return kShapes[static_cast<std::size_t>(state.range(0))];
}

std::string shape_label(const std::vector<int64_t>& widths) {
  std::string s;
  for (int64_t w : widths) {
    if (!s.empty()) s.push_back('-');
    s.append(std::to_string(w));
  }
  return s;
}

std::vector<float> random_vector(std::size_t n, uint64_t seed, double scale) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>((2 * rng.uniform() - 1) * scale);
  return v;
}

// The GEMM FLOPs of one evaluation: the first layer once per control point, the rest once per point.
double modeconn_flops(const std::vector<int64_t>& widths, int64_t rows) {
  const auto d = [](int64_t v) { return static_cast<double>(v); };
  double f = 2.0 * 2 * d(rows) * d(widths[0]) * d(widths[1]);
  for (std::size_t l = 1; l + 1 < widths.size(); ++l)
    f += 2.0 * kPoints * d(rows) * d(widths[l]) * d(widths[l + 1]);
  return f;
}

void set_rate(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_PathEvaluate(benchmark::State& state) {
  const std::vector<int64_t>& widths = shape_of(state);
  state.SetLabel(shape_label(widths));
  const Architecture arch = make_architecture(widths, Activation::relu, Task::classification);
  Path path{PathKind::linear,
            arch,
            {random_vector(arch.num_params(), 1, 0.05), random_vector(arch.num_params(), 2, 0.05)}};
  Split split;
  split.rows = kRows;
  split.features = widths[0];
  split.x = random_vector(static_cast<std::size_t>(kRows * widths[0]), 3, 1.0);
  Rng rng(4);
  for (int64_t i = 0; i < kRows; ++i) split.labels.push_back(static_cast<int32_t>(rng.below(10)));
  const std::vector<double> ts = path_grid(kPoints);
  auto backend = make_cpu_backend();
  for (auto _ : state) benchmark::DoNotOptimize(backend->evaluate(path, ts, split));
  set_rate(state, modeconn_flops(widths, kRows));
}

// The same GEMMs, in `chunk`-row pieces, with nothing around them: the rate modeconn is measured against.
void BM_SgemmSameShapes(benchmark::State& state) {
  const std::vector<int64_t>& widths = shape_of(state);
  state.SetLabel(shape_label(widths));
  const int64_t chunk = state.range(1);
  const int64_t max_w = *std::max_element(widths.begin() + 1, widths.end());
  std::vector<float> x = random_vector(static_cast<std::size_t>(chunk * widths[0]), 5, 1.0);
  std::vector<float> a(static_cast<std::size_t>(chunk * max_w)), b(a.size());
  std::vector<std::vector<float>> w;
  for (std::size_t l = 0; l + 1 < widths.size(); ++l)
    w.push_back(random_vector(static_cast<std::size_t>(widths[l] * widths[l + 1]), 6 + l, 0.05));
  const auto gemm = [](int64_t m, int64_t n, int64_t k, const float* in, const float* wt, float* out) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(m), static_cast<blasint>(n),
                static_cast<blasint>(k), 1.f, in, static_cast<blasint>(k), wt, static_cast<blasint>(k), 0.f,
                out, static_cast<blasint>(n));
  };
  for (auto _ : state) {
    for (int64_t r0 = 0; r0 < kRows; r0 += chunk) {
      const int64_t rows = std::min(chunk, kRows - r0);
      for (int k = 0; k < 2; ++k) gemm(rows, widths[1], widths[0], x.data(), w[0].data(), a.data());
      for (int p = 0; p < kPoints; ++p) {
        float* in = a.data();
        float* out = b.data();
        for (std::size_t l = 1; l + 1 < widths.size(); ++l) {
          gemm(rows, widths[l + 1], widths[l], in, w[l].data(), out);
          std::swap(in, out);
        }
      }
    }
    benchmark::ClobberMemory();
  }
  set_rate(state, modeconn_flops(widths, kRows));
}

// The cores' FMA peak: every thread runs independent chains of fused multiply-adds on the widest vectors the
// CPU has, enough chains to cover the FMA latency on every port. 2 FLOPs per lane per FMA.
constexpr int kChains = 16;
constexpr long kFmaRounds = 1 << 22;

// The chains on `Lanes`-float vectors (the compiler's vector extension; the multiply-add is contracted to one
// FMA, GCC's default for C++), inlined into one entry point per instruction set.
template <int Lanes>
struct VecOf {
  typedef float type __attribute__((vector_size(Lanes * sizeof(float))));
};

template <int Lanes>
[[gnu::always_inline]] inline float fma_chains(float seed) {
  using V = typename VecOf<Lanes>::type;
  V acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = V{} + (seed + static_cast<float>(c));
  const V m = V{} + 0.999999f, k = V{} + 1e-7f;
  for (long i = 0; i < kFmaRounds; ++i)
    for (auto& v : acc) v = v * m + k;
  float sum = 0;
  for (auto& v : acc)
    for (int l = 0; l < Lanes; ++l) sum += v[l];
  return sum;
}

__attribute__((target("avx512f"))) float fma_chains_avx512(float seed) { return fma_chains<16>(seed); }
__attribute__((target("avx2,fma"))) float fma_chains_avx2(float seed) { return fma_chains<8>(seed); }

void BM_FmaPeak(benchmark::State& state) {
  const bool avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512 && !__builtin_cpu_supports("fma")) {
    state.SkipWithError("no FMA instructions on this CPU");
    return;
  }
  const int threads = cpu_threads();
  state.SetLabel(std::string(avx512 ? "AVX-512" : "AVX2") + ", " + std::to_string(threads) + " threads");
  std::vector<float> sink(static_cast<std::size_t>(threads));
  for (auto _ : state) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const auto seed = static_cast<float>(t);
        sink[static_cast<std::size_t>(t)] = avx512 ? fma_chains_avx512(seed) : fma_chains_avx2(seed);
      });
    for (auto& th : pool) th.join();
    benchmark::DoNotOptimize(sink.data());
  }
  const double lanes = avx512 ? 16 : 8;
  set_rate(state, 2.0 * lanes * kChains * static_cast<double>(kFmaRounds) * threads);
}

BENCHMARK(BM_FmaPeak)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_PathEvaluate)
    ->DenseRange(0, static_cast<int>(kShapes.size()) - 1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);
BENCHMARK(BM_SgemmSameShapes)
    ->ArgsProduct({benchmark::CreateDenseRange(0, static_cast<int>(kShapes.size()) - 1, 1), {kChunk}})
    ->Args({0, kRows})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);

}  // namespace
}  // namespace modeconn

BENCHMARK_MAIN();
