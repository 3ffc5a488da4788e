// Merging a sweep: the pair results into N×N matrices of every barrier, with the missing pairs listed.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "modeconn/error.hpp"
#include "modeconn/file_util.hpp"
#include "modeconn/sweep.hpp"

namespace modeconn {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const std::string& path) {
  const auto bytes = read_file(path);
  try {
    return nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    throw input_error(path, std::string("not valid JSON (") + e.what() + ")");
  }
}

constexpr const char* kSplits[] = {"test", "train"};
constexpr const char* kMetrics[] = {"loss", "error"};
constexpr const char* kDefinitions[] = {"gap", "mean", "midpoint"};

}  // namespace

MergeResult merge_sweep(const std::string& in_dir) {
  if (!fs::is_directory(in_dir)) throw input_error(in_dir, "sweep folder does not exist");
  nlohmann::json manifest;
  std::string manifest_path;
  for (const auto& e : fs::directory_iterator(in_dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("manifest-", 0) != 0 || e.path().extension() != ".json") continue;
    const nlohmann::json m = read_json(e.path().string());
    if (manifest.is_null()) {
      manifest = m;
      manifest_path = e.path().string();
    } else if (m.value("models", nlohmann::json()) != manifest["models"] || m.value("options", "") != manifest["options"] ||
               m.value("data", "") != manifest["data"]) {
      throw input_error(e.path().string(), "describes another sweep than " + manifest_path +
                                                " (models, data or options differ); use one folder per sweep");
    }
  }
  if (manifest.is_null()) throw input_error(in_dir, "holds no manifest-*.json: not a sweep folder (run modeconn sweep)");
  const auto models = manifest.at("models").get<std::vector<std::string>>();
  const auto fingerprints = manifest.at("fingerprints").get<std::vector<std::string>>();
  const int n = static_cast<int>(models.size());

  // matrices[path][split][metric][definition] = N×N, null where missing; the diagonal is 0.
  std::map<std::string, nlohmann::json> matrices;
  auto empty = nlohmann::json::array();
  for (int i = 0; i < n; ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (int j = 0; j < n; ++j) row.push_back(i == j ? nlohmann::json(0.0) : nlohmann::json());
    empty.push_back(row);
  }
  MergeResult result;
  result.num_models = n;
  std::ostringstream csv;
  csv << "path,split,metric,definition,i,j,value\n";
  for (const PairIndex& p : all_pairs(n)) {
    const std::string file = (fs::path(in_dir) / "pairs" / pair_file_name(p)).string();
    nlohmann::json r;
    bool ok = fs::exists(file);
    if (ok) {
      try {
        r = read_json(file);
        const auto& s = r.at("sweep");
        ok = s.at("complete").get<bool>() && s.at("options") == manifest["options"] &&
             s.at("fingerprints").get<std::vector<std::string>>() ==
                 std::vector<std::string>{fingerprints[static_cast<std::size_t>(p.i)], fingerprints[static_cast<std::size_t>(p.j)]};
      } catch (const std::exception&) {
        ok = false;  // partial or stale: as good as missing
      }
    }
    if (!ok) {
      result.missing.push_back(p);
      continue;
    }
    for (const auto& [path_name, path] : r.at("paths").items())
      for (const char* split : kSplits)
        for (const char* metric : kMetrics)
          for (const char* def : kDefinitions) {
            auto& m = matrices[path_name];
            if (m.is_null())
              for (const char* s2 : kSplits)
                for (const char* m2 : kMetrics)
                  for (const char* d2 : kDefinitions) m[s2][m2][d2] = empty;
            const double v = path.at("splits").at(split).at("barrier").at(metric).at(def).get<double>();
            m[split][metric][def][static_cast<std::size_t>(p.i)][static_cast<std::size_t>(p.j)] = v;
            m[split][metric][def][static_cast<std::size_t>(p.j)][static_cast<std::size_t>(p.i)] = v;
            char line[256];
            std::snprintf(line, sizeof line, "%s,%s,%s,%s,%d,%d,%.17g\n", path_name.c_str(), split, metric, def, p.i, p.j, v);
            csv << line;
          }
  }
  nlohmann::json out;
  out["models"] = models;
  out["data"] = manifest["data"];
  out["options"] = nlohmann::json::parse(manifest["options"].get<std::string>());
  out["pairs"] = n * (n - 1) / 2;
  nlohmann::json missing = nlohmann::json::array();
  for (const auto& p : result.missing) missing.push_back({p.i, p.j});
  out["missing"] = missing;
  out["matrices"] = nlohmann::json::object();
  for (const auto& [name, m] : matrices) out["matrices"][name] = m;
  result.json = out.dump(2) + "\n";
  result.csv = csv.str();
  return result;
}

}  // namespace modeconn
