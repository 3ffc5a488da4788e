// modeconn sweep: all pairs of N models, or this shard's share of them, each analysed into its own file.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/analysis_run.hpp"
#include "cli/bn_options.hpp"
#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "cli/progress.hpp"
#include "modeconn/error.hpp"
#include "modeconn/sweep.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn::cli {
namespace {

namespace fs = std::filesystem;

// Every file this shard may write checked against the models and the data, before anything is made: the
// folders are created only when the work starts, so a refused sweep leaves nothing behind. Files in a folder
// that does not exist yet cannot be inputs; the nearest folder that does must take new files.
void plan_sweep_outputs(Outputs& outputs, const std::vector<std::string>& models, const std::string& data,
                        const std::string& out_dir, const Shard& shard) {
  if (out_dir.empty()) throw usage_error("--out-dir: empty");
  const fs::path pairs = fs::path(out_dir) / "pairs";
  std::error_code ec;
  for (const fs::path& folder : {fs::path(out_dir), pairs}) {
    // A link in a loop or a name too long fails only here, not "does not exist yet".
    const fs::file_status st = fs::status(folder, ec);
    if (ec && ec != std::errc::no_such_file_or_directory)
      throw input_error(folder.string(), "cannot be the sweep's folder: " + ec.message());
    if (fs::exists(st) && !fs::is_directory(st))
      throw input_error(folder.string(), "is a file, but the sweep needs a folder there");
  }
  fs::path existing = fs::absolute(out_dir, ec);
  while (!fs::exists(existing, ec) && existing.has_relative_path()) existing = existing.parent_path();
  if (!fs::is_directory(existing, ec))
    throw input_error(out_dir, "cannot make the sweep's folder: " + existing.string() + " is not a folder");
  if (::access(existing.c_str(), W_OK | X_OK) != 0)
    throw input_error(out_dir, "cannot make the sweep's folder: " + existing.string() + " is not writable");
  for (const auto& m : models) outputs.input(m);
  outputs.data_inputs(data);
  if (fs::is_directory(out_dir, ec))
    outputs.output("--out-dir", (fs::path(out_dir) / manifest_file_name(shard)).string());
  if (fs::is_directory(pairs, ec))
    for (const PairIndex& p : shard_pairs(static_cast<int>(models.size()), shard)) {
      const fs::path file = pairs / pair_file_name(p);
      // A pipe or device where a result belongs would be written in place and block or vanish.
      if (fs::exists(file, ec) && !fs::is_regular_file(file, ec))
        throw input_error(file.string(), "is not a regular file; a sweep's results are files (remove it)");
      outputs.output("--out-dir", file.string());
    }
  outputs.check();
}

}  // namespace

int run_sweep(const Args& args) {
  CommandLine cl("sweep",
                 "modeconn sweep --models M... --data D --out-dir DIR [--shard I/N] [analyze options]");
  cl.options().add_options()("models", po::value<std::vector<std::string>>()->multitoken()->required(),
                             "the minima (safetensors), at least two")(
      "data", po::value<std::string>()->required(), "data folder or builtin:fashion-mnist")(
      "out-dir", po::value<std::string>()->required(),
      "where the per-pair results and the shard manifests go")(
      "shard", po::value<std::string>()->default_value("0/1"),
      "I/N: run the pairs p with p mod N = I (0 <= I < N)")(
      "activation", po::value<std::string>()->default_value(""),
      "activation for files without modeconn metadata (default relu)");
  add_analysis_options(cl, "weight");
  add_bn_options(cl);
  if (!cl.parse(args)) return 0;

  const auto paths = cl.get<std::vector<std::string>>("models");
  if (paths.size() < 2) throw usage_error("--models needs at least two models");
  const Shard shard = with_option("--shard", [&] { return parse_shard(cl.get<std::string>("shard")); });
  const std::string out_dir = cl.get<std::string>("out-dir");
  if (paths.size() > kMaxSweepModels)
    throw usage_error("--models: " + std::to_string(paths.size()) + " models; a sweep takes at most " +
                      std::to_string(kMaxSweepModels));
  plan_sweep_outputs(cl.outputs(), paths, cl.get<std::string>("data"), out_dir, shard);
  // The data set is loaded once per process, and every model once.
  const Dataset data = load_dataset(cl.get<std::string>("data"));
  const bool graphs = holds_graph_beyond_mlp(read_safetensors_metadata(paths.front()), paths.front());
  std::vector<Model> models;
  std::vector<GraphModel> graph_models;
  SweepPlan plan;
  for (const auto& p : paths) {
    if (graphs) {
      graph_models.push_back(load_graph_model(p));
      GraphModel& m = graph_models.back();
      if (graph_models.size() > 1) check_same_graph(graph_models.front(), paths.front(), m, p);
      fit_graph_to_data(m, p, data);
    } else {
      models.push_back(load_model(p, cl.get<std::string>("activation")));
      if (models.size() > 1) check_same_architecture(models.front(), paths.front(), models.back(), p);
      fit_model_to_data(models.back(), p, data);
    }
    plan.model_paths.push_back(p);
    plan.fingerprints.push_back(file_fingerprint(p));
  }
  AnalyzeOptions options =
      read_analysis_options(cl, graphs ? Activation::relu : models.front().arch.activation);
  plan.data = data.source;
  BnOptions bn;
  if (graphs) {
    // Layer graphs: the naive and aligned lines only (a CNN curve per pair is minutes of training each;
    // analyze fits one for a pair), and the BatchNorm handling is part of what a result means.
    options.fit_curve = false;
    bn = read_bn_options(cl, graph_models.front().graph, data);
    nlohmann::json j = nlohmann::json::parse(options_fingerprint(options));
    j["bn"] = std::string(bn_mode_name(bn.mode));
    j["bn_rows"] = bn.rows;
    plan.options = j.dump();
  } else {
    plan.options = options_fingerprint(options);
  }

  auto backend = cl.backend();
  std::string device;
  std::unique_ptr<GraphRunner> runner = graphs ? graph_runner(*backend, cl, &device) : nullptr;
  const auto analyze = [&](const PairIndex& p) {
    const auto i = static_cast<std::size_t>(p.i), j = static_cast<std::size_t>(p.j);
    if (!graphs) return analyze_pair(*backend, models[i], models[j], data, options, nullptr);
    AnalyzeReport r =
        analyze_graph_pair(*runner, graph_models[i], graph_models[j], data, options, bn, nullptr);
    r.architecture = describe(graph_models[i]);
    r.device = device;
    return r;
  };
  const int total_pairs = static_cast<int>(paths.size() * (paths.size() - 1) / 2);
  cl.say("sweep shard " + std::to_string(shard.index) + "/" + std::to_string(shard.count) + ": " +
         std::to_string(paths.size()) + " models, " + std::to_string(total_pairs) + " pairs in all");
  const SweepCounts counts = modeconn::run_sweep_pairs(
      static_cast<int>(paths.size()), analyze, plan, out_dir, shard, [&](const SweepProgress& p) {
        char line[256];
        std::snprintf(line, sizeof line, "pair %d/%d of this shard: models %d and %d %s", p.done, p.total,
                      p.pair.i, p.pair.j, p.skipped ? "skipped (a valid result exists)" : "done");
        std::string text = line;
        if (!p.skipped) {
          std::snprintf(line, sizeof line, " in %.1f s", p.seconds);
          text += line;
        }
        cl.say(text);
      });
  std::cout << "shard " << shard.index << "/" << shard.count << ": " << counts.computed << " computed ("
            << counts.redone << " of them redone), " << counts.skipped << " skipped; results in " << out_dir
            << "/pairs\n";
  cl.summary(std::to_string(counts.computed) + " pair(s) computed, " + std::to_string(counts.skipped) +
             " skipped; results in " + out_dir + "/pairs");
  return 0;
}

}  // namespace modeconn::cli
