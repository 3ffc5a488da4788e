// modeconn hessian through the executable: the JSON keys other tools read, a path's points, and bad input
// (t outside [0, 1], more eigenvalues than parameters, models of two architectures, a layer graph) refused
// with exit 2 and nothing written.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "modeconn/model.hpp"
#include "support/fixtures.hpp"
#include "support/run_cli.hpp"

namespace modeconn {
namespace {

using test::RunResult;
using test::slurp;
using test::TempDir;

class Hessian : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.file("data");
    test::write_random_data_folder(data_, 50);
    save_model(test::random_model({6, 5, 3}, Activation::tanh, Task::classification, 1),
               dir_.file("a.safetensors"));
    save_model(test::random_model({6, 5, 3}, Activation::tanh, Task::classification, 2),
               dir_.file("b.safetensors"));
  }
  RunResult run(const std::string& args) const { return test::run_modeconn(dir_, args); }
  void expect_refused(const std::string& args, const std::string& what) {
    const std::string out = dir_.file("refused.json");
    std::filesystem::remove(out);
    const RunResult r = run(args + " --json " + out);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << args;
  }
  TempDir dir_;
  std::string data_;
};

TEST_F(Hessian, WritesTheStableKeysAtAModelAndAlongAPath) {
  const std::string out = dir_.file("h.json");
  RunResult r = run("hessian -q --model " + dir_.file("a.safetensors") + " --data " + data_ +
                    " --top 3 --bottom 2 --probes 5 --json " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("lambda_max"), std::string::npos);
  auto j = nlohmann::json::parse(slurp(out))["hessian"];
  ASSERT_EQ(j["top"].size(), 3u);
  ASSERT_EQ(j["bottom"].size(), 2u);
  EXPECT_GE(j["top"][0].get<double>(), j["top"][1].get<double>());        // descending
  EXPECT_LE(j["bottom"][0].get<double>(), j["bottom"][1].get<double>());  // ascending
  EXPECT_EQ(j["trace"]["probes"], 5);
  EXPECT_TRUE(j["trace"]["stderr"].is_number());
  EXPECT_EQ(j["rows"], 50);
  EXPECT_EQ(j["params"], 6 * 5 + 5 + 5 * 3 + 3);

  r = run("hessian -q --a " + dir_.file("a.safetensors") + " --b " + dir_.file("b.safetensors") + " --data " +
          data_ + " --t 0.25 --t 0.75 --top 1 --bottom 1 --probes 2 --rows 20 --json " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(slurp(out))["hessian"];
  ASSERT_EQ(j["points"].size(), 2u);
  EXPECT_EQ(j["points"][0]["t"], 0.25);
  EXPECT_EQ(j["points"][1]["t"], 0.75);
  EXPECT_EQ(j["points"][1]["rows"], 20);
}

TEST_F(Hessian, RefusesBadInputWithExitTwoAndNoOutput) {
  const std::string a = dir_.file("a.safetensors"), b = dir_.file("b.safetensors");
  const std::string pair = "hessian --a " + a + " --b " + b + " --data " + data_;
  expect_refused(pair + " --t 1.5", "--t");
  expect_refused(pair + " --t -0.1", "--t");
  expect_refused(pair, "--t");
  expect_refused(pair + " --at valley", "--at");
  expect_refused("hessian --model " + a + " --data " + data_ + " --top 100", "parameter count");
  expect_refused("hessian --model " + a + " --data " + data_ + " --top 0 --bottom 0", "--top");
  expect_refused("hessian --model " + a + " --data " + data_ + " --probes 0", "--probes");
  expect_refused("hessian --model " + a + " --data " + data_ + " --t 0.5", "--t");
  save_model(test::random_model({6, 7, 3}, Activation::tanh, Task::classification, 3),
             dir_.file("wide.safetensors"));
  expect_refused(
      "hessian --a " + a + " --b " + dir_.file("wide.safetensors") + " --data " + data_ + " --t 0.5",
      "wide.safetensors");
}

}  // namespace
}  // namespace modeconn
