// modeconn plane through the executable: a plane through three models against `path` on the same segments and
// against the models' coordinates worked out here in float64; a plane around one model against `path` to the
// model moved along a saved direction; and every kind of bad input refused with exit 2 and nothing written.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "graph/graph_models.hpp"
#include "modeconn/graph_model.hpp"
#include "modeconn/model.hpp"
#include "modeconn/npy.hpp"
#include "modeconn/path.hpp"
#include "modeconn/tensor_file.hpp"
#include "support/fixtures.hpp"
#include "support/run_cli.hpp"

namespace modeconn {
namespace {

using test::RunResult;
using test::slurp;
using test::TempDir;

class Plane : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.file("data");
    test::write_random_data_folder(data_, 60);
    for (int k = 0; k < 3; ++k) {
      models_.push_back(test::random_model({6, 8, 3}, Activation::relu, Task::classification, 11 + k));
      save_model(models_.back(), file(k));
    }
  }
  std::string file(int k) const {
    return dir_.file(std::string(1, static_cast<char>('a' + k)) + ".safetensors");
  }
  RunResult run(const std::string& args) const { return test::run_modeconn(dir_, args); }
  nlohmann::json json_of(const std::string& path) const { return nlohmann::json::parse(slurp(path)); }

  // `path --align none` from x to y at `points` evenly spaced t (t = 1/2 added when `points` is even).
  nlohmann::json path_json(const std::string& x, const std::string& y, int points) {
    const std::string out = dir_.file("path.json");
    const RunResult r = run("path -q --align none --a " + x + " --b " + y + " --data " + data_ +
                            " --points " + std::to_string(points) + " --json " + out);
    EXPECT_EQ(r.code, 0) << r.err;
    return json_of(out);
  }

  // Exit 2, one line naming `what`, no output file and no temporary left.
  void expect_refused(const std::string& args, const std::string& what) {
    const std::string out = dir_.file("refused.json");
    std::filesystem::remove(out);
    const RunResult r = run(args + " --json " + out);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << args;
    for (const auto& e : std::filesystem::directory_iterator(dir_.path()))
      EXPECT_EQ(e.path().string().find(".modeconn-tmp-"), std::string::npos) << e.path();
  }

  TempDir dir_;
  std::string data_;
  std::vector<Model> models_;
};

double distance(const std::vector<float>& x, const std::vector<float>& y) {
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    s += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
  return std::sqrt(s);
}

void expect_near_rel(double got, double want, const std::string& what) {
  EXPECT_NEAR(got, want, 1e-6 * std::max(1.0, std::abs(want))) << what;
}

TEST_F(Plane, ThroughThreeModelsMatchesPathOnItsAxisAndTheModelsCoordinates) {
  // The models' coordinates in float64 here: a at (0, 0), b at (|b − a|, 0), c at (<c − a, u>, |c − a − <c −
  // a, u>u|).
  const auto& a = models_[0].params;
  const auto& b = models_[1].params;
  const auto& c = models_[2].params;
  const double ab = distance(a, b);
  double gamma = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    gamma += (static_cast<double>(c[i]) - a[i]) * (static_cast<double>(b[i]) - a[i]) / ab;
  const double ac = distance(a, c), height = std::sqrt(ac * ac - gamma * gamma);

  // The α axis from a to b exactly, 5 points, and β from 0: the first row is the segment a→b.
  char range[128];
  std::snprintf(range, sizeof range, "0:%.17g,0:%.17g", ab, height);
  const std::string out = dir_.file("plane.json"), csv = dir_.file("plane.csv");
  const RunResult r = run("plane -q --a " + file(0) + " --b " + file(1) + " --c " + file(2) + " --data " +
                          data_ + " --grid 5x4 --range " + range + " --json " + out + " --csv " + csv);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json_of(out);
  EXPECT_EQ(j["plane"]["kind"], "models");
  ASSERT_EQ(j["plane"]["markers"].size(), 3u);
  const auto& m = j["plane"]["markers"];
  expect_near_rel(m[1]["alpha"], ab, "b's alpha");
  EXPECT_EQ(m[1]["beta"], 0.0);
  expect_near_rel(m[2]["alpha"], gamma, "c's alpha");
  expect_near_rel(m[2]["beta"], height, "c's beta");

  const auto line = path_json(file(0), file(1), 5);
  for (const char* split : {"test", "train"})
    for (const char* metric : {"loss", "error"}) {
      for (int i = 0; i < 5; ++i)
        expect_near_rel(j["splits"][split][metric][0][i], line["splits"][split][metric][i],
                        std::string(split) + " " + metric + " at alpha index " + std::to_string(i));
      // Each marker is its model: the path's endpoints.
      expect_near_rel(m[0]["splits"][split][metric], line["splits"][split][metric][0], "a");
      expect_near_rel(m[1]["splits"][split][metric], line["splits"][split][metric][4], "b");
    }
  const auto to_c = path_json(file(0), file(2), 2);
  expect_near_rel(m[2]["splits"]["test"]["loss"], to_c["splits"]["test"]["loss"].back(), "c");
  // 4 rows of 5 points on 2 splits, and a header.
  const std::string text = slurp(csv);
  EXPECT_EQ(text.rfind("split,alpha,beta,loss,error\n", 0), 0u);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 41);
}

TEST_F(Plane, ThroughACurvesEndsAndBendDrawsTheCurveInThePlane) {
  Path curve{PathKind::bezier, models_[0].arch, {models_[0].params, models_[2].params, models_[1].params}};
  save_curve(curve, dir_.file("curve.safetensors"));
  const std::string out = dir_.file("plane.json");
  const RunResult r = run("plane -q --a " + file(0) + " --b " + file(1) + " --curve " +
                          dir_.file("curve.safetensors") + " --data " + data_ + " --grid 4x3 --json " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json_of(out);
  const auto& m = j["plane"]["markers"];
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[2]["name"], "bend");
  // The bend is c of the plane through a, b, c.
  const RunResult same = run("plane -q --a " + file(0) + " --b " + file(1) + " --c " + file(2) + " --data " +
                             data_ + " --grid 4x3 --json " + dir_.file("abc.json"));
  ASSERT_EQ(same.code, 0) << same.err;
  const auto abc = json_of(dir_.file("abc.json"));
  EXPECT_EQ(abc["splits"], j["splits"]);
  EXPECT_EQ(abc["plane"]["markers"][2]["alpha"], m[2]["alpha"]);
  // The curve from a (t = 0) through (a + 2·bend + b)/4 (t = 1/2) to b (t = 1), 101 points.
  const auto& path = j["plane"]["path"];
  ASSERT_EQ(path["alpha"].size(), 101u);
  EXPECT_NEAR(path["alpha"][0].get<double>(), 0.0, 1e-12);
  EXPECT_NEAR(path["beta"][0].get<double>(), 0.0, 1e-12);
  expect_near_rel(path["alpha"][100], m[1]["alpha"], "t = 1");
  EXPECT_NEAR(path["beta"][100].get<double>(), 0.0, 1e-12);
  expect_near_rel(path["alpha"][50], (m[1]["alpha"].get<double>() + 2 * m[2]["alpha"].get<double>()) / 4,
                  "t = 1/2");
  expect_near_rel(path["beta"][50], m[2]["beta"].get<double>() / 2, "t = 1/2");
  // A curve that does not end at b is refused.
  expect_refused("plane --a " + file(0) + " --b " + file(2) + " --curve " + dir_.file("curve.safetensors") +
                     " --data " + data_,
                 "curve.safetensors");
  expect_refused("plane --a " + file(0) + " --b " + file(1) + " --c " + file(2) + " --curve " +
                     dir_.file("curve.safetensors") + " --data " + data_,
                 "--curve");
}

const char* const kGraphFiles[] = {"g0.safetensors", "g1.safetensors", "g2.safetensors"};

// Layer graphs with BatchNorm recomputed at every point: the plane's axis against path on the same segment.
TEST_F(Plane, ThroughThreeGraphsRecomputesBatchNormAsPathDoes) {
  const std::string images = dir_.file("images");
  std::filesystem::create_directories(images);
  std::vector<GraphModel> g;
  for (int k = 0; k < 3; ++k) {
    g.push_back(test::random_graph_model(test::kNarrow, 21 + static_cast<uint64_t>(k)));
    g.back().task = Task::classification;
    g.back().task_known = true;
    write_safetensors(graph_model_to_tensors(g.back()), dir_.file(kGraphFiles[static_cast<std::size_t>(k)]));
  }
  for (const std::string split : {"train", "test"}) {
    const Split s = test::random_graph_split(g[0].graph, 40, 3, split == "train" ? 1 : 2);
    write_npy(make_npy(s.x, {s.rows, 2, 9, 7}),
              (std::filesystem::path(images) / ("x_" + split + ".npy")).string());
    write_npy(make_npy(s.labels, {s.rows}),
              (std::filesystem::path(images) / ("y_" + split + ".npy")).string());
  }
  const auto gf = [&](int k) { return dir_.file(kGraphFiles[static_cast<std::size_t>(k)]); };
  const std::string out = dir_.file("gplane.json");
  const RunResult r = run("plane -q --a " + gf(0) + " --b " + gf(1) + " --c " + gf(2) + " --data " + images +
                          " --grid 5x2 --margin 0 --bn-rows 30 --json " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json_of(out);
  EXPECT_EQ(j["plane"]["bn"], "recompute");
  EXPECT_EQ(j["plane"]["bn_rows"], 30);
  const std::string line_out = dir_.file("gpath.json");
  const RunResult p = run("path -q --align none --a " + gf(0) + " --b " + gf(1) + " --data " + images +
                          " --points 5 --bn-rows 30 --json " + line_out);
  ASSERT_EQ(p.code, 0) << p.err;
  const auto line = json_of(line_out);
  for (const char* split : {"test", "train"})
    for (int i = 0; i < 5; ++i)
      expect_near_rel(j["splits"][split]["loss"][0][i], line["splits"][split]["loss"][i],
                      std::string(split) + " at alpha index " + std::to_string(i));
  // --bn repair interpolates a path's endpoints: refused for a plane.
  expect_refused(
      "plane --a " + gf(0) + " --b " + gf(1) + " --c " + gf(2) + " --data " + images + " --bn repair",
      "repair");
}

TEST_F(Plane, AroundOneModelMatchesPathToTheModelMovedAlongItsDirection) {
  const std::string dirs = dir_.file("dirs.safetensors"), out = dir_.file("plane.json");
  const RunResult r = run("plane -q --model " + file(0) + " --data " + data_ + " --grid 3 --seed 7 --json " +
                          out + " --save-directions " + dirs);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json_of(out);
  EXPECT_EQ(j["plane"]["directions"]["source"], "random");
  EXPECT_EQ(j["plane"]["directions"]["norm"], "filter");
  // The model moved by the first direction, written here, is the grid's point (α, β) = (1, 0).
  const TensorFile d = read_safetensors(dirs);
  Model moved = models_[0];
  for (std::size_t l = 0; l < moved.arch.layers.size(); ++l)
    for (const auto& [name, offset, size] :
         {std::tuple{moved.arch.layers[l].weight_name, moved.arch.weight_offset(l),
                     static_cast<std::size_t>(moved.arch.layers[l].out * moved.arch.layers[l].in)},
          std::tuple{moved.arch.layers[l].bias_name, moved.arch.bias_offset(l),
                     static_cast<std::size_t>(moved.arch.layers[l].out)}}) {
      const NamedTensor* t = d.find("x." + name);
      ASSERT_NE(t, nullptr) << name;
      ASSERT_EQ(t->values.size(), size);
      // Filter normalisation: each unit's incoming weights as long as the model's; biases fixed.
      for (std::size_t i = 0; i < size; ++i) moved.params[offset + i] += t->values[i];
      if (name == moved.arch.layers[l].bias_name) {
        for (float v : t->values) EXPECT_EQ(v, 0.f) << name;
      }
    }
  save_model(moved, dir_.file("moved.safetensors"));
  const auto line = path_json(file(0), dir_.file("moved.safetensors"), 2);
  for (const char* split : {"test", "train"}) {
    expect_near_rel(j["splits"][split]["loss"][1][2], line["splits"][split]["loss"].back(), split);
    expect_near_rel(j["splits"][split]["loss"][1][1], line["splits"][split]["loss"][0], split);
    EXPECT_EQ(j["plane"]["markers"][0]["splits"][split]["loss"], j["splits"][split]["loss"][1][1]);
  }
  // The same seed draws the same plane; another seed another one.
  const RunResult again = run("plane -q --model " + file(0) + " --data " + data_ +
                              " --grid 3 --seed 7 --json " + dir_.file("again.json"));
  ASSERT_EQ(again.code, 0);
  EXPECT_EQ(json_of(dir_.file("again.json"))["splits"], j["splits"]);
  ASSERT_EQ(run("plane -q --model " + file(0) + " --data " + data_ + " --grid 3 --seed 8 --json " +
                dir_.file("other.json"))
                .code,
            0);
  EXPECT_NE(json_of(dir_.file("other.json"))["splits"], j["splits"]);
}

TEST_F(Plane, RefusesBadInputWithExitTwoAndNoOutput) {
  const std::string three =
      "plane --a " + file(0) + " --b " + file(1) + " --c " + file(2) + " --data " + data_;
  const std::string one = "plane --model " + file(0) + " --data " + data_;
  expect_refused(one + " --grid 0x0", "--grid");
  expect_refused(one + " --grid 5x", "--grid");
  expect_refused(one + " --grid 2000x3", "--grid");
  expect_refused(one + " --range 1:-1", "--range");
  expect_refused(one + " --range 0:nan", "--range");
  expect_refused(one + " --margin 0.5", "--margin");
  expect_refused(one + " --norm spectral", "spectral");
  expect_refused("plane --a " + file(0) + " --b " + file(1) + " --data " + data_, "--c");
  expect_refused(three + " --model " + file(0), "--model");
  expect_refused(three + " --seed 3", "--seed");
  expect_refused("plane --a " + file(0) + " --b " + file(0) + " --c " + file(2) + " --data " + data_,
                 "same point");
  // Collinear: c = 2b − a.
  Model c = models_[0];
  for (std::size_t i = 0; i < c.params.size(); ++i)
    c.params[i] = 2 * models_[1].params[i] - models_[0].params[i];
  save_model(c, dir_.file("line.safetensors"));
  expect_refused("plane --a " + file(0) + " --b " + file(1) + " --c " + dir_.file("line.safetensors") +
                     " --data " + data_,
                 "one line");
  // A model of another architecture.
  save_model(test::random_model({6, 9, 3}, Activation::relu, Task::classification, 5),
             dir_.file("wide.safetensors"));
  expect_refused("plane --a " + file(0) + " --b " + file(1) + " --c " + dir_.file("wide.safetensors") +
                     " --data " + data_,
                 "wide.safetensors");
  // A directions file that does not fit the model.
  expect_refused(one + " --directions " + file(1), "x.");
}

}  // namespace
}  // namespace modeconn
