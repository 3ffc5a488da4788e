// The modeconn executable end to end: good runs write what DESIGN promises; bad input exits 2 with one line.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "modeconn/align.hpp"
#include "modeconn/backend.hpp"
#include "modeconn/file_util.hpp"
#include "modeconn/npy.hpp"
#include "modeconn/tensor_file.hpp"
#include "support/fixtures.hpp"
#include "support/run_cli.hpp"

namespace modeconn {
namespace {

using test::TempDir;

using test::RunResult;
using test::slurp;

RunResult run(const TempDir& dir, const std::string& args) { return test::run_modeconn(dir, args); }

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.file("data");
    test::write_random_data_folder(data_, 60);
    save_model(test::random_model({6, 8, 3}, Activation::relu, Task::classification, 1),
               dir_.file("a.safetensors"));
    save_model(test::random_model({6, 8, 3}, Activation::relu, Task::classification, 2),
               dir_.file("b.safetensors"));
  }

  // Runs a command that must fail on bad input: exit 2, one line naming `file`, no output left behind.
  ::testing::AssertionResult refused(const std::string& args, const std::string& file,
                                     const std::string& problem) {
    const std::string out = dir_.file("out.json");
    std::filesystem::remove(out);
    const RunResult r = run(dir_, args + " --json " + out);
    auto failure = [&](const std::string& what) {
      return ::testing::AssertionFailure() << what << "\n  command: " << args << "\n  stderr: " << r.err;
    };
    if (r.code != 2) return failure("exit code " + std::to_string(r.code) + ", not 2");
    if (std::count(r.err.begin(), r.err.end(), '\n') != 1) return failure("not exactly one line on stderr");
    if (r.err.find(file) == std::string::npos) return failure("the message does not name " + file);
    if (r.err.find(problem) == std::string::npos)
      return failure("the message does not say '" + problem + "'");
    if (std::filesystem::exists(out)) return failure("a failed run left an output file");
    for (const auto& e : std::filesystem::directory_iterator(dir_.path()))
      if (e.path().string().find(".modeconn-tmp-") != std::string::npos)
        return failure("temporary file left: " + e.path().string());
    return ::testing::AssertionSuccess();
  }

  std::string path_args(const std::string& a, const std::string& b) const {
    return "path -q --align none --a " + a + " --b " + b + " --data " + data_ + " --points 5";
  }

  TempDir dir_;
  std::string data_;
};

TEST_F(Cli, PathWritesDesignJsonCsvAndTable) {
  const RunResult r = run(dir_, path_args(dir_.file("a.safetensors"), dir_.file("b.safetensors")) +
                                    " --json " + dir_.file("p.json") + " --csv " + dir_.file("p.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("barriers"), std::string::npos);
  const auto j = nlohmann::json::parse(slurp(dir_.file("p.json")));
  EXPECT_EQ(j["path"]["kind"], "linear");
  EXPECT_EQ(j["path"]["points"], 5);
  EXPECT_EQ(j["t"].size(), 5u);
  for (const char* split : {"test", "train"})
    for (const char* metric : {"loss", "error"}) {
      EXPECT_EQ(j["splits"][split][metric].size(), 5u);
      for (const char* key : {"gap", "mean", "midpoint", "t_peak"})
        EXPECT_TRUE(j["splits"][split]["barrier"][metric][key].is_number()) << split << metric << key;
    }
  const std::string csv = slurp(dir_.file("p.csv"));
  EXPECT_EQ(csv.rfind("t,test_loss,test_error,train_loss,train_error\n", 0), 0u);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6);
}

TEST_F(Cli, TrainIsDeterministicAndReadsConfigFiles) {
  std::ofstream(dir_.file("train.cfg")) << "hidden = 5\nepochs = 2\nbatch = 16\nseed = 3\n";
  const std::string base = "train -q --data " + data_ + " --config " + dir_.file("train.cfg") + " --out ";
  ASSERT_EQ(run(dir_, base + dir_.file("m1.safetensors")).code, 0);
  ASSERT_EQ(run(dir_, base + dir_.file("m2.safetensors")).code, 0);
  EXPECT_EQ(test::read_all(dir_.file("m1.safetensors")), test::read_all(dir_.file("m2.safetensors")));
  const RunResult r = run(dir_, "inspect " + dir_.file("m1.safetensors"));
  EXPECT_NE(r.out.find("6-5-3"), std::string::npos) << r.out;  // hidden = 5 came from the config file
  // The command line wins over the config file.
  ASSERT_EQ(run(dir_, base + dir_.file("m3.safetensors") + " --hidden 4").code, 0);
  EXPECT_NE(run(dir_, "inspect " + dir_.file("m3.safetensors")).out.find("6-4-3"), std::string::npos);
}

TEST_F(Cli, RefusesModelsOfDifferentArchitectures) {
  save_model(test::random_model({6, 9, 3}, Activation::relu, Task::classification, 3),
             dir_.file("c.safetensors"));
  EXPECT_TRUE(refused(path_args(dir_.file("a.safetensors"), dir_.file("c.safetensors")), "c.safetensors",
                      "architecture 6-9-3 differs"));
}

TEST_F(Cli, RefusesDataThatDoesNotFitTheModel) {
  save_model(test::random_model({7, 8, 3}, Activation::relu, Task::classification, 3),
             dir_.file("w7a.safetensors"));
  save_model(test::random_model({7, 8, 3}, Activation::relu, Task::classification, 4),
             dir_.file("w7b.safetensors"));
  EXPECT_TRUE(refused(path_args(dir_.file("w7a.safetensors"), dir_.file("w7b.safetensors")), "x_train.npy",
                      "has 6 features"));
  save_model(test::random_model({6, 8, 2}, Activation::relu, Task::classification, 3),
             dir_.file("c2a.safetensors"));
  save_model(test::random_model({6, 8, 2}, Activation::relu, Task::classification, 4),
             dir_.file("c2b.safetensors"));
  EXPECT_TRUE(refused(path_args(dir_.file("c2a.safetensors"), dir_.file("c2b.safetensors")), "y_train.npy",
                      "outside the 2 classes"));
  write_npy(make_npy(std::vector<int32_t>(59, 0), {59}), data_ + "/y_test.npy");
  EXPECT_TRUE(refused(path_args(dir_.file("a.safetensors"), dir_.file("b.safetensors")), "y_test.npy",
                      "has 59 rows"));
}

TEST_F(Cli, RefusesBadModelFiles) {
  TensorFile nan = read_safetensors(dir_.file("b.safetensors"));
  nan.tensors[1].values[0] = NAN;
  write_safetensors(nan, dir_.file("nan.safetensors"));
  EXPECT_TRUE(refused(path_args(dir_.file("a.safetensors"), dir_.file("nan.safetensors")), "nan.safetensors",
                      "NaN or Inf"));

  TensorFile act = read_safetensors(dir_.file("b.safetensors"));
  act.metadata["modeconn.activation"] = "swish";
  write_safetensors(act, dir_.file("act.safetensors"));
  EXPECT_TRUE(refused(path_args(dir_.file("a.safetensors"), dir_.file("act.safetensors")), "act.safetensors",
                      "unknown activation"));
  EXPECT_TRUE(
      refused(path_args(dir_.file("a.safetensors"), dir_.file("b.safetensors")) + " --activation swish",
              "--activation", "unknown activation"));

  auto bytes = test::read_all(dir_.file("b.safetensors"));
  bytes.resize(bytes.size() - 10);
  write_file_atomic(dir_.file("cut.safetensors"), bytes.data(), bytes.size());
  EXPECT_TRUE(refused(path_args(dir_.file("a.safetensors"), dir_.file("cut.safetensors")), "cut.safetensors",
                      "past the end"));

  EXPECT_TRUE(refused(path_args(dir_.file("a.safetensors"), dir_.file("nowhere.safetensors")),
                      "nowhere.safetensors", "cannot open"));
  EXPECT_TRUE(refused("path -q --a " + dir_.file("a.safetensors") + " --b " + dir_.file("b.safetensors") +
                          " --data " + dir_.file("nodata"),
                      "nodata", "does not exist"));
}

TEST_F(Cli, RefusesBadUsageAndNeverOverwritesInputs) {
  EXPECT_TRUE(refused("path -q --a " + dir_.file("a.safetensors") + " --b " + dir_.file("b.safetensors") +
                          " --data " + data_ + " --points 1",
                      "--points", "must be 2"));
  EXPECT_TRUE(refused(path_args(dir_.file("a.safetensors"), dir_.file("b.safetensors")) + " --bogus", "path",
                      "unknown option '--bogus'"));
  EXPECT_TRUE(refused("path -q --a " + dir_.file("a.safetensors"), "path", "'--b' is required"));

  const auto before = test::read_all(dir_.file("a.safetensors"));
  const RunResult r = run(dir_, path_args(dir_.file("a.safetensors"), dir_.file("b.safetensors")) +
                                    " --csv " + dir_.file("a.safetensors"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("refusing to overwrite"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_all(dir_.file("a.safetensors")), before);

  // A failed run leaves an earlier output untouched.
  std::ofstream(dir_.file("keep.json")) << "earlier result";
  EXPECT_EQ(run(dir_, path_args(dir_.file("a.safetensors"), dir_.file("missing.safetensors")) + " --json " +
                          dir_.file("keep.json"))
                .code,
            2);
  EXPECT_EQ(slurp(dir_.file("keep.json")), "earlier result");
  EXPECT_EQ(run(dir_, "frobnicate").code, 2);

  // An output that cannot be written is refused before any training starts.
  const RunResult t =
      run(dir_, "train -q --data " + data_ + " --out " + dir_.file("no/such/folder/m.safetensors"));
  EXPECT_EQ(t.code, 2);
  EXPECT_NE(t.err.find("folder for --out does not exist"), std::string::npos) << t.err;
}

TEST_F(Cli, DeviceChoiceIsAnnouncedOrRefused) {
  const std::string base = "path --a " + dir_.file("a.safetensors") + " --b " + dir_.file("b.safetensors") +
                           " --data " + data_ + " --points 3";
  const RunResult cpu = run(dir_, base + " --device cpu --threads 2");
  ASSERT_EQ(cpu.code, 0) << cpu.err;
  EXPECT_NE(cpu.err.find("device: cpu, 2 threads"), std::string::npos) << cpu.err;

  // auto takes a GPU when one is usable, and says why not when none is (or when the device is the emulation).
  const bool gpu = cuda_device_count() > 0;
  const RunResult automatic = run(dir_, base + " --device auto");
  ASSERT_EQ(automatic.code, 0) << automatic.err;
  EXPECT_NE(automatic.err.find(gpu && !cuda_emulated() ? "device: cuda" : "device: cpu"), std::string::npos)
      << automatic.err;
  if (!gpu) {
    EXPECT_NE(automatic.err.find("(" + cuda_unusable_reason() + ")"), std::string::npos) << automatic.err;
  } else if (cuda_emulated()) {
    EXPECT_NE(automatic.err.find("CPU emulation; --device cuda runs it"), std::string::npos) << automatic.err;
  }

  if (gpu) {
    const RunResult cuda = run(dir_, base + " --device cuda");
    EXPECT_EQ(cuda.code, 0) << cuda.err;
    EXPECT_NE(cuda.err.find("device: cuda"), std::string::npos) << cuda.err;
  } else {
    EXPECT_TRUE(refused(base + " -q --device cuda", "--device cuda",
                        built_with_cuda() ? "no usable CUDA device" : "no CUDA backend"));
  }
  EXPECT_TRUE(refused(base + " -q --device gpu", "--device", "unknown device 'gpu'"));
}

TEST_F(Cli, AlignUndoesAPermutationAndReportsIt) {
  // B is A with its hidden units reversed: weight matching must give A back, bit for bit.
  const Model a = test::random_model({6, 8, 3}, Activation::relu, Task::classification, 1);
  Alignment reverse = identity_alignment(a.arch);
  std::reverse(reverse.layers[0].perm.begin(), reverse.layers[0].perm.end());
  save_model(apply_alignment(a, reverse), dir_.file("perm.safetensors"));
  for (const char* method : {"weight", "activation"}) {
    const RunResult r =
        run(dir_, std::string("align -q --method ") + method + " --a " + dir_.file("a.safetensors") +
                      " --b " + dir_.file("perm.safetensors") + " --data " + data_ + " --out " +
                      dir_.file("back.safetensors") + " --json " + dir_.file("align.json"));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(load_model(dir_.file("back.safetensors")).params, a.params) << method;
    const auto j = nlohmann::json::parse(slurp(dir_.file("align.json")));
    EXPECT_EQ(j["method"], method);
    EXPECT_EQ(j["layers"][0]["permutation"].size(), 8u);
    EXPECT_EQ(j["distance_after"], 0.0);
    EXPECT_GT(j["distance_before"].get<double>(), 0.0);
    EXPECT_LE(j["function_check"]["max_output_difference"].get<double>(),
              j["function_check"]["tolerance"].get<double>());
    for (const char* key : {"objective_before", "objective_after", "fraction_in_place", "sweeps", "seconds"})
      EXPECT_TRUE(j.contains(key)) << key;
  }
  // path aligns by default (as analyze does): the aligned barrier is zero, the naive one is kept beside it.
  const RunResult p =
      run(dir_, "path -q --a " + dir_.file("a.safetensors") + " --b " + dir_.file("perm.safetensors") +
                    " --data " + data_ + " --points 5 --json " + dir_.file("pa.json"));
  ASSERT_EQ(p.code, 0) << p.err;
  const auto j = nlohmann::json::parse(slurp(dir_.file("pa.json")));
  EXPECT_EQ(j["path"]["align"], "weight");
  EXPECT_NEAR(j["splits"]["test"]["barrier"]["loss"]["gap"].get<double>(), 0.0, 1e-6);
  EXPECT_TRUE(j["naive"]["splits"]["test"]["barrier"]["loss"].contains("gap"));
}

TEST_F(Cli, SymmetryReportsCountsUnitsAndAlignment) {
  const RunResult r =
      run(dir_, "symmetry -q --a " + dir_.file("a.safetensors") + " --b " + dir_.file("b.safetensors") +
                    " --data " + data_ + " --points 5 --json " + dir_.file("sym.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(slurp(dir_.file("sym.json")));
  EXPECT_NEAR(j["log10_equivalent_networks"].get<double>(), std::log10(40320.0), 1e-9);  // 8!
  EXPECT_EQ(j["layers"][0]["units"], 8);
  EXPECT_EQ(j["layers"][0]["saddle"]["loss"].size(), 5u);
  EXPECT_TRUE(j["layers"][0]["dead_units"].is_array());
  EXPECT_LE(j["pair"]["align"]["distance_after"].get<double>(),
            j["pair"]["align"]["distance_before"].get<double>());
  EXPECT_TRUE(j["pair"]["naive"]["train"]["barrier"]["loss"].contains("gap"));
  EXPECT_TRUE(j["pair"]["aligned"]["train"]["barrier"]["loss"].contains("gap"));
  EXPECT_TRUE(refused("symmetry -q --a " + dir_.file("a.safetensors") + " --b " + dir_.file("b.safetensors"),
                      "--b", "needs --data"));
}

TEST_F(Cli, FitCurveAndAnalyzeWriteWhatPathAndPlotsRead) {
  const std::string ab =
      " --a " + dir_.file("a.safetensors") + " --b " + dir_.file("b.safetensors") + " --data " + data_;
  ASSERT_EQ(
      run(dir_, "fit-curve -q" + ab + " --epochs 2 --batch 16 --out " + dir_.file("c.safetensors")).code, 0);
  const RunResult p = run(dir_, "path -q" + ab + " --kind bezier --curve " + dir_.file("c.safetensors") +
                                    " --points 5 --json " + dir_.file("c.json"));
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(nlohmann::json::parse(slurp(dir_.file("c.json")))["path"]["kind"], "bezier");
  // The curve belongs to A and B: with another B it is refused.
  save_model(test::random_model({6, 8, 3}, Activation::relu, Task::classification, 9),
             dir_.file("other.safetensors"));
  EXPECT_TRUE(refused("path -q --a " + dir_.file("a.safetensors") + " --b " + dir_.file("other.safetensors") +
                          " --data " + data_ + " --kind bezier --curve " + dir_.file("c.safetensors"),
                      "c.safetensors", "last control point"));
  const RunResult bad = run(dir_, "fit-curve -q" + ab + " --kind linear --out " + dir_.file("x.safetensors"));
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--kind: a fitted curve is bezier or polychain"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.file("x.safetensors")));

  const RunResult r =
      run(dir_, "analyze -q" + ab + " --points 5 --curve-epochs 1 --curve-batch 16 --json " +
                    dir_.file("an.json") + " --csv " + dir_.file("an.csv") + " --curve-out " +
                    dir_.file("an-curve.safetensors") + " --aligned-out " + dir_.file("an-b.safetensors"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(slurp(dir_.file("an.json")));
  for (const char* path : {"linear", "linear_aligned", "bezier"})
    for (const char* split : {"test", "train"})
      EXPECT_EQ(j["paths"][path]["splits"][split]["loss"].size(), 5u) << path;
  EXPECT_TRUE(j["endpoints"]["a"]["test"].contains("loss"));
  EXPECT_EQ(j["align"]["method"], "weight");
  const std::string csv = slurp(dir_.file("an.csv"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 3 * 2 * 5);
  // The curve written by analyze joins A and the aligned B, and path evaluates it.
  EXPECT_EQ(run(dir_, "path -q --a " + dir_.file("a.safetensors") + " --b " + dir_.file("an-b.safetensors") +
                          " --data " + data_ + " --kind bezier --curve " + dir_.file("an-curve.safetensors"))
                .code,
            0);
}

TEST_F(Cli, AlignRefusesWhatItCannotDo) {
  const std::string ab = " --a " + dir_.file("a.safetensors") + " --b " + dir_.file("b.safetensors");
  EXPECT_TRUE(refused("align -q --method activation" + ab + " --out " + dir_.file("x.safetensors"),
                      "activation matching", "needs --data"));
  save_model(test::random_model({6, 8, 3}, Activation::tanh, Task::classification, 1),
             dir_.file("t1.safetensors"));
  save_model(test::random_model({6, 8, 3}, Activation::tanh, Task::classification, 2),
             dir_.file("t2.safetensors"));
  EXPECT_TRUE(refused("align -q --canonicalize-scale --a " + dir_.file("t1.safetensors") + " --b " +
                          dir_.file("t2.safetensors") + " --out " + dir_.file("x.safetensors"),
                      "--canonicalize-scale", "positively homogeneous"));
  EXPECT_TRUE(
      refused("align -q" + ab + " --out " + dir_.file("b.safetensors"), "--out", "refusing to overwrite"));
  EXPECT_FALSE(std::filesystem::exists(dir_.file("x.safetensors")));
}

}  // namespace
}  // namespace modeconn
