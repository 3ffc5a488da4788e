// loss_and_grad against central finite differences of the float64 reference MLP.
#include <gtest/gtest.h>

#include "modeconn/backend.hpp"
#include "support/check.hpp"
#include "support/fixtures.hpp"
#include "support/reference_mlp.hpp"

namespace modeconn {
namespace {

struct GradCase {
  Activation activation;
  Task task;
  uint64_t seed;
};

// Named in the test name already; keeps ctest's listing readable.
void PrintTo(const GradCase&, std::ostream* os) { *os << "case"; }

class GradientAgainstFiniteDifferences : public ::testing::TestWithParam<GradCase> {};

TEST_P(GradientAgainstFiniteDifferences, EveryParameter) {
  const GradCase c = GetParam();
  const Model m = test::random_model({6, 5, 4, 3}, c.activation, c.task, c.seed);
  const Split s = test::random_split(40, 6, c.task, 3, c.seed + 1);
  const std::vector<int64_t> rows{3, 17, 0, 39, 22, 8, 8, 31, 12};  // a minibatch, one row twice
  std::vector<float> grad(m.params.size(), NAN);
  auto backend = make_cpu_backend();
  const PointMetrics got = backend->metrics_and_grad(m.arch, m.params, s, rows, grad);
  const double loss = got.loss;

  std::vector<double> theta = test::to_double(m.params);
  const auto want = test::ref_metrics(m.arch, theta, s, rows);
  EXPECT_TRUE(test::close(loss, want.loss, 1e-5));
  // The minibatch's error, which training reports per epoch: the fraction misclassified (exact), or the
  // mean absolute error.
  EXPECT_TRUE(test::close(got.error, want.error, 1e-5)) << got.error << " vs " << want.error;
  const double h = 1e-6;
  for (std::size_t i = 0; i < theta.size(); ++i) {
    const double keep = theta[i];
    theta[i] = keep + h;
    const double up = test::ref_metrics(m.arch, theta, s, rows).loss;
    theta[i] = keep - h;
    const double down = test::ref_metrics(m.arch, theta, s, rows).loss;
    theta[i] = keep;
    EXPECT_TRUE(test::close(grad[i], (up - down) / (2 * h), 1e-3, 2e-5)) << "parameter " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Cpu, GradientAgainstFiniteDifferences,
                         ::testing::Values(GradCase{Activation::relu, Task::classification, 1},
                                           GradCase{Activation::leaky_relu, Task::classification, 2},
                                           GradCase{Activation::tanh, Task::regression, 3},
                                           GradCase{Activation::sigmoid, Task::classification, 4},
                                           GradCase{Activation::gelu, Task::regression, 5},
                                           GradCase{Activation::softplus, Task::classification, 6},
                                           GradCase{Activation::identity, Task::regression, 7}),
                         [](const ::testing::TestParamInfo<GradCase>& p) {
                           return std::string(activation_name(p.param.activation)) + "_" +
                                  std::string(task_name(p.param.task));
                         });

}  // namespace
}  // namespace modeconn
