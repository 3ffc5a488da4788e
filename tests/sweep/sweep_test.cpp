// Sweeps: shards partition the pairs, results are reused only when valid, and merge builds the matrices.
#include "modeconn/sweep.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "modeconn/error.hpp"
#include "modeconn/file_util.hpp"
#include "support/fixtures.hpp"

namespace modeconn {
namespace {

class Sweep : public ::testing::Test {
 protected:
  void SetUp() override {
    data_.source = "test data";
    data_.train = test::random_split(80, 5, Task::classification, 3, 1);
    data_.train.name = "train";
    data_.test = test::random_split(40, 5, Task::classification, 3, 2);
    for (int k = 0; k < 4; ++k) {
      models_.push_back(test::random_model({5, 6, 3}, Activation::relu, Task::classification,
                                           10 + static_cast<uint64_t>(k)));
      std::string name = "m";
      name += std::to_string(k);
      name += ".safetensors";
      const std::string path = dir_.file(name);
      save_model(models_.back(), path);
      plan_.model_paths.push_back(path);
      plan_.fingerprints.push_back(file_fingerprint(path));
    }
    options_.points = 5;
    options_.curve_training.epochs = 1;
    options_.curve_training.batch = 20;
    plan_.data = data_.source;
    plan_.options = options_fingerprint(options_);
    backend_ = make_cpu_backend();
  }

  SweepCounts sweep(const std::string& out, Shard shard) {
    return run_sweep(*backend_, models_, data_, plan_, options_, dir_.file(out), shard, nullptr);
  }

  test::TempDir dir_;
  Dataset data_;
  std::vector<Model> models_;
  SweepPlan plan_;
  AnalyzeOptions options_;
  std::unique_ptr<Backend> backend_;
};

TEST(SweepPlan, ShardsPartitionThePairs) {
  EXPECT_EQ(all_pairs(5).size(), 10u);
  std::multiset<std::pair<int, int>> seen;
  const auto pairs = all_pairs(5);
  for (int shard = 0; shard < 3; ++shard)
    for (std::size_t p = 0; p < pairs.size(); ++p)
      if (static_cast<int>(p % 3) == shard) seen.insert({pairs[p].i, pairs[p].j});
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ((std::set<std::pair<int, int>>(seen.begin(), seen.end()).size()), 10u);
  EXPECT_EQ((parse_shard("2/3").index), 2);
  EXPECT_THROW(parse_shard("3/3"), Error);
  EXPECT_THROW(parse_shard("-1/3"), Error);
  EXPECT_THROW(parse_shard("1/0"), Error);
  EXPECT_THROW(parse_shard("1/3x"), Error);
}

TEST_F(Sweep, ThreeShardsMergeToWhatOneGives) {
  EXPECT_EQ(sweep("one", {0, 1}).computed, 6);
  int computed = 0;
  for (int s = 0; s < 3; ++s) computed += sweep("three", {s, 3}).computed;
  EXPECT_EQ(computed, 6);
  const MergeResult one = merge_sweep(dir_.file("one")), three = merge_sweep(dir_.file("three"));
  EXPECT_TRUE(one.missing.empty());
  EXPECT_EQ(one.csv, three.csv);
  const auto j = nlohmann::json::parse(one.json);
  const auto& gap = j["matrices"]["linear"]["test"]["loss"]["gap"];
  EXPECT_EQ(gap[1][2], gap[2][1]);
  EXPECT_EQ(gap[3][3], 0.0);
  // The matrix entry is the pair file's barrier.
  const auto bytes = test::read_all(dir_.file("one/pairs/" + pair_file_name({1, 2})));
  const auto pair = nlohmann::json::parse(bytes.begin(), bytes.end());
  EXPECT_EQ(gap[1][2], pair["paths"]["linear"]["splits"]["test"]["barrier"]["loss"]["gap"]);
}

TEST_F(Sweep, ReusesValidResultsAndRedoesBrokenOrStaleOnes) {
  sweep("out", {0, 1});
  const std::string file = dir_.file("out/pairs/" + pair_file_name({0, 3}));
  const auto good = test::read_all(file);
  EXPECT_EQ(sweep("out", {0, 1}).skipped, 6);  // nothing to do
  // A partial file (as a crash might leave without atomic writes) is redone.
  write_file_atomic(file, good.data(), good.size() / 2);
  SweepCounts c = sweep("out", {0, 1});
  EXPECT_EQ(c.computed, 1);
  EXPECT_EQ(c.redone, 1);
  const auto redone = test::read_all(file);
  EXPECT_EQ(nlohmann::json::parse(redone.begin(), redone.end())["paths"],
            nlohmann::json::parse(good.begin(), good.end())["paths"]);
  // Other options make every result stale.
  options_.points = 7;
  plan_.options = options_fingerprint(options_);
  EXPECT_EQ(sweep("out", {0, 1}).redone, 6);
}

TEST_F(Sweep, MergeListsMissingPairsAndRefusesMixedSweeps) {
  sweep("out", {1, 2});  // half the pairs
  const MergeResult r = merge_sweep(dir_.file("out"));
  EXPECT_EQ(r.missing.size(), 3u);
  const auto j = nlohmann::json::parse(r.json);
  EXPECT_EQ(j["missing"].size(), 3u);
  EXPECT_TRUE(j["matrices"]["linear"]["test"]["loss"]["gap"][0][1].is_null());  // pair 0 is shard 0's
  options_.points = 9;
  plan_.options = options_fingerprint(options_);
  sweep("out", {0, 2});
  EXPECT_THROW(merge_sweep(dir_.file("out")), Error);
  EXPECT_THROW(merge_sweep(dir_.file("nowhere")), Error);
}

}  // namespace
}  // namespace modeconn
