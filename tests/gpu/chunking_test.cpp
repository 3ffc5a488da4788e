// The CUDA backend's less travelled paths against the CPU backend: splits that go up in chunks (streamed from
// pinned buffers, or resident and walked in chunks), grids capped so that every grid-stride loop wraps, and
// more path points than a grid has blocks along y.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "gpu/compare.hpp"
#include "gpu/gpu_environment.hpp"
#include "modeconn/backend.hpp"
#include "support/check.hpp"
#include "support/fixtures.hpp"

namespace modeconn {
namespace {

class CudaChunks : public test::GpuTest {};

// A CUDA backend made while the given variables are set (the backend reads them when it is made).
std::unique_ptr<Backend> cuda_backend_with(const std::vector<std::pair<std::string, std::string>>& env) {
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  auto gpu = make_cuda_backend(false);
  for (const auto& [k, v] : env) unsetenv(k.c_str());
  set_cuda_poison(*gpu, true);
  return gpu;
}

// Everything the backend computes over a split: path evaluation with `control_points` control points at
// `points` values of t (factorised first layer when control points are fewer), the statistics of every hidden
// layer, outputs of a row range, and a minibatch's loss and gradient.
void expect_cpu_parity(Backend& gpu, int control_points, int points) {
  const std::vector<int64_t> widths = {50, 40, 30, 7};
  const Path path =
      test::random_path(PathKind::bezier, widths, Activation::relu, Task::classification, control_points, 5);
  const Split split = test::random_split(1000, 50, Task::classification, 7, 6);
  const Model a = test::random_model(widths, Activation::relu, Task::classification, 8);
  const Model b = test::random_model(widths, Activation::relu, Task::classification, 9);
  auto cpu = make_cpu_backend();

  const std::vector<double> ts = path_grid(points);
  EXPECT_NO_FATAL_FAILURE(test::expect_same_metrics(
      gpu.evaluate(path, ts, split), cpu->evaluate(path, ts, split), ts, split, 1e-5, "evaluate"));
  for (std::size_t layer = 0; layer + 1 < widths.size() - 1; ++layer) {
    SCOPED_TRACE("layer " + std::to_string(layer));
    const ActivationStats sw = cpu->activation_stats(a, b, split, layer),
                          sg = gpu.activation_stats(a, b, split, layer);
    EXPECT_NO_FATAL_FAILURE(
        test::expect_close_vectors(sg.covariance, sw.covariance, 1e-5, 1e-6, "covariance"));
    EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(sg.mean_a, sw.mean_a, 1e-5, 1e-6, "mean_a"));
    EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(sg.std_b, sw.std_b, 1e-5, 1e-6, "std_b"));
    EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(sg.max_b, sw.max_b, 1e-5, 1e-6, "max_b"));
  }
  EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(
      gpu.outputs(a, split, 100, 300), cpu->outputs(a, split, 100, 300), 1e-5, 1e-5, "outputs"));
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < 128; ++i) rows.push_back((i * 7919) % 1000);
  std::vector<float> gw(a.params.size()), gg(a.params.size());
  EXPECT_TRUE(test::close(gpu.loss_and_grad(a.arch, a.params, split, rows, gg),
                          cpu->loss_and_grad(a.arch, a.params, split, rows, gw), 1e-5));
  EXPECT_NO_FATAL_FAILURE(test::expect_close_vectors(gg, gw, 1e-4, 1e-5, "gradient"));
}

TEST_F(CudaChunks, StreamedFromPinnedBuffersWithTheFactorisedFirstLayer) {
  // Inputs kept on the host and sent up 96 rows at a time through the pinned double buffer (11 chunks).
  auto gpu = cuda_backend_with({{"MODECONN_CUDA_RESIDENT_BYTES", "0"}, {"MODECONN_CUDA_CHUNK_ROWS", "96"}});
  EXPECT_NO_FATAL_FAILURE(expect_cpu_parity(*gpu, 3, 9));
}

TEST_F(CudaChunks, StreamedWithoutTheFactorisation) {
  // As many control points as path points: every point's first layer is its own product, on streamed chunks.
  auto gpu = cuda_backend_with({{"MODECONN_CUDA_RESIDENT_BYTES", "0"}, {"MODECONN_CUDA_CHUNK_ROWS", "128"}});
  EXPECT_NO_FATAL_FAILURE(expect_cpu_parity(*gpu, 5, 4));
}

TEST_F(CudaChunks, ResidentDataWalkedInSeveralChunks) {
  auto gpu = cuda_backend_with({{"MODECONN_CUDA_CHUNK_ROWS", "77"}});
  EXPECT_NO_FATAL_FAILURE(expect_cpu_parity(*gpu, 3, 9));
  EXPECT_NO_FATAL_FAILURE(expect_cpu_parity(*gpu, 4, 3));
}

TEST_F(CudaChunks, GridStrideLoopsThatWrap) {
  // Three blocks at most along x and along y: every kernel's loops over elements, points and segments wrap.
  auto gpu = cuda_backend_with({{"MODECONN_CUDA_GRID_CAP", "3"}});
  EXPECT_NO_FATAL_FAILURE(expect_cpu_parity(*gpu, 3, 9));
  EXPECT_NO_FATAL_FAILURE(expect_cpu_parity(*gpu, 5, 4));
}

TEST_F(CudaChunks, MorePathPointsThanAGridHasBlocksAlongY) {
  // 65,537 points: more than the 65,535 blocks a grid may have along y (the CPU backend has no such limit).
  const std::vector<int64_t> widths = {3, 4, 2};
  const Path path =
      test::random_path(PathKind::bezier, widths, Activation::tanh, Task::classification, 3, 21);
  const Split split = test::random_split(2, 3, Task::classification, 2, 22);
  // Built here: path_grid stops at kMaxPathPoints, which the backends themselves do not need.
  std::vector<double> ts(65537);
  for (size_t i = 0; i < ts.size(); ++i) ts[i] = static_cast<double>(i) / static_cast<double>(ts.size() - 1);
  auto gpu = make_cuda_backend(false);
  set_cuda_poison(*gpu, true);
  EXPECT_NO_FATAL_FAILURE(test::expect_same_metrics(gpu->evaluate(path, ts, split),
                                                    make_cpu_backend()->evaluate(path, ts, split), ts, split,
                                                    1e-5, "65537 points"));
}

}  // namespace
}  // namespace modeconn
