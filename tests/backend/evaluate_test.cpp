// The CPU backend's path evaluation against an independent float64 MLP at each point's interpolated weights.
#include <gtest/gtest.h>

#include "modeconn/backend.hpp"
#include "support/check.hpp"
#include "support/fixtures.hpp"
#include "support/reference_mlp.hpp"

namespace modeconn {
namespace {

class EvaluateAgainstFloat64 : public ::testing::TestWithParam<test::PathCase> {};

TEST_P(EvaluateAgainstFloat64, EveryPointMatches) {
  const test::PathCase c = GetParam();
  const Path path = test::random_path(c.kind, c.widths, c.activation, c.task, c.control_points, c.seed * 10);
  const Split split = test::random_split(c.rows, c.widths.front(), c.task, c.widths.back(), c.seed + 99);
  const std::vector<double> ts = path_grid(c.points);
  auto backend = make_cpu_backend();
  const auto metrics = backend->evaluate(path, ts, split);
  ASSERT_EQ(metrics.size(), ts.size());

  for (std::size_t p = 0; p < ts.size(); ++p) {
    // The reference interpolates the weights themselves in float64: no factorisation, no float32.
    std::vector<double> theta(path.arch.num_params(), 0.0);
    const auto coef = path.coefficients(ts[p]);
    for (std::size_t k = 0; k < path.points.size(); ++k)
      for (std::size_t i = 0; i < theta.size(); ++i) theta[i] += coef[k] * path.points[k][i];
    const test::RefMetrics ref = test::ref_metrics(path.arch, theta, split);
    EXPECT_TRUE(test::close(metrics[p].loss, ref.loss, 2e-5, 1e-6)) << "t = " << ts[p];
    const double one_sample = c.task == Task::classification ? 1.0 / static_cast<double>(c.rows) : 0.0;
    EXPECT_TRUE(test::close(metrics[p].error, ref.error, 2e-5, one_sample + 1e-7)) << "t = " << ts[p];
  }
}

std::vector<test::PathCase> cases() {
  std::vector<test::PathCase> out;
  uint64_t seed = 1;
  for (Activation a : {Activation::relu, Activation::leaky_relu, Activation::tanh, Activation::sigmoid,
                       Activation::gelu, Activation::softplus, Activation::identity})
    for (Task t : {Task::classification, Task::regression})
      out.push_back({{13, 17, 11, 5}, a, t, PathKind::linear, 2, 7, 97, seed++});
  out.push_back({{9, 6, 4}, Activation::relu, Task::classification, PathKind::bezier, 3, 9, 64, seed++});
  out.push_back({{9, 6, 6, 4}, Activation::tanh, Task::regression, PathKind::bezier, 5, 6, 50, seed++});
  out.push_back({{9, 6, 4}, Activation::gelu, Task::classification, PathKind::polychain, 4, 11, 40, seed++});
  out.push_back(
      {{7, 3}, Activation::relu, Task::classification, PathKind::linear, 2, 5, 80, seed++});  // one layer
  out.push_back(
      {{7, 5, 3}, Activation::relu, Task::classification, PathKind::linear, 1, 2, 30, seed++});  // a single
                                                                                                 // point
  out.push_back({{6, 8, 3},
                 Activation::softplus,
                 Task::classification,
                 PathKind::linear,
                 2,
                 3,
                 2100,
                 seed++});  // chunks
  out.push_back(
      {{20, 12, 3}, Activation::relu, Task::classification, PathKind::bezier, 4, 2, 33, seed++});  // K > P
  return out;
}

INSTANTIATE_TEST_SUITE_P(Cpu, EvaluateAgainstFloat64, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<test::PathCase>& p) {
                           const test::PathCase& c = p.param;
                           return std::string(activation_name(c.activation)) + "_" +
                                  std::string(task_name(c.task)) + "_" + std::string(path_kind_name(c.kind)) +
                                  std::to_string(c.control_points) + "_" + std::to_string(c.rows) + "rows_" +
                                  std::to_string(p.index);
                         });

TEST(Evaluate, ClosedFormSingleLayerLoss) {
  // Zero weights and biases: every logit is 0, so the cross-entropy is log(C) and argmax picks class 0.
  Model m = test::random_model({4, 5}, Activation::relu, Task::classification, 3);
  std::fill(m.params.begin(), m.params.end(), 0.f);
  Split s = test::random_split(10, 4, Task::classification, 5, 8);
  std::fill(s.labels.begin(), s.labels.end(), 0);
  s.labels[3] = 2;
  auto b = make_cpu_backend();
  const double t = 0;
  const auto r = b->evaluate(Path{PathKind::linear, m.arch, {m.params}}, {&t, 1}, s);
  EXPECT_TRUE(test::close(r[0].loss, std::log(5.0), 1e-12));
  EXPECT_DOUBLE_EQ(r[0].error, 0.1);
}

}  // namespace
}  // namespace modeconn
