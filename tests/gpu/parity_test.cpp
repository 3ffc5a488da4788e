// The CUDA backend against the CPU backend on the same random models, data and paths.
#include <gtest/gtest.h>

#include <cstdlib>

#include "gpu/gpu_environment.hpp"
#include "modeconn/align.hpp"
#include "modeconn/backend.hpp"
#include "modeconn/rng.hpp"
#include "modeconn/train.hpp"
#include "support/check.hpp"
#include "support/fixtures.hpp"

namespace modeconn {
namespace {

class CudaParity : public test::GpuTestWithParam<test::PathCase> {};
class CudaTraining : public test::GpuTest {};

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
    const auto got = gpu->evaluate(path, ts, split);
    ASSERT_EQ(got.size(), ref.size());
    const double rtol = tf32 ? 1e-3 : 1e-5;
    for (std::size_t p = 0; p < ts.size(); ++p) {
      EXPECT_TRUE(test::close(got[p].loss, ref[p].loss, rtol, 1e-7)) << (tf32 ? "tf32" : "fp32") << " t = " << ts[p];
      EXPECT_TRUE(test::close(got[p].error, ref[p].error, rtol, c.task == Task::classification ? 2.01 / static_cast<double>(c.rows) : 1e-6))
          << (tf32 ? "tf32" : "fp32") << " t = " << ts[p];
    }
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
  const double l_cpu = cpu->loss_and_grad(m.arch, m.params, split, rows, g_cpu);
  const double l_gpu = gpu->loss_and_grad(m.arch, m.params, split, rows, g_gpu);
  EXPECT_TRUE(test::close(l_gpu, l_cpu, 1e-5));
  double scale = 0;
  for (float v : g_cpu) scale = std::max(scale, static_cast<double>(std::abs(v)));
  for (std::size_t i = 0; i < g_cpu.size(); ++i) ASSERT_TRUE(test::close(g_gpu[i], g_cpu[i], 1e-4, 1e-5 * scale)) << "parameter " << i;
}

TEST_P(CudaParity, ActivationStatisticsAndOutputsMatchTheCpuBackend) {
  const test::PathCase c = GetParam();
  if (c.widths.size() < 3) GTEST_SKIP() << "no hidden layer";
  const Model a = test::random_model(c.widths, c.activation, c.task, c.seed);
  const Model b = test::random_model(c.widths, c.activation, c.task, c.seed + 100);
  const Split split = test::random_split(c.rows, c.widths.front(), c.task, c.widths.back(), c.seed + 3);
  auto cpu = make_cpu_backend();
  auto gpu = make_cuda_backend(false);
  set_cuda_poison(*gpu, true);
  // Every statistic of every hidden layer; tolerances relative to the largest value of each kind, since the
  // float32 forward passes differ in summation order.
  auto expect_close = [](const std::vector<double>& got, const std::vector<double>& want, const char* what, std::size_t layer) {
    ASSERT_EQ(got.size(), want.size()) << what;
    double scale = 0;
    for (double v : want) scale = std::max(scale, std::abs(v));
    for (std::size_t i = 0; i < want.size(); ++i)
      ASSERT_TRUE(test::close(got[i], want[i], 1e-5, 1e-5 * scale)) << what << " layer " << layer << " unit " << i;
  };
  for (std::size_t layer = 0; layer + 1 < a.arch.layers.size(); ++layer) {
    const ActivationStats want = cpu->activation_stats(a, b, split, layer), got = gpu->activation_stats(a, b, split, layer);
    expect_close(got.mean_a, want.mean_a, "mean_a", layer);
    expect_close(got.std_a, want.std_a, "std_a", layer);
    expect_close(got.max_a, want.max_a, "max_a", layer);
    expect_close(got.mean_b, want.mean_b, "mean_b", layer);
    expect_close(got.std_b, want.std_b, "std_b", layer);
    expect_close(got.max_b, want.max_b, "max_b", layer);
    expect_close(got.covariance, want.covariance, "covariance", layer);
  }
  const int64_t first = c.rows / 3, count = c.rows - first - 1;
  const std::vector<float> want = cpu->outputs(a, split, first, count), got = gpu->outputs(a, split, first, count);
  ASSERT_EQ(got.size(), want.size());
  double scale = 0;
  for (float v : want) scale = std::max(scale, static_cast<double>(std::abs(v)));
  for (std::size_t i = 0; i < want.size(); ++i) ASSERT_TRUE(test::close(got[i], want[i], 1e-5, 1e-5 * scale)) << "output " << i;
}

TEST_F(CudaTraining, StreamsASplitThatDoesNotFitInChunks) {
  // Inputs kept on the host and sent up 96 rows at a time through the pinned double buffer: every result must
  // be what the resident path and the CPU backend give.
  const Path path = test::random_path(PathKind::bezier, {50, 40, 30, 7}, Activation::relu, Task::classification, 3, 5);
  const Split split = test::random_split(1000, 50, Task::classification, 7, 6);
  const Model a = test::random_model({50, 40, 30, 7}, Activation::relu, Task::classification, 8);
  const Model b = test::random_model({50, 40, 30, 7}, Activation::relu, Task::classification, 9);
  setenv("MODECONN_CUDA_RESIDENT_BYTES", "0", 1);
  setenv("MODECONN_CUDA_CHUNK_ROWS", "96", 1);
  auto gpu = make_cuda_backend(false);
  unsetenv("MODECONN_CUDA_RESIDENT_BYTES");
  unsetenv("MODECONN_CUDA_CHUNK_ROWS");
  set_cuda_poison(*gpu, true);
  auto cpu = make_cpu_backend();

  const std::vector<double> ts = path_grid(9);
  const auto want = cpu->evaluate(path, ts, split), got = gpu->evaluate(path, ts, split);
  for (std::size_t p = 0; p < ts.size(); ++p) {
    EXPECT_TRUE(test::close(got[p].loss, want[p].loss, 1e-5, 1e-7)) << "t = " << ts[p];
    EXPECT_TRUE(test::close(got[p].error, want[p].error, 1e-5, 2.01 / 1000)) << "t = " << ts[p];
  }
  const ActivationStats sw = cpu->activation_stats(a, b, split, 1), sg = gpu->activation_stats(a, b, split, 1);
  for (std::size_t i = 0; i < sw.covariance.size(); ++i)
    ASSERT_TRUE(test::close(sg.covariance[i], sw.covariance[i], 1e-5, 1e-6)) << "covariance " << i;
  for (std::size_t i = 0; i < sw.mean_a.size(); ++i) ASSERT_TRUE(test::close(sg.mean_a[i], sw.mean_a[i], 1e-5, 1e-6)) << i;
  const auto ow = cpu->outputs(a, split, 100, 300), og = gpu->outputs(a, split, 100, 300);
  for (std::size_t i = 0; i < ow.size(); ++i) ASSERT_TRUE(test::close(og[i], ow[i], 1e-5, 1e-5)) << "output " << i;
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < 128; ++i) rows.push_back((i * 7919) % 1000);
  std::vector<float> gw(a.params.size()), gg(a.params.size());
  EXPECT_TRUE(test::close(gpu->loss_and_grad(a.arch, a.params, split, rows, gg),
                          cpu->loss_and_grad(a.arch, a.params, split, rows, gw), 1e-5));
  for (std::size_t i = 0; i < gw.size(); ++i) ASSERT_TRUE(test::close(gg[i], gw[i], 1e-4, 1e-5)) << "gradient " << i;
}

TEST_F(CudaTraining, AdamAndCurveFittingOnTheDeviceFollowTheCpuBackend) {
  // The device trainer keeps parameters and moments on the card: Adam with weight decay on a model, and SGD
  // with weight decay measured at φ(t) on the two bends of a cubic Bézier curve.
  const Split s = test::random_split(400, 12, Task::classification, 3, 11);
  const Architecture arch = make_architecture({12, 24, 16, 3}, Activation::tanh, Task::classification);
  TrainOptions adam;
  adam.optimizer = Optimizer::adam;
  adam.lr = 0.01;
  adam.weight_decay = 0.01;
  adam.epochs = 2;
  adam.batch = 64;
  auto cpu = make_cpu_backend();
  auto gpu = make_cuda_backend(false);
  set_cuda_poison(*gpu, true);
  Model a = init_model(arch, 4), b = init_model(arch, 4);
  train(*cpu, a, s, adam, nullptr);
  train(*gpu, b, s, adam, nullptr);
  for (std::size_t i = 0; i < a.params.size(); ++i) ASSERT_TRUE(test::close(b.params[i], a.params[i], 1e-3, 1e-5)) << i;

  TrainOptions sgd;
  sgd.lr = 0.05;
  sgd.weight_decay = 0.001;
  sgd.epochs = 2;
  sgd.batch = 50;
  Path on_cpu = init_curve(init_model(arch, 5), init_model(arch, 6), PathKind::bezier, 2), on_gpu = on_cpu;
  fit_curve(*cpu, on_cpu, s, sgd, nullptr);
  fit_curve(*gpu, on_gpu, s, sgd, nullptr);
  for (std::size_t k = 0; k < on_cpu.points.size(); ++k)
    for (std::size_t i = 0; i < on_cpu.points[k].size(); ++i)
      ASSERT_TRUE(test::close(on_gpu.points[k][i], on_cpu.points[k][i], 1e-3, 1e-5)) << "point " << k << " parameter " << i;
}

TEST_F(CudaTraining, ProductsAndWeightMatchingMatchTheCpuBackend) {
  // The products host algorithms ask the backend for, in every transposition, with and without accumulation.
  Rng rng(12);
  auto cpu = make_cpu_backend();
  auto gpu = make_cuda_backend(false);
  const int64_t m = 37, n = 29, k = 53;
  std::vector<float> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(k * n)), c0(static_cast<std::size_t>(m * n));
  for (auto* v : {&a, &b, &c0})
    for (float& x : *v) x = static_cast<float>(rng.uniform() * 2 - 1);
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.f, 0.5f}) {
        std::vector<float> want = c0, got = c0;
        cpu->product(ta, tb, m, n, k, 1.5f, a.data(), b.data(), beta, want.data());
        gpu->product(ta, tb, m, n, k, 1.5f, a.data(), b.data(), beta, got.data());
        for (std::size_t i = 0; i < want.size(); ++i)
          ASSERT_TRUE(test::close(got[i], want[i], 1e-5, 1e-5)) << ta << tb << beta << " element " << i;
      }
  // Weight matching with its similarities on the device finds the same alignment of a permuted copy.
  const Model ma = test::random_model({20, 32, 24, 5}, Activation::relu, Task::classification, 13);
  Alignment shuffle = identity_alignment(ma.arch);
  for (auto& layer : shuffle.layers)
    for (std::size_t i = layer.perm.size(); i > 1; --i) std::swap(layer.perm[i - 1], layer.perm[rng.below(i)]);
  const Model mb = apply_alignment(ma, shuffle);
  const MatchingResult on_cpu = weight_matching(*cpu, ma, mb, {100, 1, false});
  const MatchingResult on_gpu = weight_matching(*gpu, ma, mb, {100, 1, false});
  for (std::size_t l = 0; l < on_cpu.alignment.layers.size(); ++l)
    EXPECT_EQ(on_gpu.alignment.layers[l].perm, on_cpu.alignment.layers[l].perm) << "layer " << l;
  EXPECT_TRUE(test::close(on_gpu.objective_after, on_cpu.objective_after, 1e-5));
}

std::vector<test::PathCase> cases() {
  std::vector<test::PathCase> out;
  uint64_t seed = 1;
  for (Activation a : {Activation::relu, Activation::leaky_relu, Activation::tanh, Activation::sigmoid, Activation::gelu,
                       Activation::softplus, Activation::identity})
    for (Task t : {Task::classification, Task::regression})
      out.push_back({{37, 64, 48, 10}, a, t, PathKind::linear, 2, 25, 1000, seed++});
  out.push_back({{100, 128, 3}, Activation::relu, Task::classification, PathKind::bezier, 4, 9, 513, seed++});
  out.push_back({{30, 17, 17, 17, 5}, Activation::tanh, Task::classification, PathKind::polychain, 5, 11, 300, seed++});
  out.push_back({{12, 4}, Activation::relu, Task::classification, PathKind::linear, 2, 5, 77, seed++});   // one layer
  out.push_back({{20, 16, 3}, Activation::gelu, Task::classification, PathKind::bezier, 6, 3, 50, seed++});  // K > P
  return out;
}

INSTANTIATE_TEST_SUITE_P(Gpu, CudaParity, ::testing::ValuesIn(cases()), [](const ::testing::TestParamInfo<test::PathCase>& p) {
  return std::string(activation_name(p.param.activation)) + "_" + std::string(task_name(p.param.task)) + "_" +
         std::string(path_kind_name(p.param.kind)) + "_" + std::to_string(p.index);
});

TEST_F(CudaTraining, FollowsTheCpuBackendStepForStep) {
  const Split s = test::random_split(500, 20, Task::classification, 4, 3);
  const Architecture arch = make_architecture({20, 32, 4}, Activation::relu, Task::classification);
  TrainOptions o;
  o.epochs = 2;
  o.batch = 50;
  Model a = init_model(arch, 1), b = init_model(arch, 1);
  auto cpu = make_cpu_backend();
  auto gpu = make_cuda_backend(false);
  train(*cpu, a, s, o, nullptr);
  train(*gpu, b, s, o, nullptr);
  for (std::size_t i = 0; i < a.params.size(); ++i) ASSERT_TRUE(test::close(b.params[i], a.params[i], 1e-3, 1e-5)) << i;
}

}  // namespace
}  // namespace modeconn
