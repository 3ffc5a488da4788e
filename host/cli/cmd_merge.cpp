// modeconn merge: a sweep's pair results as N×N barrier matrices; the missing pairs listed, and exit 1 if
// any.
#include <filesystem>
#include <iostream>

#include "cli/command_line.hpp"
#include "cli/commands.hpp"
#include "modeconn/sweep.hpp"

namespace modeconn::cli {

int run_merge(const Args& args) {
  CommandLine cl("merge", "modeconn merge --in-dir DIR [--json OUT] [--csv OUT]");
  cl.options().add_options()("in-dir", po::value<std::string>()->required(), "the sweep's --out-dir")(
      "json", po::value<std::string>(), "write the matrices as JSON (plot them with scripts/plot.py)")(
      "csv", po::value<std::string>(), "write path,split,metric,definition,i,j,value rows");
  if (!cl.parse(args)) return 0;
  const std::string in_dir = cl.get<std::string>("in-dir");
  const std::string json = cl.has("json") ? cl.get<std::string>("json") : "";
  const std::string csv = cl.has("csv") ? cl.get<std::string>("csv") : "";
  Outputs& outputs = cl.outputs();
  outputs.folder_inputs(in_dir);  // the manifests
  outputs.folder_inputs((std::filesystem::path(in_dir) / "pairs").string());
  outputs.output("--json", json);
  outputs.output("--csv", csv);
  outputs.check();
  const MergeResult r = merge_sweep(in_dir);
  if (!json.empty()) outputs.stage(json, r.json);
  if (!csv.empty()) outputs.stage(csv, r.csv);
  outputs.commit();
  const int pairs = r.num_models * (r.num_models - 1) / 2;
  std::cout << r.num_models << " models, " << pairs - static_cast<int>(r.missing.size()) << " of " << pairs
            << " pairs merged\n";
  if (r.missing.empty()) return 0;
  std::cerr << "modeconn merge: " << r.missing.size() << " pair(s) missing:";
  for (const auto& p : r.missing) std::cerr << " (" << p.i << "," << p.j << ")";
  std::cerr << "; rerun the sweep to finish them\n";
  return 1;
}

}  // namespace modeconn::cli
