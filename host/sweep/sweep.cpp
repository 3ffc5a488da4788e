// The sweep: this shard's pairs, each analysed and written atomically to its own file, resumable.
#include "modeconn/sweep.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "modeconn/error.hpp"
#include "modeconn/file_util.hpp"
#include "modeconn/json_read.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn {
namespace {

namespace fs = std::filesystem;

// A result can be reused only if it is complete JSON for these very models, data and options.
bool valid_result(const std::string& path, const SweepPlan& plan, const PairIndex& p) {
  try {
    const auto bytes = read_file(path, kMaxTextFileBytes);
    const auto j =
        parse_json_input({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, path, "the file");
    const auto& s = j.at("sweep");
    return s.at("complete").get<bool>() && s.at("i").get<int>() == p.i && s.at("j").get<int>() == p.j &&
           s.at("fingerprints").get<std::vector<std::string>>() ==
               std::vector<std::string>{plan.fingerprints[static_cast<std::size_t>(p.i)],
                                        plan.fingerprints[static_cast<std::size_t>(p.j)]} &&
           s.at("data").get<std::string>() == plan.data &&
           s.at("options").get<std::string>() == plan.options && j.contains("paths");
  } catch (const std::exception&) {
    return false;  // unreadable, truncated or foreign: redo it
  }
}

}  // namespace

Shard parse_shard(const std::string& text) {
  // Digits only, each number at most seven of them: sscanf's %d would wrap 99999999999 around silently.
  const auto slash = text.find('/');
  const auto number = [&](const std::string& s, int* out) {
    if (s.empty() || s.size() > 7 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    *out = std::stoi(s);
    return true;
  };
  Shard s;
  if (slash == std::string::npos || !number(text.substr(0, slash), &s.index) ||
      !number(text.substr(slash + 1), &s.count) || s.count < 1 || s.count > kMaxShards || s.index >= s.count)
    throw usage_error("expected I/N with 0 <= I < N <= " + std::to_string(kMaxShards) + ", not '" + text +
                      "'");
  return s;
}

std::vector<PairIndex> shard_pairs(int num_models, const Shard& shard) {
  std::vector<PairIndex> mine;
  const auto pairs = all_pairs(num_models);
  for (std::size_t p = 0; p < pairs.size(); ++p)
    if (static_cast<int>(p % static_cast<std::size_t>(shard.count)) == shard.index) mine.push_back(pairs[p]);
  return mine;
}

std::string manifest_file_name(const Shard& shard) {
  return "manifest-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) + ".json";
}

std::vector<PairIndex> all_pairs(int num_models) {
  std::vector<PairIndex> pairs;
  for (int i = 0; i < num_models; ++i)
    for (int j = i + 1; j < num_models; ++j) pairs.push_back({i, j});
  return pairs;
}

std::string pair_file_name(const PairIndex& p) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "pair-%04d-%04d.json", p.i, p.j);
  return buf;
}

std::string file_fingerprint(const std::string& path) {
  // FNV-1a over the bytes and the size: enough to notice a model file that changed between runs.
  const auto bytes = read_file(path, kMaxSafetensorsBytes);
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%016llx-%zu", static_cast<unsigned long long>(h), bytes.size());
  return buf;
}

std::string options_fingerprint(const AnalyzeOptions& o) {
  const TrainOptions& t = o.curve_training;
  const nlohmann::json j = {{"points", o.points},
                            {"align", std::string(align_method_name(o.align.method))},
                            {"signs", o.align.matching.signs},
                            {"max_sweeps", o.align.matching.max_sweeps},
                            {"align_seed", o.align.matching.seed},
                            {"canonicalize_scale", o.align.canonicalize_scale},
                            {"curve", o.fit_curve},
                            {"curve_kind", std::string(path_kind_name(o.curve_kind))},
                            {"bends", o.bends},
                            {"curve_training",
                             {{"optimizer", t.optimizer == Optimizer::sgd ? "sgd" : "adam"},
                              {"epochs", t.epochs},
                              {"lr", t.lr},
                              {"momentum", t.momentum},
                              {"weight_decay", t.weight_decay},
                              {"batch", t.batch},
                              {"seed", t.seed}}}};
  return j.dump();
}

SweepCounts run_sweep(Backend& backend, const std::vector<Model>& models, const Dataset& data,
                      const SweepPlan& plan, const AnalyzeOptions& options, const std::string& out_dir,
                      const Shard& shard, const std::function<void(const SweepProgress&)>& progress) {
  return run_sweep_pairs(
      static_cast<int>(models.size()),
      [&](const PairIndex& p) {
        return analyze_pair(backend, models[static_cast<std::size_t>(p.i)],
                            models[static_cast<std::size_t>(p.j)], data, options, nullptr);
      },
      plan, out_dir, shard, progress);
}

SweepCounts run_sweep_pairs(int num_models, const std::function<AnalyzeReport(const PairIndex&)>& analyze,
                            const SweepPlan& plan, const std::string& out_dir, const Shard& shard,
                            const std::function<void(const SweepProgress&)>& progress) {
  const fs::path pairs_dir = fs::path(out_dir) / "pairs";
  std::error_code ec;
  fs::create_directories(pairs_dir, ec);
  if (ec) throw input_error(pairs_dir.string(), "cannot create the sweep's folder: " + ec.message());
  // What runs of this host killed mid-write left behind.
  remove_stale_temporaries(out_dir, [](const std::string& name) { return name.rfind("manifest-", 0) == 0; });
  remove_stale_temporaries(pairs_dir.string(),
                           [](const std::string& name) { return name.rfind("pair-", 0) == 0; });
  {
    // Each shard its own manifest: no two shards ever write the same file.
    const nlohmann::json manifest = {{"models", plan.model_paths},
                                     {"fingerprints", plan.fingerprints},
                                     {"data", plan.data},
                                     {"options", plan.options},
                                     {"shards", shard.count}};
    const std::string text = manifest.dump(2) + "\n";
    write_file_atomic((fs::path(out_dir) / manifest_file_name(shard)).string(), text.data(), text.size());
  }
  const std::vector<PairIndex> mine = shard_pairs(num_models, shard);

  SweepCounts counts;
  for (std::size_t k = 0; k < mine.size(); ++k) {
    const PairIndex& p = mine[k];
    const std::string file = (pairs_dir / pair_file_name(p)).string();
    const auto start = std::chrono::steady_clock::now();
    if (valid_result(file, plan, p)) {
      ++counts.skipped;
      if (progress) progress({static_cast<int>(k + 1), static_cast<int>(mine.size()), p, true, 0});
      continue;
    }
    if (fs::exists(file)) ++counts.redone;
    const auto ui = static_cast<std::size_t>(p.i), uj = static_cast<std::size_t>(p.j);
    AnalyzeReport r = analyze(p);
    r.a = plan.model_paths[ui];
    r.b = plan.model_paths[uj];
    r.data = plan.data;
    nlohmann::json j = nlohmann::json::parse(analyze_report_json(r));
    j["sweep"] = {{"i", p.i},
                  {"j", p.j},
                  {"fingerprints", {plan.fingerprints[ui], plan.fingerprints[uj]}},
                  {"data", plan.data},
                  {"options", plan.options},
                  {"shard", shard.index},
                  {"complete", true}};
    const std::string text = j.dump(1) + "\n";
    write_file_atomic(file, text.data(), text.size());
    ++counts.computed;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (progress) progress({static_cast<int>(k + 1), static_cast<int>(mine.size()), p, false, seconds});
  }
  return counts;
}

}  // namespace modeconn
