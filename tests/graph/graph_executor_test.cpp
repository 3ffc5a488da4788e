// The CPU graph executor against an independent float64 forward pass (graph_reference.hpp): every op with
// non-square kernels, strides, padding and dilation, BatchNorm with and without affine parameters, residual
// sums; the first layer factorised over control points or not; BatchNorm recomputed as defined.
#include <gtest/gtest.h>

#include <cmath>

#include "graph_reference.hpp"
#include "modeconn/graph_eval.hpp"
#include "modeconn/rng.hpp"

namespace modeconn {
namespace {

// Every op: a non-square, strided, padded, dilated convolution, BatchNorm, pooling with padding, a 1×1
// convolution into a residual sum, BatchNorm without affine parameters, flatten, BatchNorm1d, linear layers.
constexpr const char* kEveryOp = R"({"nodes": [
 {"name": "input", "op": "input", "shape": [2, 9, 8]},
 {"name": "conv", "op": "conv2d", "out_channels": 3, "kernel": [3, 2], "stride": [2, 1], "padding": [1, 1],
  "dilation": [1, 2], "tensors": {"weight": "conv.weight", "bias": "conv.bias"}},
 {"name": "bn", "op": "batch_norm", "eps": 0.001, "tensors": {"weight": "bn.weight", "bias": "bn.bias",
  "running_mean": "bn.running_mean", "running_var": "bn.running_var"}},
 {"name": "gelu", "op": "activation", "activation": "gelu"},
 {"name": "pool", "op": "max_pool2d", "kernel": 3, "stride": 2, "padding": 1},
 {"name": "pointwise", "op": "conv2d", "out_channels": 3, "kernel": 1, "bias": false,
  "tensors": {"weight": "pointwise.weight"}},
 {"name": "sum", "op": "add", "inputs": ["pointwise", "pool"]},
 {"name": "avg", "op": "avg_pool2d", "kernel": 2, "stride": 1, "padding": 1},
 {"name": "bn2", "op": "batch_norm", "affine": false, "tensors": {"running_mean": "bn2.running_mean",
  "running_var": "bn2.running_var"}},
 {"name": "tanh", "op": "activation", "activation": "tanh"},
 {"name": "flat", "op": "flatten"},
 {"name": "fc1", "op": "linear", "out_features": 7, "tensors": {"weight": "fc1.weight", "bias": "fc1.bias"}},
 {"name": "bn3", "op": "batch_norm", "tensors": {"weight": "bn3.weight", "bias": "bn3.bias",
  "running_mean": "bn3.running_mean", "running_var": "bn3.running_var"}},
 {"name": "leaky", "op": "activation", "activation": "leaky_relu"},
 {"name": "fc2", "op": "linear", "out_features": 5, "tensors": {"weight": "fc2.weight", "bias": "fc2.bias"}}]})";

// A ResNet-style graph ending in global average pooling.
constexpr const char* kResidual = R"({"nodes": [
 {"name": "input", "op": "input", "shape": [1, 10, 10]},
 {"name": "stem", "op": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "bias": false,
  "tensors": {"weight": "stem.weight"}},
 {"name": "bn", "op": "batch_norm", "tensors": {"weight": "bn.weight", "bias": "bn.bias",
  "running_mean": "bn.running_mean", "running_var": "bn.running_var"}},
 {"name": "relu", "op": "activation", "activation": "relu"},
 {"name": "conv", "op": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "tensors": {"weight": "conv.weight",
  "bias": "conv.bias"}},
 {"name": "bn2", "op": "batch_norm", "tensors": {"weight": "bn2.weight", "bias": "bn2.bias",
  "running_mean": "bn2.running_mean", "running_var": "bn2.running_var"}},
 {"name": "sum", "op": "add", "inputs": ["bn2", "relu"]},
 {"name": "relu2", "op": "activation", "activation": "relu"},
 {"name": "gap", "op": "global_avg_pool"},
 {"name": "fc", "op": "linear", "out_features": 3, "tensors": {"weight": "fc.weight", "bias": "fc.bias"}}]})";

GraphModel random_model(const char* json, uint64_t seed) {
  GraphModel m;
  m.graph = graph_from_json(json, "the test graph");
  Rng rng(seed);
  m.params.resize(static_cast<std::size_t>(m.graph.num_params()));
  for (auto& v : m.params) v = static_cast<float>(rng.uniform() - 0.5);
  m.buffers.resize(static_cast<std::size_t>(m.graph.num_buffers()));
  const TensorPlaces places = tensor_places(m.graph);
  for (std::size_t i = 0; i < m.graph.nodes.size(); ++i) {
    const TensorPlace& mean = places[i][static_cast<std::size_t>(TensorRole::running_mean)];
    const TensorPlace& var = places[i][static_cast<std::size_t>(TensorRole::running_var)];
    for (int64_t k = 0; k < mean.size && mean.present; ++k) {
      m.buffers[static_cast<std::size_t>(mean.offset + k)] = static_cast<float>(rng.uniform() - 0.5);
      m.buffers[static_cast<std::size_t>(var.offset + k)] = static_cast<float>(0.5 + rng.uniform());
    }
  }
  return m;
}

Split random_split(const Graph& g, int64_t rows, int64_t classes, uint64_t seed) {
  Split s;
  s.name = "test";
  s.rows = rows;
  s.features = g.input_size();
  s.sample_shape = g.nodes.front().shape;
  Rng rng(seed);
  s.x.resize(static_cast<std::size_t>(rows * s.features));
  for (auto& v : s.x) v = static_cast<float>(2 * rng.uniform() - 1);
  for (int64_t r = 0; r < rows; ++r)
    s.labels.push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(classes))));
  return s;
}

// Mean cross-entropy and error of float64 logits.
PointMetrics reference_metrics(const GraphModel& m, const Split& s,
                               const std::vector<test::BnStats>* stats = nullptr) {
  double loss = 0, err = 0;
  for (int64_t r = 0; r < s.rows; ++r) {
    const auto z = test::reference_forward(m, s.x.data() + r * s.features, stats).back();
    const double top = *std::max_element(z.begin(), z.end());
    double sum = 0;
    for (double v : z) sum += std::exp(v - top);
    const auto label = static_cast<std::size_t>(s.labels[static_cast<std::size_t>(r)]);
    loss += std::log(sum) + top - z[label];
    err += static_cast<double>(std::max_element(z.begin(), z.end()) - z.begin() !=
                               static_cast<std::ptrdiff_t>(label));
  }
  return {loss / static_cast<double>(s.rows), err / static_cast<double>(s.rows)};
}

GraphModel at(const GraphModel& a, const GraphModel& b, double t) {
  GraphModel m = a;
  for (std::size_t k = 0; k < m.params.size(); ++k)
    m.params[k] = static_cast<float>((1 - t) * double{a.params[k]} + t * double{b.params[k]});
  for (std::size_t k = 0; k < m.buffers.size(); ++k)
    m.buffers[k] = static_cast<float>((1 - t) * double{a.buffers[k]} + t * double{b.buffers[k]});
  return m;
}

class GraphExecutor : public ::testing::TestWithParam<const char*> {};

TEST_P(GraphExecutor, OutputsMatchAFloat64ForwardPass) {
  const GraphModel m = random_model(GetParam(), 1);
  const Split s = random_split(m.graph, 37, m.graph.output_size(), 2);
  auto runner = make_cpu_graph_runner();
  const std::vector<float> got = graph_outputs(*runner, m, s, 3, 30);
  const int64_t width = m.graph.output_size();
  for (int64_t r = 0; r < 30; ++r) {
    const auto want = test::reference_forward(m, s.x.data() + (r + 3) * s.features).back();
    for (int64_t k = 0; k < width; ++k)
      EXPECT_NEAR(got[static_cast<std::size_t>(r * width + k)], want[static_cast<std::size_t>(k)], 1e-5)
          << "row " << r + 3 << " output " << k;
  }
}

TEST_P(GraphExecutor, PathPointsWithAndWithoutTheFactorisedFirstLayerMatchTheReference) {
  const GraphModel a = random_model(GetParam(), 3), b = random_model(GetParam(), 4);
  const Split s = random_split(a.graph, 41, a.graph.output_size(), 5);
  auto runner = make_cpu_graph_runner();
  const GraphPath path = linear_graph_path(a, b);
  const std::vector<double> ts{0.0, 0.3, 0.5, 1.0};  // four points, two control points: factorised
  const auto all = evaluate_graph_path(*runner, path, ts, s, {});
  for (std::size_t p = 0; p < ts.size(); ++p) {
    const PointMetrics want = reference_metrics(at(a, b, ts[p]), s);
    const auto one = evaluate_graph_path(*runner, path, {&ts[p], 1}, s, {});  // one point: not factorised
    EXPECT_NEAR(all[p].loss, want.loss, 1e-5 * want.loss) << "t = " << ts[p];
    EXPECT_NEAR(one[0].loss, want.loss, 1e-5 * want.loss) << "t = " << ts[p];
    EXPECT_NEAR(all[p].error, want.error, 1e-12);
  }
}

TEST_P(GraphExecutor, RecomputedBatchNormUsesEachLayersExactStatisticsGivenTheEarlierOnes) {
  const GraphModel a = random_model(GetParam(), 6), b = random_model(GetParam(), 7);
  const Split train = random_split(a.graph, 29, a.graph.output_size(), 8);
  const Split test = random_split(a.graph, 23, a.graph.output_size(), 9);
  auto runner = make_cpu_graph_runner();
  const double t = 0.4;
  const auto got =
      evaluate_graph_path(*runner, linear_graph_path(a, b), {&t, 1}, test, {BnMode::recompute, &train, 25});
  // The reference: each BatchNorm's input over the first 25 rows, its mean and unbiased variance, in order.
  const GraphModel m = at(a, b, t);
  std::vector<test::BnStats> stats(m.graph.nodes.size());
  for (std::size_t i = 0; i < m.graph.nodes.size(); ++i) {
    const Node& n = m.graph.nodes[i];
    if (n.op != Op::batch_norm) continue;
    const int64_t c = n.shape[0];
    std::vector<double> sum(static_cast<std::size_t>(c)), sq(sum.size());
    double count = 0;
    for (int64_t r = 0; r < 25; ++r) {
      const auto outs = test::reference_forward(m, train.x.data() + r * train.features, &stats);
      const auto& x = outs[static_cast<std::size_t>(n.inputs[0])];
      const auto per = static_cast<int64_t>(x.size()) / c;
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t k = 0; k < per; ++k) {
          sum[static_cast<std::size_t>(ch)] += x[static_cast<std::size_t>(ch * per + k)];
          sq[static_cast<std::size_t>(ch)] +=
              x[static_cast<std::size_t>(ch * per + k)] * x[static_cast<std::size_t>(ch * per + k)];
        }
      count += static_cast<double>(per);
    }
    for (std::size_t ch = 0; ch < sum.size(); ++ch) {
      const double mean = sum[ch] / count;
      stats[i].mean.push_back(mean);
      stats[i].var.push_back((sq[ch] - count * mean * mean) / (count - 1));
    }
  }
  const PointMetrics want = reference_metrics(m, test, &stats);
  EXPECT_NEAR(got[0].loss, want.loss, 1e-5 * want.loss);
  EXPECT_NEAR(got[0].error, want.error, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Graphs, GraphExecutor, ::testing::Values(kEveryOp, kResidual),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param == kEveryOp ? "EveryOp" : "Residual");
                         });

}  // namespace
}  // namespace modeconn
