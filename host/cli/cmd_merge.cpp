// modeconn merge: a sweep's pair results as N×N barrier matrices; the missing pairs listed, and exit 1 if
// any.
#include <filesystem>
#include <iostream>

#include "cli/command_line.hpp"
#include "cli/commands.hpp"
#include "modeconn/error.hpp"
#include "modeconn/file_util.hpp"
#include "modeconn/sweep.hpp"

namespace modeconn::cli {
namespace {

namespace fs = std::filesystem;

// An output where a sweep's own files go (a manifest-*.json of the folder, anything in its pairs/) would be
// read as one by the next merge or resume.
void refuse_inside_sweep(const std::string& in_dir, const std::string& option, const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  const fs::path dir = fs::weakly_canonical(fs::absolute(in_dir, ec), ec);
  const fs::path out = fs::weakly_canonical(fs::absolute(resolve_links(path), ec), ec);
  const std::string name = out.filename().string();
  if ((out.parent_path() == dir && name.rfind("manifest-", 0) == 0) || out.parent_path() == dir / "pairs")
    throw usage_error(option + " " + path + " is where the sweep in " + in_dir +
                      " keeps its own files; write it elsewhere");
}

}  // namespace

int run_merge(const Args& args) {
  CommandLine cl("merge", "modeconn merge --in-dir DIR [--json OUT] [--csv OUT]");
  cl.options().add_options()("in-dir", po::value<std::string>()->required(), "the sweep's --out-dir")(
      "json", po::value<std::string>(), "write the matrices as JSON (plot them with scripts/plot.py)")(
      "csv", po::value<std::string>(), "write path,split,metric,definition,i,j,value rows");
  if (!cl.parse(args)) return 0;
  const std::string in_dir = cl.get<std::string>("in-dir");
  const std::string json = cl.has("json") ? cl.get<std::string>("json") : "";
  const std::string csv = cl.has("csv") ? cl.get<std::string>("csv") : "";
  refuse_inside_sweep(in_dir, "--json", json);
  refuse_inside_sweep(in_dir, "--csv", csv);
  Outputs& outputs = cl.outputs();
  outputs.folder_inputs(in_dir);  // the manifests
  outputs.folder_inputs((std::filesystem::path(in_dir) / "pairs").string());
  // Read first (it writes nothing): the models the manifests name are the user's too, and no output may
  // replace one.
  const MergeResult r = merge_sweep(in_dir);
  for (const auto& m : r.models) outputs.input(m);
  outputs.output("--json", json);
  outputs.output("--csv", csv);
  outputs.check();
  if (!json.empty()) outputs.stage(json, r.json);
  if (!csv.empty()) outputs.stage(csv, r.csv);
  outputs.commit();
  const int pairs = r.num_models * (r.num_models - 1) / 2;
  std::cout << r.num_models << " models, " << pairs - static_cast<int>(r.missing.size()) << " of " << pairs
            << " pairs merged\n";
  cl.summary(std::to_string(pairs - static_cast<int>(r.missing.size())) + " of " + std::to_string(pairs) +
             " pairs merged");
  if (r.missing.empty()) return 0;
  std::cerr << "modeconn merge: " << r.missing.size() << " pair(s) missing:";
  for (const auto& p : r.missing) std::cerr << " (" << p.i << "," << p.j << ")";
  std::cerr << "; rerun the sweep to finish them\n";
  return 1;
}

}  // namespace modeconn::cli
