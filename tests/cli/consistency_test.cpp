// One command line: every command answers --help, names the same things the same way, refuses abbreviated
// options, reports long work line by line in logs, and closes with a summary naming what it wrote.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
// GCC 12 warns inside libstdc++'s <regex> (std::function moved in _StateT) under -fsanitize=address; the
// warning is about the library's code, not ours.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#include <sstream>

#include "modeconn/align.hpp"
#include "modeconn/backend.hpp"
#include "modeconn/error.hpp"
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

const std::vector<std::string> kCommands = {"inspect",  "train",     "path",    "plane", "hessian", "align",
                                            "symmetry", "fit-curve", "analyze", "sweep", "merge",   "demo"};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class Consistency : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.file("data");
    test::write_random_data_folder(data_, 60);
    save_model(test::random_model({6, 8, 3}, Activation::relu, Task::classification, 1), a_);
    save_model(test::random_model({6, 8, 3}, Activation::relu, Task::classification, 2), b_);
  }

  // The help text of a command.
  std::string help(const std::string& command) {
    const auto r = test::run_modeconn(dir_, command + " --help");
    EXPECT_EQ(r.code, 0) << command << "\n" << r.err;
    EXPECT_TRUE(r.err.empty()) << command << ": " << r.err;
    return r.out;
  }

  // The command's last stderr line is its summary: "COMMAND: ... in S s[; wrote F, G]" naming every file.
  void expect_summary(const std::string& command, const std::string& err,
                      const std::vector<std::string>& files) {
    const auto lines = lines_of(err);
    ASSERT_FALSE(lines.empty()) << command << " printed nothing on stderr";
    const std::string& last = lines.back();
    EXPECT_EQ(last.rfind(command + ": ", 0), 0u) << last;
    EXPECT_TRUE(std::regex_search(last, std::regex(" in [0-9]+\\.[0-9] s"))) << last;
    for (const auto& f : files) EXPECT_NE(last.find(f), std::string::npos) << f << " not in: " << last;
    if (files.empty()) {
      EXPECT_EQ(last.find("wrote"), std::string::npos) << last;
    }
  }

  TempDir dir_;
  std::string data_;
  const std::string a_ = dir_.file("a.safetensors"), b_ = dir_.file("b.safetensors");
};

TEST_F(Consistency, EveryCommandAnswersHelpWithItsUsageAndRangesAndRoundedDefaults) {
  for (const auto& c : kCommands) {
    const std::string text = help(c);
    EXPECT_EQ(text.rfind("usage: modeconn " + c, 0), 0u) << text.substr(0, 200);
    // Defaults as a person writes them, not as a double prints at full precision.
    EXPECT_FALSE(std::regex_search(text, std::regex("[0-9]\\.[0-9]{8,}"))) << c << ":\n" << text;
  }
  const auto top = test::run_modeconn(dir_, "--help");
  EXPECT_EQ(top.code, 0);
  for (const auto& c : kCommands) EXPECT_NE(top.out.find("  " + c), std::string::npos) << c;
}

TEST_F(Consistency, TheSameThingHasTheSameNameInEveryCommand) {
  // The first and second model are --a and --b wherever a command takes a pair (symmetry's --model stays an
  // alias); data is --data; inspect takes its model as a positional argument, as its usage says.
  for (const std::string c : {"path", "align", "fit-curve", "analyze", "symmetry"}) {
    const std::string text = help(c);
    EXPECT_NE(text.find("--a arg"), std::string::npos) << c;
    EXPECT_NE(text.find("--b arg"), std::string::npos) << c;
    EXPECT_NE(text.find("--data arg"), std::string::npos) << c;
  }
  EXPECT_EQ(help("inspect").rfind("usage: modeconn inspect MODEL", 0), 0u);
  EXPECT_EQ(test::run_modeconn(dir_, "inspect -q " + a_).code, 0);
  // path and analyze align alike unless told otherwise.
  const std::regex align_default("--align arg \\(=([a-z]+)\\)");
  std::smatch in_path, in_analyze;
  const std::string path_help = help("path"), analyze_help = help("analyze");
  ASSERT_TRUE(std::regex_search(path_help, in_path, align_default)) << path_help;
  ASSERT_TRUE(std::regex_search(analyze_help, in_analyze, align_default)) << analyze_help;
  EXPECT_EQ(in_path[1], in_analyze[1]);
}

TEST_F(Consistency, AbbreviatedOptionsAreRefusedWithTheNameMeant) {
  const auto r =
      test::run_modeconn(dir_, "path --a " + a_ + " --b " + b_ + " --data " + data_ + " --point 5");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("'--point'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--points"), std::string::npos) << r.err;
}

TEST_F(Consistency, VersionNamesTheCommitAndTheCudaBackend) {
  const auto r = test::run_modeconn(dir_, "--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("modeconn ", 0), 0u) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("commit [0-9a-f]{7,}|commit unknown"))) << r.out;
  const bool says_built = r.out.find("CUDA backend: not built") == std::string::npos;
  EXPECT_NE(r.out.find("CUDA backend: "), std::string::npos) << r.out;
  EXPECT_EQ(says_built, built_with_cuda()) << r.out;
}

TEST_F(Consistency, LogsShowEveryEpochAndQuietSilencesThem) {
  // stderr is a file here, as under nohup or SLURM: one line per epoch, not a redrawn terminal line.
  const std::string m = dir_.file("m.safetensors");
  const auto r =
      test::run_modeconn(dir_, "train --hidden 4 --epochs 3 --batch 16 --data " + data_ + " --out " + m);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << "a terminal's redraw in a log";
  const std::regex epoch_line("training: epoch ([0-9])/3  loss ([0-9.]+)  error ([0-9.]+)  [0-9.]+ s");
  int epochs = 0;
  for (const auto& line : lines_of(r.err)) {
    std::smatch m_;
    if (!std::regex_match(line, m_, epoch_line)) continue;
    EXPECT_EQ(std::stoi(m_[1]), ++epochs);
    const double error = std::stod(m_[3]);
    EXPECT_GE(error, 0.0);
    EXPECT_LE(error, 1.0);  // a fraction, as everywhere
  }
  EXPECT_EQ(epochs, 3) << r.err;
  expect_summary("train", r.err, {m});

  const auto curve = dir_.file("c.safetensors");
  const auto f = test::run_modeconn(dir_, "fit-curve --a " + a_ + " --b " + b_ + " --data " + data_ +
                                              " --epochs 2 --batch 16 --out " + curve);
  ASSERT_EQ(f.code, 0) << f.err;
  EXPECT_NE(f.err.find("fitting the curve: epoch 2/2  loss"), std::string::npos) << f.err;
  expect_summary("fit-curve", f.err, {curve});

  const auto quiet = test::run_modeconn(
      dir_, "train -q --hidden 4 --epochs 2 --data " + data_ + " --out " + dir_.file("q.safetensors"));
  ASSERT_EQ(quiet.code, 0);
  EXPECT_EQ(quiet.err, "");
}

TEST_F(Consistency, EveryCommandClosesWithASummaryOfWhatItWrote) {
  const std::string pair = " --a " + a_ + " --b " + b_ + " --data " + data_;
  const std::string j = dir_.file("p.json"), c = dir_.file("p.csv");
  auto run = [&](const std::string& command, const std::string& args, const std::vector<std::string>& files) {
    const auto r = test::run_modeconn(dir_, command + " " + args);
    ASSERT_EQ(r.code, 0) << command << " " << args << "\n" << r.err;
    expect_summary(command, r.err, files);
  };
  run("path", pair + " --points 3 --json " + j + " --csv " + c, {j, c});
  run("path", pair + " --points 3 --align none", {});
  const std::string aligned = dir_.file("b2.safetensors");
  run("align", pair + " --out " + aligned, {aligned});
  run("symmetry", pair + " --points 3 --json " + dir_.file("s.json"), {dir_.file("s.json")});
  run("analyze", pair + " --points 3 --no-curve --json " + dir_.file("r.json"), {dir_.file("r.json")});
  run("inspect", a_ + " --data " + data_, {});
  const std::string sweep = dir_.file("sweep");
  run("sweep",
      "--models " + a_ + " " + b_ + " --data " + data_ + " --out-dir " + sweep + " --no-curve --points 3",
      {});
  run("merge", "--in-dir " + sweep + " --json " + dir_.file("m.json"), {dir_.file("m.json")});
}

TEST_F(Consistency, ErrorIsOneUnitInTablesAndJson) {
  // The table prints the JSON's value (a fraction), not a percentage of it.
  const std::string j = dir_.file("p.json");
  const auto r = test::run_modeconn(
      dir_, "path -q --align none --points 2 --a " + a_ + " --b " + b_ + " --data " + data_ + " --json " + j);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto report = nlohmann::json::parse(test::slurp(j));
  const double error_at_a = report["splits"]["test"]["error"][0];
  char want[64];
  std::snprintf(want, sizeof want, "%.5f", error_at_a);
  const auto lines = lines_of(r.out);
  const auto row = std::find_if(lines.begin(), lines.end(),
                                [](const std::string& l) { return l.rfind("  0.0000", 0) == 0; });
  ASSERT_NE(row, lines.end()) << r.out;
  EXPECT_NE(row->find(want), std::string::npos) << *row << " lacks " << want;
  EXPECT_EQ(r.out.find('%'), r.out.find("10% misclassified") + 2) << "a percentage in the table:\n" << r.out;
}

// The library's errors speak of values; the command line names the option the value came from, so analyze's
// --curve-kind is not called --kind and a library caller never reads of flags it has not got.
TEST_F(Consistency, LibraryErrorsSpeakOfValuesAndTheCommandLineNamesTheOption) {
  const Model a = test::random_model({6, 8, 3}, Activation::relu, Task::classification, 1);
  const std::vector<std::function<void()>> library = {
      [] { (void)parse_path_kind("spline"); },
      [] { (void)parse_optimizer("lbfgs"); },
      [] { (void)parse_shard("3/2"); },
      [] { (void)parse_device("gpu"); },
      [] { (void)parse_align_method("magic"); },
      [&] { (void)init_curve(a, a, PathKind::linear, 1); },
      [&] { (void)init_curve(a, a, PathKind::bezier, 0); },
      [] { (void)path_grid(1); },
  };
  for (std::size_t i = 0; i < library.size(); ++i) {
    try {
      library[i]();
      ADD_FAILURE() << "library call " << i << " accepted a bad value";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
      EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << "names a flag: " << e.what();
    }
  }
  const std::string pair = " --a " + a_ + " --b " + b_ + " --data " + data_;
  const std::vector<std::pair<std::string, std::string>> cli = {
      {"path" + pair + " --kind spline", "--kind: unknown path kind 'spline'"},
      {"analyze" + pair + " --curve-kind linear", "--curve-kind: a fitted curve is bezier or polychain"},
      {"fit-curve" + pair + " --kind linear --out " + dir_.file("c.safetensors"),
       "--kind: a fitted curve is bezier or polychain"},
      {"train --data " + data_ + " --optimizer lbfgs --out " + dir_.file("t.safetensors"),
       "--optimizer: unknown optimizer 'lbfgs'"},
      {"analyze" + pair + " --curve-optimizer lbfgs", "--curve-optimizer: unknown optimizer 'lbfgs'"},
      {"path" + pair + " --device gpu", "--device: unknown device 'gpu'"},
      {"path" + pair + " --align magic", "--align: unknown alignment method 'magic'"},
      {"sweep --models " + a_ + " " + b_ + " --data " + data_ + " --out-dir " + dir_.file("s") +
           " --shard 3/2",
       "--shard: expected I/N"},
      {"align --a " + a_ + " --b " + b_ + " --method activation --out " + dir_.file("x.safetensors"),
       "--method activation: activation matching needs --data"},
  };
  for (const auto& [args, message] : cli) {
    const auto r = test::run_modeconn(dir_, args + " -q");
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
  }
}

}  // namespace
}  // namespace modeconn
