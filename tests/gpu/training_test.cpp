// The CUDA backend's trainer and products against the CPU backend: SGD and Adam on models, curve fitting,
// TF32, and the matrix products weight matching asks for. Intermediate device buffers are NaN-poisoned
// throughout.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "gpu/compare.hpp"
#include "gpu/gpu_environment.hpp"
#include "modeconn/align.hpp"
#include "modeconn/backend.hpp"
#include "modeconn/rng.hpp"
#include "modeconn/train.hpp"
#include "support/check.hpp"
#include "support/fixtures.hpp"

namespace modeconn {
namespace {

class CudaTraining : public test::GpuTest {};

std::unique_ptr<Backend> poisoned_cuda_backend(bool tf32) {
  auto gpu = make_cuda_backend(tf32);
  set_cuda_poison(*gpu, true);
  return gpu;
}

TEST_F(CudaTraining, FollowsTheCpuBackendStepForStep) {
  const Split s = test::random_split(500, 20, Task::classification, 4, 3);
  const Architecture arch = make_architecture({20, 32, 4}, Activation::relu, Task::classification);
  TrainOptions o;
  o.epochs = 2;
  o.batch = 50;
  Model a = init_model(arch, 1), b = init_model(arch, 1);
  train(*make_cpu_backend(), a, s, o, nullptr);
  train(*poisoned_cuda_backend(false), b, s, o, nullptr);
  EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(b.params, a.params, 1e-3, 1e-5, "parameters"));
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
  auto gpu = poisoned_cuda_backend(false);
  Model a = init_model(arch, 4), b = init_model(arch, 4);
  train(*cpu, a, s, adam, nullptr);
  train(*gpu, b, s, adam, nullptr);
  EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(b.params, a.params, 1e-3, 1e-5, "Adam parameters"));

  TrainOptions sgd;
  sgd.lr = 0.05;
  sgd.weight_decay = 0.001;
  sgd.epochs = 2;
  sgd.batch = 50;
  Path on_cpu = init_curve(init_model(arch, 5), init_model(arch, 6), PathKind::bezier, 2), on_gpu = on_cpu;
  fit_curve(*cpu, on_cpu, s, sgd, nullptr);
  fit_curve(*gpu, on_gpu, s, sgd, nullptr);
  for (std::size_t k = 0; k < on_cpu.points.size(); ++k) {
    SCOPED_TRACE("control point " + std::to_string(k));
    EXPECT_NO_FATAL_FAILURE(
        test::expect_close_vectors(on_gpu.points[k], on_cpu.points[k], 1e-3, 1e-5, "curve"));
  }
}

TEST_F(CudaTraining, TrainsAndFitsCurvesWithTf32) {
  // TF32 products carry 10 mantissa bits: two epochs stay within a percent of the CPU's float32 run, and the
  // fitted curve's loss is that of the CPU's curve to a percent.
  const Split s = test::random_split(400, 12, Task::classification, 3, 13);
  const Architecture arch = make_architecture({12, 24, 16, 3}, Activation::gelu, Task::classification);
  TrainOptions o;
  o.optimizer = Optimizer::adam;
  o.lr = 0.01;
  o.epochs = 2;
  o.batch = 64;
  auto cpu = make_cpu_backend();
  auto gpu = poisoned_cuda_backend(true);
  Model a = init_model(arch, 7), b = init_model(arch, 7);
  train(*cpu, a, s, o, nullptr);
  train(*gpu, b, s, o, nullptr);
  EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(b.params, a.params, 2e-2, 2e-2, "TF32 parameters"));
  EXPECT_TRUE(test::close(evaluate_model(*cpu, b, s).loss, evaluate_model(*cpu, a, s).loss, 1e-2));

  Path on_cpu = init_curve(a, init_model(arch, 8), PathKind::bezier, 1), on_gpu = on_cpu;
  fit_curve(*cpu, on_cpu, s, o, nullptr);
  fit_curve(*gpu, on_gpu, s, o, nullptr);
  const std::vector<double> ts = path_grid(5);
  EXPECT_NO_FATAL_FAILURE(test::expect_same_metrics(cpu->evaluate(on_gpu, ts, s),
                                                    cpu->evaluate(on_cpu, ts, s), ts, s, 1e-2, "TF32 curve"));
}

TEST_F(CudaTraining, ProductsMatchTheCpuBackend) {
  // The products host algorithms ask the backend for, in every transposition, with and without accumulation,
  // and with nothing to sum over (k = 0: C = beta·C).
  Rng rng(12);
  auto cpu = make_cpu_backend();
  auto gpu = poisoned_cuda_backend(false);
  for (int64_t k : {53, 1, 0}) {
    const int64_t m = 37, n = 29;
    std::vector<float> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(k * n)),
        c0(static_cast<std::size_t>(m * n));
    for (auto* v : {&a, &b, &c0})
      for (float& x : *v) x = static_cast<float>(rng.uniform() * 2 - 1);
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.f, 0.5f}) {
          SCOPED_TRACE("k " + std::to_string(k) + (ta ? " A^T" : " A") + (tb ? " B^T" : " B") + " beta " +
                       std::to_string(beta));
          std::vector<float> want = c0, got = c0;
          cpu->product(ta, tb, m, n, k, 1.5f, a.data(), b.data(), beta, want.data());
          gpu->product(ta, tb, m, n, k, 1.5f, a.data(), b.data(), beta, got.data());
          EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(got, want, 1e-5, 1e-6, "product"));
          if (k == 0) {
            for (std::size_t i = 0; i < want.size(); ++i)
              ASSERT_EQ(want[i], beta * c0[i]) << "C = beta C at " << i;
          }
        }
  }
}

TEST_F(CudaTraining, Tf32ProductsRoundTheirInputs) {
  // With TF32 the product is that of inputs rounded to 10 mantissa bits: within 2^-8 of Σ|a||b| of the
  // float32 product, and (on inputs with bits below TF32's) not equal to it.
  Rng rng(14);
  const int64_t m = 33, n = 17, k = 129;
  std::vector<float> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(k * n));
  for (auto* v : {&a, &b})
    for (float& x : *v) x = static_cast<float>(rng.uniform() * 2 - 1);
  std::vector<float> fp32(static_cast<std::size_t>(m * n)), tf32(fp32.size());
  make_cpu_backend()->product(false, false, m, n, k, 1.f, a.data(), b.data(), 0.f, fp32.data());
  poisoned_cuda_backend(true)->product(false, false, m, n, k, 1.f, a.data(), b.data(), 0.f, tf32.data());
  std::size_t differ = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double magnitude = 0;
      for (int64_t l = 0; l < k; ++l) magnitude += std::abs(static_cast<double>(a[i * k + l]) * b[l * n + j]);
      const std::size_t at = static_cast<std::size_t>(i * n + j);
      ASSERT_TRUE(test::close(tf32[at], fp32[at], 0, magnitude / 256)) << "element " << at;
      differ += tf32[at] != fp32[at];
    }
  EXPECT_GT(differ, fp32.size() / 2) << "TF32 products equal to float32 ones: the inputs were not rounded";
}

TEST_F(CudaTraining, WeightMatchingWithDeviceProductsFindsTheCpusAlignment) {
  // Weight matching with its similarities on the device finds the same alignment of a permuted copy.
  Rng rng(15);
  auto cpu = make_cpu_backend();
  auto gpu = poisoned_cuda_backend(false);
  const Model ma = test::random_model({20, 32, 24, 5}, Activation::relu, Task::classification, 13);
  Alignment shuffle = identity_alignment(ma.arch);
  for (auto& layer : shuffle.layers)
    for (std::size_t i = layer.perm.size(); i > 1; --i)
      std::swap(layer.perm[i - 1], layer.perm[rng.below(i)]);
  const Model mb = apply_alignment(ma, shuffle);
  const MatchingResult on_cpu = weight_matching(*cpu, ma, mb, {100, 1, false});
  const MatchingResult on_gpu = weight_matching(*gpu, ma, mb, {100, 1, false});
  for (std::size_t l = 0; l < on_cpu.alignment.layers.size(); ++l)
    EXPECT_EQ(on_gpu.alignment.layers[l].perm, on_cpu.alignment.layers[l].perm) << "layer " << l;
  EXPECT_TRUE(test::close(on_gpu.objective_after, on_cpu.objective_after, 1e-5));
}

}  // namespace
}  // namespace modeconn
