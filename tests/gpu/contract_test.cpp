// What both backends must do alike at the edges: an empty split, control points of the wrong size, a model
// and data of different tasks; and the CUDA backend's recovery when the device runs out of memory mid-upload.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gpu/compare.hpp"
#include "gpu/gpu_environment.hpp"
#include "modeconn/backend.hpp"
#include "modeconn/error.hpp"
#include "modeconn/train.hpp"
#include "support/fixtures.hpp"

#ifdef MODECONN_CUDA_EMULATION
#include "cuda_emulation.h"
#endif

namespace modeconn {
namespace {

class CudaContract : public test::GpuTest {};

TEST_F(CudaContract, AnEmptySplitGivesWhatTheCpuGives) {
  const Path path =
      test::random_path(PathKind::linear, {6, 5, 3}, Activation::relu, Task::classification, 2, 1);
  const Split empty = test::random_split(0, 6, Task::classification, 3, 2);
  const std::vector<double> ts = path_grid(3);
  const auto want = make_cpu_backend()->evaluate(path, ts, empty);
  auto gpu = make_cuda_backend(false);
  set_cuda_poison(*gpu, true);
  const auto got = gpu->evaluate(path, ts, empty);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t p = 0; p < want.size(); ++p) {  // the mean of nothing: NaN on both
    EXPECT_EQ(std::isnan(got[p].loss), std::isnan(want[p].loss)) << got[p].loss << " vs " << want[p].loss;
    EXPECT_EQ(std::isnan(got[p].error), std::isnan(want[p].error)) << got[p].error << " vs " << want[p].error;
  }
}

TEST_F(CudaContract, ControlPointsOfTheWrongSizeAreRefusedLikeOnTheCpu) {
  Path path = test::random_path(PathKind::bezier, {6, 5, 3}, Activation::relu, Task::classification, 3, 1);
  path.points[1].pop_back();
  const Split split = test::random_split(20, 6, Task::classification, 3, 2);
  const std::vector<double> ts = path_grid(5);
  EXPECT_THROW(make_cpu_backend()->evaluate(path, ts, split), Error);
  auto gpu = make_cuda_backend(false);
  EXPECT_THROW(gpu->evaluate(path, ts, split), Error);
  TrainOptions o;
  EXPECT_THROW(make_cpu_backend()->make_trainer(path, 1, 2, split, o), Error);
  EXPECT_THROW(gpu->make_trainer(path, 1, 2, split, o), Error);
}

TEST_F(CudaContract, AModelAndDataOfDifferentTasksAreRefusedByBothBackends) {
  // The loss follows the task; a classification model on regression targets has none to follow.
  const Model m = test::random_model({6, 5, 3}, Activation::relu, Task::classification, 1);
  const Split regression = test::random_split(20, 6, Task::regression, 3, 2);
  const std::vector<double> ts = path_grid(2);
  const Path path{PathKind::linear, m.arch, {m.params}};
  std::vector<int64_t> rows = {0, 1, 2};
  std::vector<float> grad(m.params.size());
  std::vector<std::unique_ptr<Backend>> backends;
  backends.push_back(make_cpu_backend());
  backends.push_back(make_cuda_backend(false));
  for (const auto& backend : backends) {
    SCOPED_TRACE(backend->name());
    EXPECT_THROW(backend->evaluate(path, ts, regression), Error);
    EXPECT_THROW(backend->loss_and_grad(m.arch, m.params, regression, rows, grad), Error);
  }
}

#ifdef MODECONN_CUDA_EMULATION
TEST_F(CudaContract, AFailedUploadLeavesNoCachedSplitBehind) {
  // The first device allocation of an evaluation is the split's upload. When it fails, the error reaches the
  // caller, and the next evaluation of the same split uploads it again instead of reading a half-made cache.
  const Path path =
      test::random_path(PathKind::bezier, {6, 5, 3}, Activation::relu, Task::classification, 3, 1);
  const Split split = test::random_split(50, 6, Task::classification, 3, 2);
  const std::vector<double> ts = path_grid(5);
  auto gpu = make_cuda_backend(false);
  set_cuda_poison(*gpu, true);
  cuda_emulation::fail_allocations_after(0);
  EXPECT_THROW(gpu->evaluate(path, ts, split), Error);
  test::expect_same_metrics(gpu->evaluate(path, ts, split), make_cpu_backend()->evaluate(path, ts, split), ts,
                            split, 1e-5, "after a failed upload");
  cuda_emulation::fail_allocations_after(1);  // the features go up, the labels do not
  const Split other = test::random_split(40, 6, Task::classification, 3, 3);
  EXPECT_THROW(gpu->evaluate(path, ts, other), Error);
  test::expect_same_metrics(gpu->evaluate(path, ts, other), make_cpu_backend()->evaluate(path, ts, other), ts,
                            other, 1e-5, "after a failed label upload");
}
#endif

}  // namespace
}  // namespace modeconn
