// The assignment solver at the widths weight matching meets: dense random and similarity-like matrices.
#include <benchmark/benchmark.h>

#include "modeconn/align.hpp"
#include "modeconn/rng.hpp"

namespace modeconn {
namespace {

void BM_AssignmentUniform(benchmark::State& state) {
  const int64_t n = state.range(0);
  Rng rng(1);
  std::vector<double> c(static_cast<std::size_t>(n * n));
  for (auto& v : c) v = rng.uniform();
  for (auto _ : state) benchmark::DoNotOptimize(solve_assignment(c, n, n, true));
}

BENCHMARK(BM_AssignmentUniform)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Arg(4096)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace modeconn

BENCHMARK_MAIN();
