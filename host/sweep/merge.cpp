// Merging a sweep: the pair results into N×N matrices of every barrier, with the missing pairs listed. Every
// manifest and result is checked key by key: a malformed one is an input error naming the file and the key.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "modeconn/error.hpp"
#include "modeconn/file_util.hpp"
#include "modeconn/json_read.hpp"
#include "modeconn/sweep.hpp"
#include "report/csv.hpp"

namespace modeconn {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr const char* kSplits[] = {"test", "train"};
constexpr const char* kMetrics[] = {"loss", "error"};
constexpr const char* kDefinitions[] = {"gap", "mean", "midpoint"};

Json read_json(const std::string& path) {
  const auto bytes = read_file(path, kMaxTextFileBytes);
  return parse_json_input({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, path, "the file");
}

// j[key], which must be there and of the kind `is` checks; `where` is the key's path for messages.
const Json& member(const Json& j, const std::string& key, bool (Json::*is)() const noexcept, const char* kind,
                   const std::string& where, const std::string& file) {
  if (!j.is_object()) throw input_error(file, "'" + where + "' is not an object");
  const auto it = j.find(key);
  if (it == j.end())
    throw input_error(file, "key '" + (where.empty() ? key : where + "." + key) + "' is missing");
  if (!((*it).*is)())
    throw input_error(file, "key '" + (where.empty() ? key : where + "." + key) + "' is not " + kind);
  return *it;
}

std::vector<std::string> strings(const Json& a, const std::string& key, const std::string& file) {
  std::vector<std::string> out;
  for (const auto& v : a) {
    if (!v.is_string()) throw input_error(file, "key '" + key + "' holds something other than strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

struct Manifest {
  std::vector<std::string> models, fingerprints;
  std::string data, options;
};

Manifest parse_manifest(const Json& j, const std::string& file) {
  if (!j.is_object())
    throw input_error(file, "a manifest is a JSON object, not " + std::string(j.type_name()));
  Manifest m;
  m.models = strings(member(j, "models", &Json::is_array, "an array", "", file), "models", file);
  m.fingerprints =
      strings(member(j, "fingerprints", &Json::is_array, "an array", "", file), "fingerprints", file);
  m.data = member(j, "data", &Json::is_string, "a string", "", file).get<std::string>();
  m.options = member(j, "options", &Json::is_string, "a string", "", file).get<std::string>();
  member(j, "shards", &Json::is_number_unsigned, "a count of shards", "", file);
  if (m.models.size() < 2) throw input_error(file, "key 'models' lists fewer than two models");
  if (m.models.size() > kMaxSweepModels)
    throw input_error(file, "key 'models' lists " + std::to_string(m.models.size()) +
                                " models; a sweep has at most " + std::to_string(kMaxSweepModels));
  if (m.fingerprints.size() != m.models.size())
    throw input_error(file, "key 'fingerprints' has " + std::to_string(m.fingerprints.size()) +
                                " entries for " + std::to_string(m.models.size()) + " models");
  if (!parse_json_input(m.options, file, "key 'options'").is_object())
    throw input_error(file, "key 'options' does not hold a JSON object");
  return m;
}

// A result that belongs to this sweep: complete, for these models and options. Stale or incomplete ones (an
// older sweep's, a run still writing) count as missing; malformed ones are errors.
bool current_result(const Json& r, const Manifest& m, const PairIndex& p, const std::string& file) {
  if (!r.is_object())
    throw input_error(file, "a pair result is a JSON object, not " + std::string(r.type_name()));
  const Json& s = member(r, "sweep", &Json::is_object, "an object", "", file);
  const bool complete = member(s, "complete", &Json::is_boolean, "true or false", "sweep", file).get<bool>();
  const auto fps = strings(member(s, "fingerprints", &Json::is_array, "an array", "sweep", file),
                           "sweep.fingerprints", file);
  const std::string options =
      member(s, "options", &Json::is_string, "a string", "sweep", file).get<std::string>();
  // As 64-bit numbers: an int would take 4294967296 for 0.
  const int64_t i = member(s, "i", &Json::is_number_integer, "an index", "sweep", file).get<int64_t>();
  const int64_t j = member(s, "j", &Json::is_number_integer, "an index", "sweep", file).get<int64_t>();
  if (i != p.i || j != p.j)
    throw input_error(file, "its sweep.i and sweep.j (" + std::to_string(i) + ", " + std::to_string(j) +
                                ") are not the pair its name says");
  return complete && options == m.options &&
         fps == std::vector<std::string>{m.fingerprints[static_cast<std::size_t>(p.i)],
                                         m.fingerprints[static_cast<std::size_t>(p.j)]};
}

// The pair a results file is named for, or false for a file that is not one.
bool pair_of(const std::string& name, PairIndex* p) {
  int i = 0, j = 0;
  char tail[8] = {};
  if (std::sscanf(name.c_str(), "pair-%4d-%4d%7s", &i, &j, tail) != 3 || std::string(tail) != ".json")
    return false;
  *p = {i, j};
  return pair_file_name(*p) == name;
}

}  // namespace

MergeResult merge_sweep(const std::string& in_dir) {
  std::error_code dir_ec;
  if (!fs::is_directory(in_dir, dir_ec)) throw input_error(in_dir, "sweep folder does not exist");
  Manifest manifest;
  std::string manifest_path;
  std::vector<std::string> manifest_files;
  for (const auto& e : fs::directory_iterator(in_dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("manifest-", 0) == 0 && e.path().extension() == ".json")
      manifest_files.push_back(e.path().string());
  }
  std::sort(manifest_files.begin(), manifest_files.end());
  for (const auto& file : manifest_files) {
    const Manifest m = parse_manifest(read_json(file), file);
    if (manifest_path.empty()) {
      manifest = m;
      manifest_path = file;
    } else if (m.models != manifest.models || m.fingerprints != manifest.fingerprints ||
               m.options != manifest.options || m.data != manifest.data) {
      throw input_error(file, "describes another sweep than " + manifest_path +
                                  " (models, data or options differ); use one folder per sweep");
    }
  }
  if (manifest_path.empty())
    throw input_error(in_dir, "holds no manifest-*.json: not a sweep folder (run modeconn sweep)");
  const int n = static_cast<int>(manifest.models.size());

  // The results there are, found by listing the folder (not by looking for each of N(N-1)/2 names).
  std::map<std::pair<int, int>, std::string> found;
  const fs::path pairs_dir = fs::path(in_dir) / "pairs";
  std::error_code ec;
  if (fs::exists(pairs_dir, ec) && !fs::is_directory(pairs_dir, ec))
    throw input_error(pairs_dir.string(), "is a file, but a sweep keeps its results in a folder there");
  for (fs::directory_iterator it(pairs_dir, ec), end; !ec && it != end; it.increment(ec)) {
    PairIndex p;
    if (pair_of(it->path().filename().string(), &p) && p.i >= 0 && p.i < p.j && p.j < n)
      found[{p.i, p.j}] = it->path().string();
  }

  // matrices[path][split][metric][definition] = N×N, null where missing; the diagonal is 0.
  std::map<std::string, Json> matrices;
  Json empty = Json::array();
  for (int i = 0; i < n; ++i) {
    Json row = Json::array();
    for (int j = 0; j < n; ++j) row.push_back(i == j ? Json(0.0) : Json());
    empty.push_back(row);
  }
  MergeResult result;
  result.num_models = n;
  std::ostringstream csv;
  csv << "path,split,metric,definition,i,j,value\n";
  for (const PairIndex& p : all_pairs(n)) {
    const auto f = found.find({p.i, p.j});
    if (f == found.end()) {
      result.missing.push_back(p);
      continue;
    }
    const std::string& file = f->second;
    const Json r = read_json(file);
    if (!current_result(r, manifest, p, file)) {
      result.missing.push_back(p);
      continue;
    }
    const Json& paths = member(r, "paths", &Json::is_object, "an object", "", file);
    if (paths.empty()) throw input_error(file, "key 'paths' holds no path");
    if (paths.size() > kMaxSweepPaths)
      throw input_error(file, "key 'paths' holds " + std::to_string(paths.size()) +
                                  " paths; a result has at most " + std::to_string(kMaxSweepPaths));
    for (const auto& [name, path] : paths.items()) {
      const std::string at = "paths." + name;
      const Json& splits = member(path, "splits", &Json::is_object, "an object", at, file);
      if (!matrices.count(name) && matrices.size() == kMaxSweepPaths)
        throw input_error(file, "names a path ('" + name + "') beyond the " + std::to_string(kMaxSweepPaths) +
                                    " the sweep's other results hold");
      auto& m = matrices[name];
      if (m.is_null())
        for (const char* s : kSplits)
          for (const char* k : kMetrics)
            for (const char* d : kDefinitions) m[s][k][d] = empty;
      for (const char* split : kSplits) {
        const std::string at_split = at + ".splits." + split;
        const Json& barrier =
            member(member(splits, split, &Json::is_object, "an object", at + ".splits", file), "barrier",
                   &Json::is_object, "an object", at_split, file);
        for (const char* metric : kMetrics) {
          const std::string at_metric = at_split + ".barrier." + metric;
          const Json& definitions =
              member(barrier, metric, &Json::is_object, "an object", at_split + ".barrier", file);
          for (const char* def : kDefinitions) {
            const auto it = definitions.find(def);
            if (it == definitions.end())
              throw input_error(file, "key '" + at_metric + "." + def + "' is missing");
            const double v = json_number(*it, file, at_metric + "." + def);
            auto& cell = m[split][metric][def];
            cell[static_cast<std::size_t>(p.i)][static_cast<std::size_t>(p.j)] = number_json(v);
            cell[static_cast<std::size_t>(p.j)][static_cast<std::size_t>(p.i)] = number_json(v);
            char line[96];
            std::snprintf(line, sizeof line, ",%d,%d,%.17g\n", p.i, p.j, v);
            csv << csv_field(name) << ',' << split << ',' << metric << ',' << def << line;
          }
        }
      }
    }
  }
  Json out;
  out["models"] = manifest.models;
  result.models = manifest.models;
  out["data"] = manifest.data;
  out["options"] = parse_json_input(manifest.options, manifest_path, "key 'options'");
  out["pairs"] = n * (n - 1) / 2;
  Json missing = Json::array();
  for (const auto& p : result.missing) missing.push_back({p.i, p.j});
  out["missing"] = missing;
  out["matrices"] = Json::object();
  for (const auto& [name, m] : matrices) out["matrices"][name] = m;
  result.json = out.dump(2) + "\n";
  result.csv = csv.str();
  return result;
}

}  // namespace modeconn
