// Nothing a user gave is lost: for every command, an output that is one of its inputs — however the path is
// spelled (as given, through ./, a symbolic link or a hard link) — is refused with exit 2 before any work,
// and every file keeps its bytes; two outputs that are one file are refused; a set of outputs is written all
// or nothing; temporaries of killed runs are cleaned up.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "modeconn/file_util.hpp"
#include "modeconn/npy.hpp"
#include "modeconn/path.hpp"
#include "modeconn/tensor_file.hpp"
#include "modeconn/train.hpp"
#include "support/fixtures.hpp"
#include "support/run_cli.hpp"

namespace modeconn {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// Every regular file below `root` and its bytes (the test's own stdout/stderr captures aside).
std::map<std::string, std::vector<unsigned char>> snapshot(const fs::path& root) {
  std::map<std::string, std::vector<unsigned char>> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (e.is_symlink() || !e.is_regular_file() || name == "stdout.txt" || name == "stderr.txt") continue;
    files[e.path().string()] = test::read_all(e.path().string());
  }
  return files;
}

// A pid no process has: a child that has exited and been reaped.
long dead_pid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  int status = 0;
  waitpid(child, &status, 0);
  return child;
}

class OutputSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.file("data");
    test::write_random_data_folder(data_, 40);
    const Model a = test::random_model({6, 8, 3}, Activation::relu, Task::classification, 1);
    const Model b = test::random_model({6, 8, 3}, Activation::relu, Task::classification, 2);
    save_model(a, dir_.file("a.safetensors"));
    save_model(b, dir_.file("b.safetensors"));
    save_curve(init_curve(a, b, PathKind::bezier, 1), dir_.file("curve.safetensors"));
    std::ofstream(dir_.file("c.cfg")) << "threads = 1\n";
    const auto r = test::run_modeconn(
        dir_, "sweep -q --models " + dir_.file("a.safetensors") + " " + dir_.file("b.safetensors") +
                  " --data " + data_ + " --out-dir " + dir_.file("sweep") + " --no-curve --points 3");
    ASSERT_EQ(r.code, 0) << r.err;
  }

  // The ways one file can be named: as given, with ./ in it, through a symbolic link, through a hard link.
  std::vector<std::string> spellings(const std::string& file) {
    const fs::path p(file);
    const std::string n = std::to_string(links_++);
    const std::string sym = dir_.file("sym-" + n), hard = dir_.file("hard-" + n);
    fs::create_symlink(p, sym);
    fs::create_hard_link(p, hard);
    return {file, (p.parent_path() / "." / p.filename()).string(), sym, hard};
  }

  // `base` with `option` pointing at `target`, and `others` (the command's other required outputs) at fresh
  // paths that must not appear: exit 2, one line on stderr, every file as it was.
  void expect_refused(const std::string& base, const std::string& option, const std::string& target,
                      const std::vector<std::string>& others) {
    std::string args = base + " " + option + " " + target;
    std::vector<std::string> fresh;
    for (const auto& o : others) {
      fresh.push_back(dir_.file("fresh" + std::to_string(fresh.size()) + ".out"));
      args += " " + o + " " + fresh.back();
    }
    const auto before = snapshot(dir_.path());
    const auto r = test::run_modeconn(dir_, args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_TRUE(snapshot(dir_.path()) == before) << "files changed: " << args;
    for (const auto& f : fresh) EXPECT_FALSE(fs::exists(f)) << f << " written by a refused run: " << args;
  }

  // Every output option of a command against every input it reads, in every spelling.
  void expect_all_pairings_refused(const std::string& base, const std::vector<std::string>& output_options,
                                   const std::vector<std::string>& required_outputs,
                                   const std::vector<std::string>& inputs) {
    for (const auto& option : output_options) {
      std::vector<std::string> others;
      for (const auto& r : required_outputs)
        if (r != option) others.push_back(r);
      for (const auto& input : inputs)
        for (const auto& spelling : spellings(input)) expect_refused(base, option, spelling, others);
    }
  }

  std::vector<std::string> data_files() const {
    return {data_ + "/x_train.npy", data_ + "/y_train.npy", data_ + "/x_test.npy", data_ + "/y_test.npy"};
  }
  std::vector<std::string> with(std::vector<std::string> v, const std::vector<std::string>& more) const {
    v.insert(v.end(), more.begin(), more.end());
    return v;
  }

  TempDir dir_;
  std::string data_;
  int links_ = 0;
};

TEST_F(OutputSafety, PathNeverWritesOverAnInput) {
  const std::string a = dir_.file("a.safetensors"), b = dir_.file("b.safetensors"), cfg = dir_.file("c.cfg");
  const std::string common =
      " --a " + a + " --b " + b + " --data " + data_ + " --config " + cfg + " --points 3";
  expect_all_pairings_refused("path -q" + common, {"--json", "--csv"}, {}, with(data_files(), {a, b, cfg}));
  const std::string curve = dir_.file("curve.safetensors");
  expect_all_pairings_refused("path -q" + common + " --kind bezier --curve " + curve, {"--json"}, {},
                              {curve});
}

TEST_F(OutputSafety, AlignAnalyzeFitCurveSymmetryAndTrainNeverWriteOverAnInput) {
  const std::string a = dir_.file("a.safetensors"), b = dir_.file("b.safetensors"), cfg = dir_.file("c.cfg");
  const auto inputs = with(data_files(), {a, b, cfg});
  const std::string pair = " --a " + a + " --b " + b + " --data " + data_ + " --config " + cfg;
  expect_all_pairings_refused("align -q" + pair, {"--out", "--json"}, {"--out"}, inputs);
  expect_all_pairings_refused("analyze -q --no-curve --points 3" + pair,
                              {"--json", "--csv", "--curve-out", "--aligned-out"}, {}, inputs);
  expect_all_pairings_refused("fit-curve -q --epochs 1" + pair, {"--out"}, {"--out"}, inputs);
  expect_all_pairings_refused("symmetry -q --a " + a + " --b " + b + " --data " + data_ + " --config " + cfg,
                              {"--json"}, {}, inputs);
  expect_all_pairings_refused("train -q --hidden 4 --epochs 1 --data " + data_ + " --config " + cfg,
                              {"--out"}, {"--out"}, with(data_files(), {cfg}));
}

TEST_F(OutputSafety, PlaneNeverWritesOverAnInput) {
  const std::string a = dir_.file("a.safetensors"), b = dir_.file("b.safetensors"), cfg = dir_.file("c.cfg");
  expect_all_pairings_refused("plane -q --grid 2 --model " + a + " --data " + data_ + " --config " + cfg,
                              {"--json", "--csv", "--save-directions"}, {}, with(data_files(), {a, cfg}));
  // A directions file is an input too.
  const std::string dirs = dir_.file("dirs.safetensors");
  ASSERT_EQ(test::run_modeconn(
                dir_, "plane -q --grid 2 --model " + a + " --data " + data_ + " --save-directions " + dirs)
                .code,
            0);
  expect_all_pairings_refused("plane -q --grid 2 --model " + a + " --directions " + dirs + " --data " + data_,
                              {"--json"}, {}, {dirs});
  const std::string c = dir_.file("third.safetensors");
  save_model(test::random_model({6, 8, 3}, Activation::relu, Task::classification, 3), c);
  const std::string three = "plane -q --grid 2 --a " + a + " --b " + b + " --c " + c + " --data " + data_;
  ASSERT_EQ(test::run_modeconn(dir_, three).code, 0);  // runs as it is: the refusals below are the outputs'
  expect_all_pairings_refused(three, {"--csv"}, {}, {a, b, c});
  const std::string curve = dir_.file("curve.safetensors");
  expect_all_pairings_refused(
      "plane -q --grid 2 --a " + a + " --b " + b + " --curve " + curve + " --data " + data_, {"--json"}, {},
      {curve});
}

TEST_F(OutputSafety, MergeNeverWritesOverItsSweep) {
  const std::string sweep = dir_.file("sweep"), cfg = dir_.file("c.cfg");
  expect_all_pairings_refused("merge -q --in-dir " + sweep + " --config " + cfg, {"--json", "--csv"}, {},
                              {sweep + "/manifest-0-of-1.json", sweep + "/pairs/pair-0000-0001.json", cfg});
}

TEST_F(OutputSafety, SweepNeverWritesOverAModel) {
  // A model kept where the sweep would write a pair's result, under that very name.
  const std::string other = dir_.file("other");
  fs::create_directories(other + "/pairs");
  fs::copy_file(dir_.file("a.safetensors"), other + "/pairs/pair-0000-0001.json");
  expect_refused("sweep -q --no-curve --points 3 --data " + data_ + " --out-dir " + other + " --models " +
                     other + "/pairs/pair-0000-0001.json",
                 "", dir_.file("b.safetensors"), {});
  // An --out-dir that is a file.
  expect_refused("sweep -q --no-curve --points 3 --data " + data_ + " --models " +
                     dir_.file("a.safetensors") + " " + dir_.file("b.safetensors"),
                 "--out-dir", dir_.file("c.cfg"), {});
}

TEST_F(OutputSafety, TwoOutputsThatAreOneFileAreRefused) {
  const std::string a = dir_.file("a.safetensors"), b = dir_.file("b.safetensors");
  const std::string x = dir_.file("x.out"), dot_x = dir_.file(".") + "/x.out";
  const std::string pair = " --a " + a + " --b " + b + " --data " + data_;
  for (const auto& second : {x, dot_x}) {
    expect_refused("align -q" + pair + " --out " + x, "--json", second, {});
    expect_refused("path -q --points 3" + pair + " --json " + x, "--csv", second, {});
    expect_refused("analyze -q --no-curve --points 3" + pair + " --json " + x, "--aligned-out", second, {});
  }
  const auto r = test::run_modeconn(dir_, "path -q --points 3" + pair + " --json " + x + " --csv " + x);
  EXPECT_NE(r.err.find("are the same file"), std::string::npos) << r.err;
}

TEST_F(OutputSafety, OutputsThatAreOneFileThroughLinksAreRefused) {
  const std::string pair = " --points 3 --a " + dir_.file("a.safetensors") + " --b " +
                           dir_.file("b.safetensors") + " --data " + data_;
  // A hard link to an existing output.
  const std::string x = dir_.file("x.json"), twin = dir_.file("twin.json");
  std::ofstream(x) << "old\n";
  fs::create_hard_link(x, twin);
  expect_refused("path -q" + pair + " --json " + x, "--csv", twin, {});
  // A dangling link and the file it would create.
  const std::string dangling = dir_.file("dangling.json"), target = dir_.file("not-yet.json");
  fs::create_symlink(target, dangling);
  expect_refused("path -q" + pair + " --json " + dangling, "--csv", target, {});
}

TEST_F(OutputSafety, LinksAreWrittenThroughAndDevicesInPlace) {
  const std::string pair = " --points 3 --a " + dir_.file("a.safetensors") + " --b " +
                           dir_.file("b.safetensors") + " --data " + data_;
  const std::string link = dir_.file("report.json"), real = dir_.file("kept/real.json");
  fs::create_directories(dir_.file("kept"));
  fs::create_symlink("kept/real.json", link);  // relative, from the link's own folder
  const auto r = test::run_modeconn(dir_, "path -q" + pair + " --json " + link + " --csv /dev/null");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(link)) << "the link was replaced by a file";
  EXPECT_NE(test::slurp(real).find("\"splits\""), std::string::npos) << "the report did not reach the target";
  EXPECT_TRUE(fs::is_character_file("/dev/null")) << "/dev/null was replaced";
  // A pipe as output: the whole report arrives through it.
  const auto s = test::run_modeconn(dir_, "path -q" + pair + " --json /dev/stdout");
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_NE(s.out.find("\"splits\""), std::string::npos) << s.out.substr(0, 200);
}

TEST_F(OutputSafety, AnOutputFolderThatTakesNoFilesIsRefusedBeforeAnyWork) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes into read-only folders";
  const std::string locked = dir_.file("locked");
  fs::create_directories(locked);
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
  expect_refused("train -q --hidden 4 --epochs 1 --data " + data_, "--out", locked + "/m.safetensors", {});
  fs::permissions(locked, fs::perms::owner_all);
}

TEST_F(OutputSafety, OutputsAreWrittenAllOrNothing) {
  // The CSV's destination cannot be replaced: the JSON, complete and ready, must not appear either.
  const std::string target = dir_.file("locked.csv"), json = dir_.file("new.json");
  std::ofstream(target) << "keep me\n";
  const bool immutable = std::system(("chattr +i " + target + " 2>/dev/null").c_str()) == 0;
  if (!immutable)
    fs::permissions(target, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  if (!immutable && ::access(target.c_str(), W_OK) == 0)
    GTEST_SKIP() << "neither chattr +i nor a read-only file holds here";
  const auto r = test::run_modeconn(dir_, "path -q --points 3 --a " + dir_.file("a.safetensors") + " --b " +
                                              dir_.file("b.safetensors") + " --data " + data_ + " --json " +
                                              json + " --csv " + target);
  if (immutable) std::system(("chattr -i " + target).c_str());
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("locked.csv"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(json)) << "one output of the set was written";
  EXPECT_EQ(test::slurp(target), "keep me\n");
  for (const auto& e : fs::directory_iterator(dir_.path()))
    EXPECT_EQ(e.path().string().find(".modeconn-tmp-"), std::string::npos) << e.path();
}

TEST_F(OutputSafety, TemporariesOfKilledRunsAreRemovedByTheNextRun) {
  const std::string host = temporary_host_tag();
  const long dead = dead_pid();
  const std::string json = dir_.file("p.json");
  const std::string stale = json + ".modeconn-tmp-" + host + "-" + std::to_string(dead) + "-17";
  const std::string live = json + ".modeconn-tmp-" + host + "-" + std::to_string(getpid()) + "-18";
  const std::string elsewhere = json + ".modeconn-tmp-another_host-" + std::to_string(dead) + "-19";
  for (const auto& f : {stale, live, elsewhere}) std::ofstream(f) << "partial";
  const auto r =
      test::run_modeconn(dir_, "path -q --points 3 --a " + dir_.file("a.safetensors") + " --b " +
                                   dir_.file("b.safetensors") + " --data " + data_ + " --json " + json);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(stale)) << "a dead process's temporary stayed";
  EXPECT_TRUE(fs::exists(live)) << "a running process's temporary was removed";
  EXPECT_TRUE(fs::exists(elsewhere)) << "another host's temporary was removed";

  // A sweep resumed after a kill: its pairs folder is cleaned too.
  const std::string pair_tmp = dir_.file("sweep") + "/pairs/pair-0000-0001.json.modeconn-tmp-" + host + "-" +
                               std::to_string(dead) + "-3";
  std::ofstream(pair_tmp) << "{\"trunc";
  const auto s = test::run_modeconn(dir_, "sweep -q --models " + dir_.file("a.safetensors") + " " +
                                              dir_.file("b.safetensors") + " --data " + data_ +
                                              " --out-dir " + dir_.file("sweep") + " --no-curve --points 3");
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_FALSE(fs::exists(pair_tmp));
}

}  // namespace
}  // namespace modeconn
