// CNN evaluation on the CPU against OpenBLAS SGEMM on the same shapes: each convolution of a ResNet-style
// graph alone (im2col + SGEMM, one thread, one block of rows as the executor runs it) against a bare SGEMM of
// the same m, n, k on one thread; and a whole 25-point path over 2,000 rows, counted in convolution FLOPs.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <string>
#include <vector>

#include "backend/cpu/op_table.hpp"
#include "backend/cpu_ops.hpp"
#include "modeconn/graph_eval.hpp"
#include "modeconn/graph_model.hpp"
#include "modeconn/rng.hpp"

namespace modeconn {
namespace {

constexpr int kPoints = 25;
constexpr int64_t kRows = 2000;
constexpr int64_t kBlock = 16;  // rows per block for the single-layer benchmarks

// tests/e2e/models/cnns.py's ResNet at width 16: a stem, an identity block, a strided block with a 1×1
// projection, global average pooling and the classifier.
std::string resnet_json(int w) {
  std::string s = R"({"nodes": [{"name": "input", "op": "input", "shape": [1, 28, 28]},)";
  const auto conv = [&](const std::string& name, const std::string& in, int out, int k, int stride, int pad) {
    s += R"({"name": ")" + name + R"(", "op": "conv2d", "inputs": [")" + in + R"("], "out_channels": )" +
         std::to_string(out) + R"(, "kernel": )" + std::to_string(k) + R"(, "stride": )" +
         std::to_string(stride) + R"(, "padding": )" + std::to_string(pad) +
         R"(, "bias": false, "tensors": {"weight": ")" + name + R"(.weight"}},)";
  };
  const auto bn = [&](const std::string& name, const std::string& in) {
    s += R"({"name": ")" + name + R"(", "op": "batch_norm", "inputs": [")" + in +
         R"("], "tensors": {"weight": ")" + name + R"(.weight", "bias": ")" + name +
         R"(.bias", "running_mean": ")" + name + R"(.running_mean", "running_var": ")" + name +
         R"(.running_var"}},)";
  };
  const auto relu = [&](const std::string& name, const std::string& in) {
    s += R"({"name": ")" + name + R"(", "op": "activation", "inputs": [")" + in +
         R"("], "activation": "relu"},)";
  };
  conv("conv1", "input", w, 3, 1, 1);
  bn("bn1", "conv1");
  relu("relu1", "bn1");
  std::string x = "relu1";
  for (int b = 1; b <= 2; ++b) {
    const std::string p = "layer" + std::to_string(b);
    const int out = b == 1 ? w : 2 * w, stride = b == 1 ? 1 : 2;
    conv(p + ".conv1", x, out, 3, stride, 1);
    bn(p + ".bn1", p + ".conv1");
    relu(p + ".relu1", p + ".bn1");
    conv(p + ".conv2", p + ".relu1", out, 3, 1, 1);
    bn(p + ".bn2", p + ".conv2");
    std::string shortcut = x;
    if (b == 2) {
      conv(p + ".shortcut.0", x, out, 1, stride, 0);
      bn(p + ".shortcut.1", p + ".shortcut.0");
      shortcut = p + ".shortcut.1";
    }
    s += R"({"name": ")" + p + R"(.add", "op": "add", "inputs": [")" + p + R"(.bn2", ")" + shortcut +
         R"("]},)";
    relu(p + ".relu2", p + ".add");
    x = p + ".relu2";
  }
  s += R"({"name": "gap", "op": "global_avg_pool", "inputs": [")" + x + R"("]},)";
  s +=
      R"({"name": "fc", "op": "linear", "out_features": 10, "tensors": {"weight": "fc.weight", "bias": "fc.bias"}}]})";
  return s;
}

const Graph& resnet() {
  static const Graph g = graph_from_json(resnet_json(16), "the benchmark ResNet");
  return g;
}

std::vector<float> random_vector(std::size_t n, uint64_t seed, double lo, double hi) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(lo + (hi - lo) * rng.uniform());
  return v;
}

// Multiply-adds ×2 of one row through a convolution.
double conv_flops_per_row(const Graph& g, const Node& n) {
  const auto& in = g.nodes[static_cast<std::size_t>(n.inputs.front())].shape;
  return 2.0 * static_cast<double>(n.shape[1] * n.shape[2] * n.out * in[0] * n.kernel[0] * n.kernel[1]);
}

std::vector<int> conv_nodes() {
  std::vector<int> out;
  for (std::size_t i = 0; i < resnet().nodes.size(); ++i)
    if (resnet().nodes[i].op == Op::conv2d) out.push_back(static_cast<int>(i));
  return out;
}

// One convolution of the graph over a block of rows: im2col + SGEMM as the executor runs it.
void BM_Conv(benchmark::State& state) {
  const Graph& g = resnet();
  const Node& n = g.nodes[static_cast<std::size_t>(conv_nodes()[static_cast<std::size_t>(state.range(0))])];
  const auto& kernels = cpu::op_kernels(Op::conv2d);
  const auto& in_shape = g.nodes[static_cast<std::size_t>(n.inputs.front())].shape;
  const std::vector<float> in =
      random_vector(static_cast<std::size_t>(kBlock * in_shape[0] * in_shape[1] * in_shape[2]), 1, -1, 1);
  std::vector<float> weight =
      random_vector(static_cast<std::size_t>(n.out * in_shape[0] * n.kernel[0] * n.kernel[1]), 2, -0.1, 0.1);
  kernels.prepare(g, n, weight.data());
  std::vector<float> out(static_cast<std::size_t>(kBlock * n.out * n.shape[1] * n.shape[2]));
  std::vector<float> scratch(static_cast<std::size_t>(kBlock * kernels.scratch_per_row(g, n)));
  cpu::BlasThreadsGuard one(1);
  for (auto _ : state) {
    cpu::OpArgs args{n, g, in.data(), nullptr, out.data(), kBlock};
    args.weight = weight.data();
    args.scratch = scratch.data();
    kernels.forward(args);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(n.name);
  state.counters["GFLOP/s"] =
      benchmark::Counter(conv_flops_per_row(g, n) * kBlock, benchmark::Counter::kIsIterationInvariantRate);
}

// The SGEMM of the same shape alone: m = rows × output positions, n = output channels, k = kh·kw·C.
void BM_ConvShapeSgemm(benchmark::State& state) {
  const Graph& g = resnet();
  const Node& n = g.nodes[static_cast<std::size_t>(conv_nodes()[static_cast<std::size_t>(state.range(0))])];
  const auto& in_shape = g.nodes[static_cast<std::size_t>(n.inputs.front())].shape;
  const int64_t m = kBlock * n.shape[1] * n.shape[2], cols = n.out,
                k = in_shape[0] * n.kernel[0] * n.kernel[1];
  const std::vector<float> a = random_vector(static_cast<std::size_t>(m * k), 1, -1, 1);
  const std::vector<float> b = random_vector(static_cast<std::size_t>(cols * k), 2, -0.1, 0.1);
  std::vector<float> c(static_cast<std::size_t>(m * cols));
  cpu::BlasThreadsGuard one(1);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(m), static_cast<blasint>(cols),
                static_cast<blasint>(k), 1.f, a.data(), static_cast<blasint>(k), b.data(),
                static_cast<blasint>(k), 0.f, c.data(), static_cast<blasint>(cols));
    benchmark::DoNotOptimize(c.data());
  }
  state.SetLabel(n.name);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * cols * k),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// A whole path: 25 points (BatchNorm kept) over 2,000 rows with every thread, in convolution FLOPs per
// second.
void BM_ResNetPath(benchmark::State& state) {
  const Graph& g = resnet();
  GraphModel a, b;
  for (const auto& [m, seed] : {std::pair{&a, 1}, std::pair{&b, 2}}) {
    m->graph = g;
    m->params =
        random_vector(static_cast<std::size_t>(g.num_params()), static_cast<uint64_t>(seed), -0.2, 0.2);
    m->buffers =
        random_vector(static_cast<std::size_t>(g.num_buffers()), static_cast<uint64_t>(seed) + 10, 0.5, 1.5);
  }
  Split split;
  split.rows = kRows;
  split.features = g.input_size();
  split.x = random_vector(static_cast<std::size_t>(kRows * split.features), 3, 0, 1);
  Rng rng(4);
  for (int64_t i = 0; i < kRows; ++i) split.labels.push_back(static_cast<int32_t>(rng.below(10)));
  const GraphPath path = linear_graph_path(a, b);
  const std::vector<double> ts = path_grid(kPoints);
  auto runner = make_cpu_graph_runner();
  for (auto _ : state) benchmark::DoNotOptimize(evaluate_graph_path(*runner, path, ts, split, {}));
  double flops = 0;
  for (int i : conv_nodes()) flops += conv_flops_per_row(g, g.nodes[static_cast<std::size_t>(i)]);
  state.counters["conv GFLOP/s"] = benchmark::Counter(flops * kRows * static_cast<double>(ts.size()),
                                                      benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_Conv)->DenseRange(0, 5)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_ConvShapeSgemm)->DenseRange(0, 5)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_ResNetPath)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

}  // namespace
}  // namespace modeconn

BENCHMARK_MAIN();
