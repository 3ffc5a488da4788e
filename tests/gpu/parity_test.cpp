// The CUDA backend against the CPU backend on the same random models, data and paths.
#include <gtest/gtest.h>

#include "gpu/compare.hpp"
#include "gpu/gpu_environment.hpp"
#include "modeconn/backend.hpp"
#include "support/check.hpp"
#include "support/fixtures.hpp"

namespace modeconn {
namespace {

class CudaParity : public test::GpuTestWithParam<test::PathCase> {};

Path make_path(const test::PathCase& c) {
  return test::random_path(c.kind, c.widths, c.activation, c.task, c.control_points, c.seed * 7);
}

TEST_P(CudaParity, EvaluateMatchesTheCpuBackend) {
  const test::PathCase c = GetParam();
  const Path path = make_path(c);
  const Split split = test::random_split(c.rows, c.widths.front(), c.task, c.widths.back(), c.seed + 1);
  const std::vector<double> ts = path_grid(c.points);
  auto cpu = make_cpu_backend();
  const auto ref = cpu->evaluate(path, ts, split);
  for (bool tf32 : {false, true}) {
    auto gpu = make_cuda_backend(tf32);
    set_cuda_poison(*gpu, true);  // an element nothing wrote is NaN and fails the comparison
    EXPECT_NO_FATAL_FAILURE(test::expect_same_metrics(gpu->evaluate(path, ts, split), ref, ts, split,
                                                      tf32 ? 1e-3 : 1e-5, tf32 ? "tf32" : "fp32"));
  }
}

TEST_P(CudaParity, LossAndGradientMatchTheCpuBackend) {
  const test::PathCase c = GetParam();
  const Model m = test::random_model(c.widths, c.activation, c.task, c.seed);
  const Split split = test::random_split(c.rows, c.widths.front(), c.task, c.widths.back(), c.seed + 2);
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < std::min<int64_t>(c.rows, 200); i += 2) rows.push_back((i * 7919) % c.rows);
  std::vector<float> g_cpu(m.params.size()), g_gpu(m.params.size());
  auto cpu = make_cpu_backend();
  auto gpu = make_cuda_backend(false);
  set_cuda_poison(*gpu, true);
  const PointMetrics cpu_metrics = cpu->metrics_and_grad(m.arch, m.params, split, rows, g_cpu);
  const PointMetrics gpu_metrics = gpu->metrics_and_grad(m.arch, m.params, split, rows, g_gpu);
  EXPECT_TRUE(test::close(gpu_metrics.loss, cpu_metrics.loss, 1e-5));
  EXPECT_TRUE(test::close(gpu_metrics.error, cpu_metrics.error, 1e-5));
  double scale = 0;
  for (float v : g_cpu) scale = std::max(scale, static_cast<double>(std::abs(v)));
  for (std::size_t i = 0; i < g_cpu.size(); ++i)
    ASSERT_TRUE(test::close(g_gpu[i], g_cpu[i], 1e-4, 1e-5 * scale)) << "parameter " << i;
}

TEST_P(CudaParity, ActivationStatisticsAndOutputsMatchTheCpuBackend) {
  const test::PathCase c = GetParam();
  const Model a = test::random_model(c.widths, c.activation, c.task, c.seed);
  const Model b = test::random_model(c.widths, c.activation, c.task, c.seed + 100);
  const Split split = test::random_split(c.rows, c.widths.front(), c.task, c.widths.back(), c.seed + 3);
  auto cpu = make_cpu_backend();
  auto gpu = make_cuda_backend(false);
  set_cuda_poison(*gpu, true);
  // Every statistic of every hidden layer (none for a single layer); tolerances relative to the largest value
  // of each kind, since the float32 forward passes differ in summation order.
  for (std::size_t layer = 0; layer + 1 < a.arch.layers.size(); ++layer) {
    SCOPED_TRACE("layer " + std::to_string(layer));
    const ActivationStats want = cpu->activation_stats(a, b, split, layer),
                          got = gpu->activation_stats(a, b, split, layer);
    EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(got.mean_a, want.mean_a, 1e-5, 1e-5, "mean_a"));
    EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(got.std_a, want.std_a, 1e-5, 1e-5, "std_a"));
    EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(got.max_a, want.max_a, 1e-5, 1e-5, "max_a"));
    EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(got.mean_b, want.mean_b, 1e-5, 1e-5, "mean_b"));
    EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(got.std_b, want.std_b, 1e-5, 1e-5, "std_b"));
    EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(got.max_b, want.max_b, 1e-5, 1e-5, "max_b"));
    EXPECT_NO_FATAL_FAILURE(
        test::expect_close_vectors(got.covariance, want.covariance, 1e-5, 1e-5, "covariance"));
  }
  const int64_t first = c.rows / 3, count = c.rows - first - 1;
  EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(
      gpu->outputs(a, split, first, count), cpu->outputs(a, split, first, count), 1e-5, 1e-5, "outputs"));
}

std::vector<test::PathCase> cases() {
  std::vector<test::PathCase> out;
  uint64_t seed = 1;
  for (Activation a : {Activation::relu, Activation::leaky_relu, Activation::tanh, Activation::sigmoid,
                       Activation::gelu, Activation::softplus, Activation::identity})
    for (Task t : {Task::classification, Task::regression})
      out.push_back({{37, 64, 48, 10}, a, t, PathKind::linear, 2, 25, 1000, seed++});
  out.push_back({{100, 128, 3}, Activation::relu, Task::classification, PathKind::bezier, 4, 9, 513, seed++});
  out.push_back(
      {{30, 17, 17, 17, 5}, Activation::tanh, Task::classification, PathKind::polychain, 5, 11, 300, seed++});
  out.push_back(
      {{12, 4}, Activation::relu, Task::classification, PathKind::linear, 2, 5, 77, seed++});  // one layer
  out.push_back(
      {{20, 16, 3}, Activation::gelu, Task::classification, PathKind::bezier, 6, 3, 50, seed++});  // K > P
  return out;
}

INSTANTIATE_TEST_SUITE_P(Gpu, CudaParity, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<test::PathCase>& p) {
                           return std::string(activation_name(p.param.activation)) + "_" +
                                  std::string(task_name(p.param.task)) + "_" +
                                  std::string(path_kind_name(p.param.kind)) + "_" + std::to_string(p.index);
                         });

}  // namespace
}  // namespace modeconn
