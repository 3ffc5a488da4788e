// Training: the same seed gives bit-identical models, the optimizers follow PyTorch's update rules, and it
// learns.
#include "modeconn/train.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "support/check.hpp"
#include "support/fixtures.hpp"

namespace modeconn {
namespace {

Split teacher_split(uint64_t seed) {
  // Labels from a fixed random linear teacher: learnable, so the loss must fall.
  Split s = test::random_split(600, 8, Task::classification, 3, seed);
  const Model teacher = test::random_model({8, 3}, Activation::identity, Task::classification, seed + 7);
  for (int64_t i = 0; i < s.rows; ++i) {
    int best = 0;
    double best_v = -1e30;
    for (int c = 0; c < 3; ++c) {
      double v = teacher.params[static_cast<std::size_t>(24 + c)];
      for (int k = 0; k < 8; ++k)
        v += teacher.params[static_cast<std::size_t>(c * 8 + k)] * s.x[static_cast<std::size_t>(i * 8 + k)];
      if (v > best_v) best_v = v, best = c;
    }
    s.labels[static_cast<std::size_t>(i)] = best;
  }
  return s;
}

double loss_of(const Model& m, const Split& s) {
  auto b = make_cpu_backend();
  const double t = 0;
  return b->evaluate(Path{PathKind::linear, m.arch, {m.params}}, {&t, 1}, s)[0].loss;
}

TEST(Train, SameSeedIsBitIdenticalDifferentSeedIsNot) {
  const Split s = teacher_split(1);
  const Architecture arch = make_architecture({8, 16, 3}, Activation::relu, Task::classification);
  TrainOptions o;
  o.epochs = 3;
  o.batch = 32;
  o.seed = 5;
  auto backend = make_cpu_backend();
  Model a = init_model(arch, 5), b = init_model(arch, 5), c = init_model(arch, 6);
  train(*backend, a, s, o, nullptr);
  train(*backend, b, s, o, nullptr);
  o.seed = 6;
  train(*backend, c, s, o, nullptr);
  EXPECT_EQ(a.params, b.params);
  EXPECT_NE(a.params, c.params);
}

TEST(Train, BothOptimizersLearnATeacher) {
  const Split s = teacher_split(2);
  const Architecture arch = make_architecture({8, 32, 3}, Activation::tanh, Task::classification);
  auto backend = make_cpu_backend();
  for (Optimizer opt : {Optimizer::sgd, Optimizer::adam}) {
    TrainOptions o;
    o.optimizer = opt;
    o.lr = opt == Optimizer::sgd ? 0.1 : 0.01;
    o.epochs = 30;
    o.batch = 50;
    Model m = init_model(arch, 1);
    const double before = loss_of(m, s);
    train(*backend, m, s, o, nullptr);
    EXPECT_LT(loss_of(m, s), 0.3 * before) << (opt == Optimizer::sgd ? "sgd" : "adam");
  }
}

TEST(Train, OneStepFollowsTheUpdateRules) {
  // One full-batch step from known parameters, against the rules written out by hand.
  const Split s = teacher_split(3);
  const Architecture arch = make_architecture({8, 3}, Activation::relu, Task::classification);
  auto backend = make_cpu_backend();
  const Model start = init_model(arch, 2);
  std::vector<int64_t> all(static_cast<std::size_t>(s.rows));
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  std::vector<float> g(start.params.size());
  backend->loss_and_grad(arch, start.params, s, all, g);

  TrainOptions o;
  o.epochs = 1;
  o.batch = s.rows;
  o.weight_decay = 0.01;
  o.lr = 0.1;
  Model sgd = start;
  train(*backend, sgd, s, o, nullptr);
  o.optimizer = Optimizer::adam;
  Model adam = start;
  train(*backend, adam, s, o, nullptr);
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double gi = g[i] + 0.01 * start.params[i];
    EXPECT_TRUE(test::close(sgd.params[i], start.params[i] - 0.1 * gi, 1e-5, 1e-6)) << i;
    // Adam's first step moves each parameter by lr · sign(g) (up to eps).
    const double expect = start.params[i] - 0.1 * gi / (std::abs(gi) + 1e-8);
    EXPECT_TRUE(test::close(adam.params[i], expect, 1e-4, 1e-5)) << i;
  }
}

}  // namespace
}  // namespace modeconn
