// The CUDA graph executor against the CPU's on the same random graphs, paths and data: every op (through the
// graphs of tests/graph/graph_models.hpp), the first layer factorised or not, each --bn mode, outputs,
// channel statistics and the cross statistics of activation matching.
#include <gtest/gtest.h>

#include <cstdlib>

#include "gpu/gpu_environment.hpp"
#include "graph/graph_models.hpp"
#include "modeconn/graph_eval.hpp"
#include "support/check.hpp"

namespace modeconn {
namespace {

class CudaGraphParity : public test::GpuTestWithParam<test::GraphCase> {
 protected:
  std::unique_ptr<Backend> gpu_ = cuda_device_count() ? make_cuda_backend(false) : nullptr;
  std::unique_ptr<GraphRunner> cpu_ = make_cpu_graph_runner();
  std::unique_ptr<GraphRunner> runner() {
    set_cuda_poison(*gpu_, true);  // an element nothing wrote is NaN and fails the comparison
    auto r = gpu_->graph_runner();
    EXPECT_TRUE(r) << "the CUDA backend runs layer graphs";
    return r;
  }
};

TEST_P(CudaGraphParity, OutputsMatchTheCpuExecutor) {
  const GraphModel m = test::random_graph_model(GetParam().json, 1);
  const Split s = test::random_graph_split(m.graph, 53, m.graph.output_size(), 2);
  auto gpu = runner();
  const auto want = graph_outputs(*cpu_, m, s, 5, 40);
  const auto got = graph_outputs(*gpu, m, s, 5, 40);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    ASSERT_TRUE(test::close(got[i], want[i], 1e-5, 1e-6)) << "output " << i;
}

TEST_P(CudaGraphParity, PathMetricsMatchTheCpuExecutorInEveryBatchNormMode) {
  GraphModel a = test::random_graph_model(GetParam().json, 3),
             b = test::random_graph_model(GetParam().json, 4),
             bend = test::random_graph_model(GetParam().json, 5);
  const Split train = test::random_graph_split(a.graph, 61, a.graph.output_size(), 6);
  const Split held_out = test::random_graph_split(a.graph, 47, a.graph.output_size(), 7);
  GraphPath curve = linear_graph_path(a, b);
  curve.params.kind = PathKind::bezier;
  curve.params.points.insert(curve.params.points.begin() + 1, bend.params);
  curve.buffers.insert(curve.buffers.begin() + 1, bend.buffers);
  auto gpu = runner();
  for (const std::vector<double>& ts :
       {std::vector<double>{0.0, 0.2, 0.5, 0.7, 1.0}, std::vector<double>{0.3}})
    for (BnMode mode : {BnMode::keep, BnMode::recompute, BnMode::repair}) {
      const BnOptions bn{mode, &train, 50};
      const auto want = evaluate_graph_path(*cpu_, curve, ts, held_out, bn);
      const auto got = evaluate_graph_path(*gpu, curve, ts, held_out, bn);
      ASSERT_EQ(got.size(), want.size());
      for (std::size_t p = 0; p < ts.size(); ++p) {
        EXPECT_TRUE(test::close(got[p].loss, want[p].loss, 1e-5, 1e-7))
            << bn_mode_name(mode) << " t = " << ts[p] << ": " << got[p].loss << " vs " << want[p].loss;
        EXPECT_NEAR(got[p].error, want[p].error, 2.01 / static_cast<double>(held_out.rows));
      }
    }
}

// Blocks of 7 rows, the last one short: every buffer of a block, the factorised first layer's products among
// them, is laid out for the rows the block has.
TEST_P(CudaGraphParity, BlocksOfRowsWithAShortLastOneMatchTheCpuExecutor) {
  const GraphModel a = test::random_graph_model(GetParam().json, 11),
                   b = test::random_graph_model(GetParam().json, 12);
  const Split train = test::random_graph_split(a.graph, 33, a.graph.output_size(), 13);
  const Split held_out = test::random_graph_split(a.graph, 47, a.graph.output_size(), 14);
  ::setenv("MODECONN_CUDA_CHUNK_ROWS", "7", 1);
  auto small_blocks = make_cuda_backend(false);
  ::unsetenv("MODECONN_CUDA_CHUNK_ROWS");
  set_cuda_poison(*small_blocks, true);
  auto gpu = small_blocks->graph_runner();
  const GraphPath path = linear_graph_path(a, b);
  const std::vector<double> ts{0.0, 0.25, 0.5, 1.0};
  for (BnMode mode : {BnMode::keep, BnMode::recompute}) {
    const BnOptions bn{mode, &train, 30};
    const auto want = evaluate_graph_path(*cpu_, path, ts, held_out, bn);
    const auto got = evaluate_graph_path(*gpu, path, ts, held_out, bn);
    for (std::size_t p = 0; p < ts.size(); ++p)
      EXPECT_TRUE(test::close(got[p].loss, want[p].loss, 1e-5, 1e-7))
          << bn_mode_name(mode) << " t = " << ts[p];
  }
}

TEST_P(CudaGraphParity, ChannelAndCrossStatisticsMatchTheCpuExecutor) {
  const GraphModel a = test::random_graph_model(GetParam().json, 8),
                   b = test::random_graph_model(GetParam().json, 9);
  const Split s = test::random_graph_split(a.graph, 45, a.graph.output_size(), 10);
  const GraphPath both = linear_graph_path(a, b);
  const double ts[] = {0.0, 1.0};
  auto gpu = runner();
  const GraphPoints pts = graph_points(*cpu_, both, ts, {});
  for (int node = 1; node + 1 < static_cast<int>(a.graph.nodes.size()); ++node) {
    const auto want = cpu_->channel_sums(pts, node, s, 40);
    const auto got = gpu->channel_sums(pts, node, s, 40);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t p = 0; p < want.size(); ++p)
      for (std::size_t k = 0; k < want[p].size(); ++k)
        ASSERT_TRUE(test::close(got[p][k], want[p][k], 1e-5, 1e-5))
            << "node " << node << " point " << p << " value " << k;
    const ActivationSums cw = cpu_->cross_sums(pts, node, s, 40), gw = gpu->cross_sums(pts, node, s, 40);
    ASSERT_EQ(gw.rows, cw.rows);
    for (std::size_t k = 0; k < cw.cross.size(); ++k)
      ASSERT_TRUE(test::close(gw.cross[k], cw.cross[k], 1e-5, 1e-5)) << "node " << node << " cross " << k;
    for (std::size_t k = 0; k < cw.max_b.size(); ++k)
      ASSERT_TRUE(test::close(gw.max_b[k], cw.max_b[k], 1e-5, 1e-6));
  }
}

INSTANTIATE_TEST_SUITE_P(Graphs, CudaGraphParity, ::testing::ValuesIn(test::kGraphCases),
                         [](const ::testing::TestParamInfo<test::GraphCase>& param) {
                           return std::string(param.param.name);
                         });

}  // namespace
}  // namespace modeconn
