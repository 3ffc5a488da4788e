// All-pairs sweeps: the pairs of N models split deterministically over shards, one result file per pair,
// resumable; and the merge of the results into N×N barrier matrices.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "modeconn/analyze.hpp"

namespace modeconn {

// The most models a sweep takes (and merge reads): N(N−1)/2 pairs, each an analysis, and N×N matrices of each
// barrier in the merged report.
constexpr std::size_t kMaxSweepModels = 300;
// The most paths one pair's result (and so a merged report) holds: analyze writes three.
constexpr std::size_t kMaxSweepPaths = 8;
// The most shards a sweep is split into.
constexpr int kMaxShards = 1000000;

struct Shard {
  int index = 0;  // 0-based, as SLURM_ARRAY_TASK_ID counts with --array=0-(N-1)
  int count = 1;
};
// Parses "I/N" with 0 ≤ I < N ≤ kMaxShards.
Shard parse_shard(const std::string& text);

struct PairIndex {
  int i = 0, j = 0;  // i < j, indices into the model list
};
// Every pair i < j, in a fixed order; pair p belongs to shard p mod N.
std::vector<PairIndex> all_pairs(int num_models);
// The pairs of one shard.
std::vector<PairIndex> shard_pairs(int num_models, const Shard& shard);
std::string pair_file_name(const PairIndex& p);
// The manifest a shard writes: manifest-I-of-N.json.
std::string manifest_file_name(const Shard& shard);

struct SweepPlan {
  std::vector<std::string> model_paths;
  std::vector<std::string>
      fingerprints;  // of each model file's bytes: a changed model invalidates its results
  std::string data;
  std::string options;  // canonical JSON of the analysis options: results under other options are redone
};

// The canonical description of analysis options that a result must match to be reused.
std::string options_fingerprint(const AnalyzeOptions& options);
std::string file_fingerprint(const std::string& path);

struct SweepProgress {
  int done = 0, total = 0;  // pairs of this shard
  PairIndex pair;
  bool skipped = false;  // a valid result was already there
  double seconds = 0;
};

struct SweepCounts {
  int computed = 0, skipped = 0, redone = 0;
};

// Runs this shard's pairs, skipping those with a valid result and redoing corrupt or stale ones. Each
// result is written atomically to out_dir/pairs/; the shard also writes its own manifest.
// The same for any analysis of a pair (layer graphs run theirs): `analyze` gives the report of pair (i, j).
SweepCounts run_sweep_pairs(int num_models, const std::function<AnalyzeReport(const PairIndex&)>& analyze,
                            const SweepPlan& plan, const std::string& out_dir, const Shard& shard,
                            const std::function<void(const SweepProgress&)>& progress);

SweepCounts run_sweep(Backend& backend, const std::vector<Model>& models, const Dataset& data,
                      const SweepPlan& plan, const AnalyzeOptions& options, const std::string& out_dir,
                      const Shard& shard, const std::function<void(const SweepProgress&)>& progress);

struct MergeResult {
  int num_models = 0;
  std::vector<PairIndex> missing;
  std::vector<std::string> models;  // as the manifests name them
  std::string json, csv;
};
// Reads the manifests and pair results under in_dir into N×N matrices for every path, split, metric and
// barrier definition. Throws an input error if the manifests disagree.
MergeResult merge_sweep(const std::string& in_dir);

}  // namespace modeconn
