// Curves: one-pass evaluation against each point's own weights, exact endpoints, curve files, and fitting.
#include <gtest/gtest.h>

#include "modeconn/error.hpp"
#include "modeconn/tensor_file.hpp"
#include "modeconn/train.hpp"
#include "support/check.hpp"
#include "support/fixtures.hpp"

namespace modeconn {
namespace {

Path random_curve(PathKind kind, int control_points, uint64_t seed) {
  return test::random_path(kind, {12, 16, 10, 4}, Activation::gelu, Task::classification, control_points,
                           seed);
}

PointMetrics single(Backend& b, const Architecture& arch, const std::vector<float>& params, const Split& s) {
  const double t0 = 0;
  return b.evaluate(Path{PathKind::linear, arch, {params}}, {&t0, 1}, s)[0];
}

TEST(Curve, OnePassAgreesWithEachPointEvaluatedAlone) {
  auto backend = make_cpu_backend();
  const Split s = test::random_split(300, 12, Task::classification, 4, 9);
  for (PathKind kind : {PathKind::bezier, PathKind::polychain}) {
    const Path curve = random_curve(kind, 4, 20);
    const std::vector<double> ts = path_grid(13);
    const auto together = backend->evaluate(curve, ts, s);
    for (std::size_t p = 0; p < ts.size(); ++p) {
      const auto c = curve.coefficients(ts[p]);
      std::vector<float> theta(curve.arch.num_params());
      for (std::size_t i = 0; i < theta.size(); ++i) {
        double v = 0;
        for (std::size_t k = 0; k < c.size(); ++k) v += c[k] * curve.points[k][i];
        theta[i] = static_cast<float>(v);
      }
      const PointMetrics alone = single(*backend, curve.arch, theta, s);
      EXPECT_TRUE(test::close(together[p].loss, alone.loss, 1e-5))
          << path_kind_name(kind) << " t = " << ts[p];
      EXPECT_TRUE(test::close(together[p].error, alone.error, 0, 1.01 / 300))
          << path_kind_name(kind) << " t = " << ts[p];
    }
  }
}

TEST(Curve, EndpointsEvaluateExactlyAsTheModels) {
  auto backend = make_cpu_backend();
  const Split s = test::random_split(200, 12, Task::classification, 4, 10);
  const Path curve = random_curve(PathKind::bezier, 3, 30);
  const std::vector<double> ts{0.0, 0.5, 1.0};
  const auto r = backend->evaluate(curve, ts, s);
  EXPECT_EQ(r[0].loss, single(*backend, curve.arch, curve.points.front(), s).loss);
  EXPECT_EQ(r[2].loss, single(*backend, curve.arch, curve.points.back(), s).loss);
}

TEST(CurveFile, RoundTripsAndRefusesBrokenFiles) {
  test::TempDir dir;
  const Path curve = random_curve(PathKind::polychain, 4, 40);
  save_curve(curve, dir.file("c.safetensors"));
  const Path back = load_curve(dir.file("c.safetensors"));
  EXPECT_EQ(back.kind, PathKind::polychain);
  EXPECT_EQ(back.points, curve.points);
  EXPECT_EQ(back.arch.activation, Activation::gelu);

  TensorFile missing = read_safetensors(dir.file("c.safetensors"));
  std::erase_if(missing.tensors, [](const NamedTensor& t) { return t.name.rfind("points.2.", 0) == 0; });
  write_safetensors(missing, dir.file("missing.safetensors"));
  EXPECT_THROW(load_curve(dir.file("missing.safetensors")), Error);
  // One control point without a bias the others have is damage, not a bias-free layer.
  TensorFile partial = read_safetensors(dir.file("c.safetensors"));
  std::erase_if(partial.tensors, [](const NamedTensor& t) { return t.name == "points.1.layers.2.bias"; });
  write_safetensors(partial, dir.file("partial.safetensors"));
  try {
    load_curve(dir.file("partial.safetensors"));
    ADD_FAILURE() << "a control point without a bias was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("control point 1 has no 'layers.2.bias'"), std::string::npos)
        << e.what();
  }
  save_model(test::random_model({3, 2}, Activation::relu, Task::classification, 1),
             dir.file("model.safetensors"));
  try {
    load_curve(dir.file("model.safetensors"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a curve file"), std::string::npos);
  }
}

TEST(FitCurve, KeepsTheEndpointsAndLowersTheMidpointLoss) {
  // Two different minima of the same teacher task; the straight line between them is worse than a fitted
  // bend.
  Split s = test::random_split(400, 8, Task::classification, 3, 50);
  for (int64_t i = 0; i < s.rows; ++i)
    s.labels[static_cast<std::size_t>(i)] =
        s.x[static_cast<std::size_t>(i * 8)] + s.x[static_cast<std::size_t>(i * 8 + 1)] > 0
            ? 1
            : (s.x[static_cast<std::size_t>(i * 8 + 2)] > 0.3f ? 2 : 0);
  auto backend = make_cpu_backend();
  const Architecture arch = make_architecture({8, 24, 3}, Activation::relu, Task::classification);
  TrainOptions o;
  o.epochs = 40;
  o.batch = 40;
  Model a = init_model(arch, 1), b = init_model(arch, 2);
  o.seed = 1;
  train(*backend, a, s, o, nullptr);
  o.seed = 2;
  train(*backend, b, s, o, nullptr);
  Path curve = init_curve(a, b, PathKind::bezier, 1);
  const double mid = 0.5;
  const double before = backend->evaluate(curve, {&mid, 1}, s)[0].loss;
  EXPECT_TRUE(test::close(before, backend->evaluate(linear_path(a, b), {&mid, 1}, s)[0].loss,
                          1e-6));  // starts on the line
  o.epochs = 20;
  fit_curve(*backend, curve, s, o, nullptr);
  EXPECT_EQ(curve.points.front(), a.params);
  EXPECT_EQ(curve.points.back(), b.params);
  EXPECT_LT(backend->evaluate(curve, {&mid, 1}, s)[0].loss, before);
}

}  // namespace
}  // namespace modeconn
