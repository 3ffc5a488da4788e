// The CPU graph executor against an independent float64 forward pass (graph_reference.hpp): every op with
// non-square kernels, strides, padding and dilation, BatchNorm with and without affine parameters, residual
// sums; the first layer factorised over control points or not; BatchNorm recomputed as defined.
#include <gtest/gtest.h>

#include <cmath>

#include "graph/graph_models.hpp"
#include "graph_reference.hpp"
#include "modeconn/graph_eval.hpp"
#include "modeconn/rng.hpp"

namespace modeconn {
namespace {

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

class GraphExecutor : public ::testing::TestWithParam<test::GraphCase> {};

TEST_P(GraphExecutor, OutputsMatchAFloat64ForwardPass) {
  const GraphModel m = test::random_graph_model(GetParam().json, 1);
  const Split s = test::random_graph_split(m.graph, 37, m.graph.output_size(), 2);
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
  const GraphModel a = test::random_graph_model(GetParam().json, 3),
                   b = test::random_graph_model(GetParam().json, 4);
  const Split s = test::random_graph_split(a.graph, 41, a.graph.output_size(), 5);
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
  const GraphModel a = test::random_graph_model(GetParam().json, 6),
                   b = test::random_graph_model(GetParam().json, 7);
  const Split train = test::random_graph_split(a.graph, 29, a.graph.output_size(), 8);
  const Split held_out = test::random_graph_split(a.graph, 23, a.graph.output_size(), 9);
  auto runner = make_cpu_graph_runner();
  const double t = 0.4;
  const auto got = evaluate_graph_path(*runner, linear_graph_path(a, b), {&t, 1}, held_out,
                                       {BnMode::recompute, &train, 25});
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
  const PointMetrics want = reference_metrics(m, held_out, &stats);
  EXPECT_NEAR(got[0].loss, want.loss, 1e-5 * want.loss);
  EXPECT_NEAR(got[0].error, want.error, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Graphs, GraphExecutor, ::testing::ValuesIn(test::kGraphCases),
                         [](const ::testing::TestParamInfo<test::GraphCase>& param) {
                           return std::string(param.param.name);
                         });

}  // namespace
}  // namespace modeconn
