// Inputs a hostile or careless user gives: each is refused with exit 2, one line naming the file or option,
// and no output — quickly, without a crash, a hang or an allocation sized by the input; values that overflow
// are reported honestly rather than crashing the readers of the report.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "modeconn/npy.hpp"
#include "modeconn/path.hpp"
#include "modeconn/sweep.hpp"
#include "modeconn/tensor_file.hpp"
#include "modeconn/train.hpp"
#include "support/fixtures.hpp"
#include "support/run_cli.hpp"

namespace modeconn {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

class HostileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.file("data");
    fs::create_directories(data_);
    write_data(data_, 2);
    save_model(test::random_model({6, 8, 3}, Activation::relu, Task::classification, 1),
               dir_.file("a.safetensors"));
    save_model(test::random_model({6, 8, 3}, Activation::relu, Task::classification, 2),
               dir_.file("b.safetensors"));
  }

  void write_data(const std::string& folder, int32_t max_label) {
    for (const char* split : {"train", "test"}) {
      Split s = test::random_split(30, 6, Task::classification, 3, split[1]);
      s.labels[0] = max_label;
      write_npy(make_npy(s.x, {s.rows, s.features}), folder + "/x_" + split + ".npy");
      write_npy(make_npy(s.labels, {s.rows}), folder + "/y_" + split + ".npy");
    }
  }

  // Exit 2 within `seconds`, one line naming `what` and saying `problem`, and no output file or temporary
  // left.
  ::testing::AssertionResult refused(const std::string& args, const std::string& what,
                                     const std::string& problem, double seconds = 20) {
    const std::string out = dir_.file("out.json");
    fs::remove(out);
    const auto start = std::chrono::steady_clock::now();
    // Commands with a JSON report are given one, which must not appear.
    bool reports = false;
    for (const char* c : {"path ", "analyze ", "symmetry ", "merge ", "align "})
      reports = reports || args.rfind(c, 0) == 0;
    const auto r = test::run_modeconn(dir_, args + " -q" + (reports ? " --json " + out : ""),
                                      static_cast<int>(seconds) + 10);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto failure = [&](const std::string& why) {
      return ::testing::AssertionFailure() << why << "\n  command: " << args << "\n  stderr: " << r.err;
    };
    if (r.code != 2) return failure("exit code " + std::to_string(r.code) + ", not 2");
    if (took > seconds) return failure("took " + std::to_string(took) + " s");
    if (std::count(r.err.begin(), r.err.end(), '\n') != 1) return failure("not one line on stderr");
    if (r.err.find(what) == std::string::npos) return failure("the message does not name " + what);
    if (r.err.find(problem) == std::string::npos)
      return failure("the message does not say '" + problem + "'");
    if (fs::exists(out)) return failure("a failed run left its output");
    for (const auto& e : fs::recursive_directory_iterator(dir_.path()))
      if (e.path().string().find(".modeconn-tmp-") != std::string::npos)
        return failure("temporary left: " + e.path().string());
    return ::testing::AssertionSuccess();
  }

  std::string pair_args(const std::string& a, const std::string& b) const {
    return " --a " + a + " --b " + b + " --data " + data_;
  }

  // A sweep folder whose manifest is `manifest` (and, when given, whose one pair result is `pair`).
  std::string sweep_folder(const std::string& name, const std::string& manifest,
                           const std::string& pair = "") {
    const std::string folder = dir_.file(name);
    fs::create_directories(folder + "/pairs");
    std::ofstream(folder + "/manifest-0-of-1.json") << manifest;
    if (!pair.empty()) std::ofstream(folder + "/pairs/pair-0000-0001.json") << pair;
    return folder;
  }

  TempDir dir_;
  std::string data_;
};

TEST_F(HostileInput, NumericOptionsOutsideTheirRangesAreRefusedBeforeAnyWork) {
  const std::string path = "path" + pair_args(dir_.file("a.safetensors"), dir_.file("b.safetensors"));
  EXPECT_TRUE(refused(path + " --threads 100000", "--threads", "must be 0 to 1024"));
  EXPECT_TRUE(refused(path + " --points 100000", "--points", "must be 2 to 10001"));
  EXPECT_TRUE(refused(path + " --points 2147483647", "--points", "must be 2 to 10001"));
  EXPECT_TRUE(refused(
      "train --data " + data_ + " --out " + dir_.file("m.safetensors") + " --batch 9223372036854775807",
      "--batch", "must be 1 to 1048576"));
  EXPECT_TRUE(refused("train --data " + data_ + " --out " + dir_.file("m.safetensors") + " --hidden 16777216",
                      "--hidden", "not a width from 1 to 65536"));
  EXPECT_TRUE(refused("train --data " + data_ + " --out " + dir_.file("m.safetensors") + " --hidden 8,",
                      "--hidden", "'' is not a width"));
  EXPECT_TRUE(refused("train --data " + data_ + " --out " + dir_.file("m.safetensors") + " --seed -1",
                      "--seed", "whole number from 0"));
  EXPECT_TRUE(refused("train --data " + data_ + " --out " + dir_.file("m.safetensors") + " --momentum -5",
                      "--momentum", "must be [0, 1)"));
  EXPECT_TRUE(refused("train --data " + data_ + " --out " + dir_.file("m.safetensors") + " --lr 0", "--lr",
                      "(0, 1000]"));
  EXPECT_TRUE(refused("fit-curve" + pair_args(dir_.file("a.safetensors"), dir_.file("b.safetensors")) +
                          " --out " + dir_.file("c.safetensors") + " --bends 2147483647",
                      "--bends", "must be 1 to 64"));
  for (const char* cosine : {"nan", "5", "-inf"})
    EXPECT_TRUE(refused("symmetry --model " + dir_.file("a.safetensors") + " --duplicate-cosine " + cosine,
                        "--duplicate-cosine", "must be 0 to 1"));
  EXPECT_TRUE(refused(
      "analyze" + pair_args(dir_.file("a.safetensors"), dir_.file("b.safetensors")) + " --curve-epochs 0",
      "--curve-epochs", "must be 1 to 100000"));
  const std::string sweep =
      "sweep --models " + dir_.file("a.safetensors") + " " + dir_.file("b.safetensors") + " --data " + data_;
  EXPECT_TRUE(refused(sweep + " --out-dir " + dir_.file("s") + " --shard 0/99999999999", "--shard",
                      "not '0/99999999999'"));
  EXPECT_TRUE(refused(sweep + " --out-dir ''", "--out-dir", "empty"));
}

TEST_F(HostileInput, TextThatWouldHangTheOptionParserIsRefused) {
  // Boost.Program_options formats its errors by replacing %value% and friends in a loop that never ends when
  // the value holds the placeholder itself (found by fuzz_config).
  const std::string path = "path" + pair_args(dir_.file("a.safetensors"), dir_.file("b.safetensors"));
  EXPECT_TRUE(refused(path + " --points '%value%'", "'%value%'", "does not accept", 5));
  std::ofstream(dir_.file("hang.cfg")) << "points%canonical_option% = 3\n";
  EXPECT_TRUE(refused(path + " --config " + dir_.file("hang.cfg"), "hang.cfg", "does not accept", 5));
}

TEST_F(HostileInput, DataThatWouldCostWithoutBoundIsRefused) {
  // A label of 2^31 - 1 would make a classifier of two billion outputs.
  const std::string big = dir_.file("big-labels");
  fs::create_directories(big);
  write_data(big, 2147483647);
  EXPECT_TRUE(refused("train --data " + big + " --out " + dir_.file("m.safetensors"), "y_train.npy",
                      "modeconn handles at most 65536 classes"));
  // A FIFO as a model blocks forever if opened; it is refused instead.
  ASSERT_EQ(mkfifo(dir_.file("fifo.safetensors").c_str(), 0644), 0);
  EXPECT_TRUE(refused("path" + pair_args(dir_.file("fifo.safetensors"), dir_.file("b.safetensors")),
                      "fifo.safetensors", "not a regular file", 5));
  // 30,000 layers in 360 KB: refused at once instead of taking half a minute.
  TensorFile deep;
  for (int l = 0; l < 30000; ++l) {
    std::string name = std::to_string(l);  // "l" + ... trips a false -Wrestrict in GCC 12
    deep.tensors.push_back({name.insert(0, 1, 'l').append(".weight"), {1, 1}, {0.5f}});
  }
  write_safetensors(deep, dir_.file("deep.safetensors"));
  EXPECT_TRUE(refused("inspect " + dir_.file("deep.safetensors"), "deep.safetensors", "at most 1024", 5));
}

TEST_F(HostileInput, FilesTooLargeToReadAreRefusedFromTheirSizeAlone) {
  // Sparse files: hundreds of gigabytes that cost nothing to make, refused before a byte is read.
  const std::string huge = dir_.file("huge");
  fs::create_directories(huge);
  fs::copy(data_, huge, fs::copy_options::recursive);
  fs::resize_file(huge + "/x_train.npy", uint64_t{200} << 30);
  EXPECT_TRUE(refused(
      "path --a " + dir_.file("a.safetensors") + " --b " + dir_.file("b.safetensors") + " --data " + huge,
      "x_train.npy", "more than", 5));
  fs::copy_file(dir_.file("a.safetensors"), dir_.file("huge.safetensors"));
  fs::resize_file(dir_.file("huge.safetensors"), uint64_t{300} << 30);
  EXPECT_TRUE(refused("inspect " + dir_.file("huge.safetensors"), "huge.safetensors", "bytes", 5));
  std::ofstream(dir_.file("huge.cfg")) << "threads = 1\n";
  fs::resize_file(dir_.file("huge.cfg"), uint64_t{100} << 30);
  EXPECT_TRUE(refused("inspect " + dir_.file("a.safetensors") + " --config " + dir_.file("huge.cfg"),
                      "huge.cfg", "more than", 5));
}

TEST_F(HostileInput, DataWithNoFeaturesOrTrailingModelBytesIsRefused) {
  const std::string empty = dir_.file("no-features");
  fs::create_directories(empty);
  for (const char* split : {"train", "test"}) {
    write_npy(make_npy(std::vector<float>{}, {30, 0}), empty + "/x_" + split + ".npy");
    write_npy(make_npy(std::vector<int32_t>(30, 1), {30}), empty + "/y_" + split + ".npy");
  }
  EXPECT_TRUE(refused("train --hidden 4 --data " + empty + " --out " + dir_.file("m.safetensors"),
                      "x_train.npy", "rows have no features"));
  // Bytes after the last tensor are not part of any safetensors file this project or others write.
  const std::string padded = dir_.file("padded.safetensors");
  fs::copy_file(dir_.file("a.safetensors"), padded);
  std::ofstream(padded, std::ios::app) << "trailing";
  EXPECT_TRUE(refused("inspect " + padded, "padded.safetensors", "8 bytes follow the last tensor"));
}

TEST_F(HostileInput, OptionsThatContradictEachOtherAreRefusedInOneLine) {
  // Without -q: the backend's announcement is not printed for a refused command.
  const std::string pair = pair_args(dir_.file("a.safetensors"), dir_.file("b.safetensors"));
  for (const int seed : {1, 2})
    save_model(test::random_model({6, 8, 3}, Activation::tanh, Task::classification, seed),
               dir_.file("tanh" + std::to_string(seed) + ".safetensors"));
  struct Case {
    std::string args, says;
  };
  const std::vector<Case> cases = {
      {"analyze" + pair + " --no-curve --curve-out " + dir_.file("c.safetensors"), "--no-curve"},
      {"analyze" + pair + " --align none --aligned-out " + dir_.file("b2.safetensors"), "--align none"},
      {"symmetry --a " + dir_.file("a.safetensors") + " --b " + dir_.file("b.safetensors"),
       "--b needs --data"},
      {"symmetry --a " + dir_.file("a.safetensors") + " --method none", "--method"},
      {"path" + pair_args(dir_.file("tanh1.safetensors"), dir_.file("tanh2.safetensors")) +
           " --canonicalize-scale",
       "--canonicalize-scale"},
      {"train --data " + data_ + " --arch resnet:4 --hidden 8 --out " + dir_.file("t.safetensors"),
       "--arch describes the whole network"},
      {"train --data " + data_ + " --init " + dir_.file("a.safetensors") + " --activation tanh --out " +
           dir_.file("t.safetensors"),
       "--init brings its architecture"},
      {"train --data " + data_ + " --arch resnet:4,8 --out " + dir_.file("t.safetensors"),
       "needs image data"},
      {"train --data " + data_ + " --arch vgg:4,,8 --out " + dir_.file("t.safetensors"), "--arch vgg:4,,8"},
      {"train --data " + data_ + " --arch mlp:4 --out " + dir_.file("t.safetensors"), "mlp:4"},
  };
  for (const auto& c : cases) {
    const auto r = test::run_modeconn(dir_, c.args, 60);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << "\n" << r.err;
  }
}

TEST_F(HostileInput, MergeRefusesIndicesBeyondIntAndOutputsInsideTheSweep) {
  const std::string manifest =
      R"({"models": ["a", "b"], "fingerprints": ["x", "y"], "data": "d", "options": "{}", "shards": 1})";
  const std::string far =
      R"({"sweep": {"i": 4294967296, "j": 1, "fingerprints": ["x", "y"], "options": "{}",)"
      R"( "data": "d", "complete": true}, "paths": {}})";
  EXPECT_TRUE(
      refused("merge --in-dir " + sweep_folder("far", manifest, far), "pair-0000-0001.json", "sweep.i"));
  const std::string folder = sweep_folder("inside", manifest);
  for (const std::string& out : {folder + "/manifest-9-of-9.json", folder + "/pairs/report.json"}) {
    const auto r = test::run_modeconn(dir_, "merge -q --in-dir " + folder + " --json " + out);
    EXPECT_EQ(r.code, 2) << out << "\n" << r.err;
    EXPECT_NE(r.err.find("keeps its own files"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out));
  }
  // The models a sweep's manifest names are the user's: merge does not write its report over one.
  const std::string a = dir_.file("a.safetensors");
  const std::string before = test::slurp(a);
  const std::string named =
      sweep_folder("named", R"({"models": [")" + a +
                                R"(", "b"], "fingerprints": ["x", "y"], "data": "d", "options": "{}",)"
                                R"( "shards": 1})");
  const auto r = test::run_modeconn(dir_, "merge -q --in-dir " + named + " --json " + a);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("a file this command reads"), std::string::npos) << r.err;
  EXPECT_EQ(test::slurp(a), before) << "merge wrote over a model its sweep names";
}

TEST_F(HostileInput, ARefusedSweepMakesNoFolder) {
  const std::string out = dir_.file("new/sweep");
  fs::create_directories(dir_.file("new"));
  std::ofstream(dir_.file("broken.safetensors")) << "not a model";
  const auto r = test::run_modeconn(dir_, "sweep -q --no-curve --points 3 --data " + data_ + " --out-dir " +
                                              out + " --models " + dir_.file("a.safetensors") + " " +
                                              dir_.file("broken.safetensors"));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_FALSE(fs::exists(out)) << "a refused sweep made its folder";
  const auto s = test::run_modeconn(dir_, "sweep -q --no-curve --points 3 --data " + data_ + " --out-dir " +
                                              dir_.file("a.safetensors") + "/sub --models " +
                                              dir_.file("a.safetensors") + " " + dir_.file("b.safetensors"));
  EXPECT_EQ(s.code, 2) << s.err;

  // A folder that is a link in a loop, and a pipe where a result belongs (it would block the sweep forever).
  const std::string models = " --models " + dir_.file("a.safetensors") + " " + dir_.file("b.safetensors");
  fs::create_symlink("loop", dir_.file("loop"));
  EXPECT_TRUE(
      refused("sweep --no-curve --points 3 --data " + data_ + " --out-dir " + dir_.file("loop") + models,
              "loop", "cannot be the sweep's folder"));
  EXPECT_TRUE(fs::is_symlink(dir_.file("loop")));
  fs::create_directories(dir_.file("fifo/pairs"));
  ASSERT_EQ(::mkfifo(dir_.file("fifo/pairs/pair-0000-0001.json").c_str(), 0644), 0);
  EXPECT_TRUE(
      refused("sweep --no-curve --points 3 --data " + data_ + " --out-dir " + dir_.file("fifo") + models,
              "pair-0000-0001.json", "is not a regular file", 10));
}

TEST_F(HostileInput, CurveFilesThatNameAPointTwiceOrDisagreeWithTheModelsAreRefused) {
  const Model a = test::random_model({6, 8, 3}, Activation::relu, Task::classification, 1);
  const Model b = test::random_model({6, 8, 3}, Activation::relu, Task::classification, 2);
  TensorFile curve = curve_to_tensors(init_curve(a, b, PathKind::bezier, 1));
  TensorFile twice = curve;
  for (auto& t : twice.tensors)
    if (t.name.rfind("points.1.", 0) == 0) t.name = "points.01." + t.name.substr(9);
  write_safetensors(twice, dir_.file("twice.safetensors"));
  const std::string path =
      "path --kind bezier" + pair_args(dir_.file("a.safetensors"), dir_.file("b.safetensors"));
  EXPECT_TRUE(refused(path + " --curve " + dir_.file("twice.safetensors"), "twice.safetensors",
                      "without leading zeros"));
  TensorFile tanh = curve;
  tanh.metadata["modeconn.activation"] = "tanh";
  write_safetensors(tanh, dir_.file("tanh.safetensors"));
  EXPECT_TRUE(refused(path + " --curve " + dir_.file("tanh.safetensors"), "tanh.safetensors",
                      "activation tanh differs"));
}

TEST_F(HostileInput, MalformedSweepFoldersAreRefusedByFileAndKey) {
  const std::string ok_manifest =
      R"({"models": ["a", "b"], "fingerprints": ["x", "y"], "data": "d", "options": "{}", "shards": 1})";
  const auto merge = [&](const std::string& folder) { return "merge --in-dir " + folder; };
  EXPECT_TRUE(
      refused(merge(sweep_folder("s1", R"({"models": ["a", "b", "c"], "fingerprints": ["x"], "data": "d",
                                                   "options": "{}", "shards": 1})")),
              "manifest-0-of-1.json", "key 'fingerprints' has 1 entries for 3 models"));
  EXPECT_TRUE(refused(merge(sweep_folder("s2", std::string(20000, '[') + std::string(20000, ']'))),
                      "manifest-0-of-1.json", "nests deeper than"));
  EXPECT_TRUE(
      refused(merge(sweep_folder("s3", "[1, 2]")), "manifest-0-of-1.json", "a manifest is a JSON object"));
  EXPECT_TRUE(refused(
      merge(sweep_folder("s4", R"({"models": ["a", "b"], "data": "d", "options": "{}", "shards": 1})")),
      "manifest-0-of-1.json", "key 'fingerprints' is missing"));
  EXPECT_TRUE(refused(
      merge(sweep_folder("s5", R"({"models": "a", "fingerprints": [], "data": "d", "options": "{}"})")),
      "manifest-0-of-1.json", "key 'models' is not an array"));
  const std::string result_head =
      R"({"sweep": {"i": 0, "j": 1, "fingerprints": ["x", "y"], "options": "{}", "data": "d", "complete": true}, )";
  EXPECT_TRUE(refused(merge(sweep_folder("s6", ok_manifest, result_head + R"("paths": []})")),
                      "pair-0000-0001.json", "key 'paths' is not an object"));
  EXPECT_TRUE(refused(merge(sweep_folder("s7", ok_manifest, result_head + R"("paths": {}})")),
                      "pair-0000-0001.json", "holds no path"));
  EXPECT_TRUE(refused(
      merge(sweep_folder("s8", ok_manifest, result_head + R"("paths": {"line": {"splits": {"test": {}}}}})")),
      "pair-0000-0001.json", "key 'paths.line.splits.test.barrier' is missing"));
  // 3,000 models: refused at once, not minutes of building 3,000 × 3,000 matrices.
  nlohmann::json many = nlohmann::json::parse(ok_manifest);
  many["models"] = std::vector<std::string>(3000, "m");
  many["fingerprints"] = std::vector<std::string>(3000, "f");
  EXPECT_TRUE(refused(merge(sweep_folder("s9", many.dump())), "manifest-0-of-1.json",
                      "at most " + std::to_string(kMaxSweepModels), 5));
}

TEST_F(HostileInput, ALossThatOverflowsIsReportedAsInfiniteOrNanAndMergesAndResumes) {
  // Finite weights so large that the logits overflow: the loss is not finite at B and along the path.
  Model huge = test::random_model({6, 8, 3}, Activation::relu, Task::classification, 3);
  for (float& w : huge.params) w = w > 0 ? 3e38f : -3e38f;
  save_model(huge, dir_.file("huge.safetensors"));
  const std::string json = dir_.file("p.json");
  const auto r = test::run_modeconn(
      dir_, "path -q --points 5 --align none" +
                pair_args(dir_.file("a.safetensors"), dir_.file("huge.safetensors")) + " --json " + json);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(test::slurp(json));
  const auto& gap = j["splits"]["test"]["barrier"]["loss"]["gap"];
  EXPECT_TRUE(gap.is_string() && (gap == "nan" || gap == "inf")) << gap;
  const auto& last = j["splits"]["test"]["loss"].back();
  EXPECT_TRUE(last.is_string()) << "a loss that is not finite is written as a string, not null: " << last;
  // A sweep over it finishes, merges (its matrices hold the strings), and a resume skips the finished pair.
  const std::string sweep = "sweep --no-curve --align none --points 3 --models " +
                            dir_.file("a.safetensors") + " " + dir_.file("huge.safetensors") + " --data " +
                            data_ + " --out-dir " + dir_.file("sw");
  const auto first = test::run_modeconn(dir_, sweep + " -q");
  ASSERT_EQ(first.code, 0) << first.err;
  const auto m =
      test::run_modeconn(dir_, "merge -q --in-dir " + dir_.file("sw") + " --json " + dir_.file("m.json"));
  ASSERT_EQ(m.code, 0) << m.err;
  const auto merged = nlohmann::json::parse(test::slurp(dir_.file("m.json")));
  EXPECT_TRUE(merged["matrices"]["linear"]["test"]["loss"]["gap"][0][1].is_string())
      << merged["matrices"].dump();
  const auto again = test::run_modeconn(dir_, sweep);
  EXPECT_NE(again.out.find("0 computed"), std::string::npos) << again.out;
}

}  // namespace
}  // namespace modeconn
