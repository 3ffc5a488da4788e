// modeconn merge: a sweep's pair results as N×N barrier matrices; the missing pairs listed, and exit 1 if any.
#include <iostream>

#include "cli/command_line.hpp"
#include "cli/commands.hpp"
#include "modeconn/file_util.hpp"
#include "modeconn/sweep.hpp"

namespace modeconn::cli {

int run_merge(const Args& args) {
  CommandLine cl("merge", "modeconn merge --in-dir DIR [--json OUT] [--csv OUT]");
  cl.options().add_options()
      ("in-dir", po::value<std::string>()->required(), "the sweep's --out-dir")
      ("json", po::value<std::string>(), "write the matrices as JSON (plot them with scripts/plot.py)")
      ("csv", po::value<std::string>(), "write path,split,metric,definition,i,j,value rows");
  if (!cl.parse(args)) return 0;
  const MergeResult r = merge_sweep(cl.get<std::string>("in-dir"));
  std::vector<std::unique_ptr<AtomicFile>> files;
  if (cl.has("json")) {
    files.push_back(std::make_unique<AtomicFile>(cl.get<std::string>("json")));
    files.back()->write(r.json);
  }
  if (cl.has("csv")) {
    files.push_back(std::make_unique<AtomicFile>(cl.get<std::string>("csv")));
    files.back()->write(r.csv);
  }
  for (auto& f : files) f->commit();
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
