// The CUDA graph backward against the CPU's on the same graphs, parameters and minibatches: every op's
// gradient (through the graphs of tests/graph/graph_models.hpp, which tests/graph/graph_grad_test.cpp checks
// on the CPU against finite differences of a float64 reference), BatchNorm in train and eval mode with the
// running statistics' update, a streamed split, and training steps of a VGG and a ResNet.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "gpu/gpu_environment.hpp"
#include "graph/graph_models.hpp"
#include "modeconn/graph_eval.hpp"
#include "modeconn/graph_families.hpp"
#include "modeconn/graph_train.hpp"
#include "support/check.hpp"

namespace modeconn {
namespace {

struct GradCase {
  test::GraphCase graph;
  bool train_bn;
};
void PrintTo(const GradCase& c, std::ostream* out) {
  *out << c.graph.name << (c.train_bn ? " train" : " eval");
}

// Gradients agree to float32 rounding relative to the gradient's own scale: a component much smaller than
// the largest is a sum of larger terms that cancel, each backend in its own order.
void expect_same_gradient(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  double scale = 0;
  for (float v : want) scale = std::max(scale, static_cast<double>(std::abs(v)));
  ASSERT_GT(scale, 0.0) << what;
  int bad = 0;
  for (std::size_t i = 0; i < want.size() && bad < 5; ++i)
    if (!test::close(got[i], want[i], 1e-4, 1e-6 * scale)) {
      ADD_FAILURE() << what << " " << i << ": " << got[i] << " vs " << want[i] << " (largest " << scale
                    << ")";
      ++bad;
    }
}

class CudaGraphGradParity : public test::GpuTestWithParam<GradCase> {
 protected:
  std::unique_ptr<GraphRunner> cpu_ = make_cpu_graph_runner();

  // The gradient, metrics and updated running statistics of one minibatch on the CPU and on `gpu`.
  void compare(GraphRunner& gpu, const GraphModel& m, const Split& s, const std::vector<int64_t>& rows,
               bool train_bn) {
    std::vector<float> want_buffers = m.buffers, got_buffers = m.buffers;
    std::vector<float> want(m.params.size(), NAN), got(m.params.size(), NAN);
    const PointMetrics w = cpu_->metrics_and_grad(m.graph, m.params, want_buffers, train_bn, s, rows, want);
    const PointMetrics g = gpu.metrics_and_grad(m.graph, m.params, got_buffers, train_bn, s, rows, got);
    EXPECT_TRUE(test::close(g.loss, w.loss, 1e-5)) << g.loss << " vs " << w.loss;
    EXPECT_DOUBLE_EQ(g.error, w.error);
    expect_same_gradient(got, want, "gradient");
    for (std::size_t i = 0; i < want_buffers.size(); ++i)
      EXPECT_TRUE(test::close(got_buffers[i], want_buffers[i], 1e-5, 1e-7)) << "running statistic " << i;
  }
};

TEST_P(CudaGraphGradParity, MatchesTheCpuBackward) {
  const GradCase c = GetParam();
  auto gpu_backend = make_cuda_backend(false);
  set_cuda_poison(*gpu_backend, true);  // an element nothing wrote is NaN and fails the comparison
  auto gpu = gpu_backend->graph_runner();
  ASSERT_TRUE(gpu);
  const GraphModel m = test::random_graph_model(c.graph.json, 21);
  const Split s = test::random_graph_split(m.graph, 41, m.graph.output_size(), 22);
  // One row twice, as a minibatch drawn with replacement may; then a smaller batch on the same runner, whose
  // buffers are now larger than it needs.
  compare(*gpu, m, s, {3, 17, 0, 40, 8, 8, 12, 33, 25}, c.train_bn);
  compare(*gpu, m, s, {5, 6, 39}, c.train_bn);
}

// A split too big to keep on the device (here: any) is streamed; the minibatch's rows then go up from the
// host.
TEST_P(CudaGraphGradParity, MatchesTheCpuBackwardOnAStreamedSplit) {
  const GradCase c = GetParam();
  ::setenv("MODECONN_CUDA_RESIDENT_BYTES", "0", 1);
  auto gpu_backend = make_cuda_backend(false);
  ::unsetenv("MODECONN_CUDA_RESIDENT_BYTES");
  set_cuda_poison(*gpu_backend, true);
  auto gpu = gpu_backend->graph_runner();
  const GraphModel m = test::random_graph_model(c.graph.json, 23);
  const Split s = test::random_graph_split(m.graph, 29, m.graph.output_size(), 24);
  compare(*gpu, m, s, {28, 1, 2, 14, 14, 7}, c.train_bn);
}

INSTANTIATE_TEST_SUITE_P(
    Graphs, CudaGraphGradParity,
    ::testing::Values(GradCase{test::kGraphCases[0], false}, GradCase{test::kGraphCases[0], true},
                      GradCase{test::kGraphCases[1], false}, GradCase{test::kGraphCases[1], true},
                      GradCase{test::kGraphCases[2], false}, GradCase{test::kGraphCases[2], true},
                      GradCase{test::kGraphCases[3], false}, GradCase{test::kGraphCases[3], true}),
    [](const ::testing::TestParamInfo<GradCase>& p) {
      return std::string(p.param.graph.name) + (p.param.train_bn ? "_TrainBn" : "_EvalBn");
    });

class CudaGraphTrainingParity : public test::GpuTestWithParam<const char*> {
 protected:
  // The largest change training made on the CPU (`moved`) and the largest difference of the GPU's result
  // from the CPU's (`diff`).
  struct Steps {
    double moved = 0, diff = 0;
  };
  static Steps steps(const std::vector<float>& start, const std::vector<float>& cpu,
                     const std::vector<float>& gpu) {
    Steps s;
    for (std::size_t i = 0; i < start.size(); ++i) {
      s.moved = std::max(s.moved, static_cast<double>(std::abs(cpu[i] - start[i])));
      s.diff = std::max(s.diff, static_cast<double>(std::abs(gpu[i] - cpu[i])));
    }
    return s;
  }
};

// The families `train --arch` builds, trained for one epoch of a few minibatches on both backends from the
// same initialisation: parameters and running statistics stay together step after step.
TEST_P(CudaGraphTrainingParity, AnEpochOfTrainingMatchesTheCpu) {
  const Graph graph = graph_family(GetParam(), {1, 12, 12}, 4);
  const GraphModel init = init_graph_model(graph, Task::classification, 5);
  const Split s = test::random_graph_split(graph, 48, 4, 6);
  TrainOptions o;
  o.epochs = 1;
  o.batch = 16;
  o.lr = 0.05;
  o.seed = 7;
  for (Optimizer opt : {Optimizer::sgd, Optimizer::adam}) {
    o.optimizer = opt;
    o.weight_decay = opt == Optimizer::adam ? 1e-3 : 0.0;
    GraphModel on_cpu = init, on_gpu = init;
    auto cpu = make_cpu_graph_runner();
    auto gpu_backend = make_cuda_backend(false);
    set_cuda_poison(*gpu_backend, true);
    auto gpu = gpu_backend->graph_runner();
    train_graph(*cpu, on_cpu, s, o, {});
    train_graph(*gpu, on_gpu, s, o, {});
    const Steps st = steps(init.params, on_cpu.params, on_gpu.params);
    EXPECT_GT(st.moved, 1e-3) << "training moved the parameters";
    EXPECT_LT(st.diff, 1e-3 * st.moved) << "largest parameter difference against the largest step";
    for (std::size_t i = 0; i < init.buffers.size(); ++i)
      EXPECT_TRUE(test::close(on_gpu.buffers[i], on_cpu.buffers[i], 1e-4, 1e-6)) << "running statistic " << i;
  }
}

// A Bézier curve between two of them fitted for an epoch on both backends: the bend (trained on the device,
// BatchNorm in train mode at each minibatch's t) stays with the CPU's.
TEST_P(CudaGraphTrainingParity, AnEpochOfCurveFittingMatchesTheCpu) {
  const Graph graph = graph_family(GetParam(), {1, 12, 12}, 4);
  const GraphModel a = init_graph_model(graph, Task::classification, 8),
                   b = init_graph_model(graph, Task::classification, 9);
  const Split s = test::random_graph_split(graph, 48, 4, 10);
  TrainOptions o;
  o.epochs = 1;
  o.batch = 16;
  o.lr = 0.05;
  o.seed = 11;
  o.weight_decay = 5e-4;
  GraphPath on_cpu = init_graph_curve(a, b, PathKind::bezier, 1), on_gpu = on_cpu;
  auto cpu = make_cpu_graph_runner();
  auto gpu_backend = make_cuda_backend(false);
  set_cuda_poison(*gpu_backend, true);
  auto gpu = gpu_backend->graph_runner();
  fit_graph_curve(*cpu, on_cpu, s, o, {});
  fit_graph_curve(*gpu, on_gpu, s, o, {});
  const std::vector<float> start = init_graph_curve(a, b, PathKind::bezier, 1).params.points[1];
  const Steps st = steps(start, on_cpu.params.points[1], on_gpu.params.points[1]);
  EXPECT_GT(st.moved, 1e-3) << "fitting moved the bend";
  EXPECT_LT(st.diff, 1e-3 * st.moved) << "largest difference of the bend against its largest step";
  EXPECT_EQ(on_gpu.params.points.front(), a.params) << "the endpoints stay";
  EXPECT_EQ(on_gpu.params.points.back(), b.params);
}

INSTANTIATE_TEST_SUITE_P(Families, CudaGraphTrainingParity, ::testing::Values("vgg:4,8", "resnet:4,8:1"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                           return std::string(p.param).substr(0, std::string(p.param).find(':'));
                         });

}  // namespace
}  // namespace modeconn
