// modeconn analyze: every answer for a pair of minima in one report.
#include <iostream>

#include "cli/analysis_run.hpp"
#include "cli/bn_options.hpp"
#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "cli/progress.hpp"
#include "modeconn/error.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn::cli {
namespace {

// Two layer graphs: the naive and the aligned line and a fitted curve, BatchNorm as --bn says.
int analyze_graphs(CommandLine& cl, const std::string& a_path, const std::string& b_path,
                   const AnalysisOutputs& outputs) {
  const GraphPair pair = load_graph_pair(a_path, b_path, cl.get<std::string>("data"));
  auto backend = cl.backend();
  const AnalyzeReport r =
      run_graph_analysis(cl, *backend, pair.a, pair.b, pair.data, a_path, b_path, outputs);
  cl.outputs().commit();
  std::cout << analyze_report_table(r);
  cl.summary(std::to_string(r.paths.size()) + " paths of " + std::to_string(r.ts.size()) +
             " points analysed, BatchNorm " + r.bn);
  return 0;
}

}  // namespace

int run_analyze(const Args& args) {
  CommandLine cl(
      "analyze",
      "modeconn analyze --a A --b B --data D [--json OUT] [--csv OUT] [--curve-out C] [--aligned-out B2]");
  cl.options().add_options()("a", po::value<std::string>()->required(), "first minimum (safetensors)")(
      "b", po::value<std::string>()->required(), "second minimum")(
      "data", po::value<std::string>()->required(), "data folder or builtin:fashion-mnist")(
      "json", po::value<std::string>(), "write the report as JSON (plot it with scripts/plot.py)")(
      "csv", po::value<std::string>(), "write every profile as CSV: path,split,t,loss,error")(
      "curve-out", po::value<std::string>(),
      "write the fitted curve (evaluate it with path --kind bezier --curve)")(
      "aligned-out", po::value<std::string>(), "write the aligned B")(
      "activation", po::value<std::string>()->default_value(""),
      "activation for files without modeconn metadata (default relu)");
  add_analysis_options(cl, "weight");
  add_bn_options(cl);
  if (!cl.parse(args)) return 0;

  const auto a_path = cl.get<std::string>("a"), b_path = cl.get<std::string>("b");
  AnalysisOutputs outputs;
  for (auto [option, target] : {std::pair{"json", &outputs.json},
                                {"csv", &outputs.csv},
                                {"curve-out", &outputs.curve},
                                {"aligned-out", &outputs.aligned}})
    if (cl.has(option)) *target = cl.get<std::string>(option);
  cl.outputs().input(a_path);
  cl.outputs().input(b_path);
  cl.outputs().data_inputs(cl.get<std::string>("data"));
  plan_analysis_outputs(cl, outputs);
  cl.outputs().check();
  if (graph_inputs(a_path, b_path)) return analyze_graphs(cl, a_path, b_path, outputs);
  const Pair pair = load_pair(a_path, b_path, cl.get<std::string>("activation"), cl.get<std::string>("data"));
  const Model& a = pair.a;
  const Model& b = pair.b;
  const Dataset& data = pair.data;
  auto backend = cl.backend();
  const AnalyzeReport report = run_analysis(cl, *backend, a, b, data, a_path, b_path, outputs);
  cl.outputs().commit();
  std::cout << analyze_report_table(report);
  cl.summary(std::to_string(report.paths.size()) + " paths of " + std::to_string(report.ts.size()) +
             " points analysed");
  return 0;
}

}  // namespace modeconn::cli
