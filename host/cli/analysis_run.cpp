// Running the analysis from the command line.
#include "cli/analysis_run.hpp"

#include <cstdio>

#include "cli/align_options.hpp"
#include "cli/bn_options.hpp"
#include "cli/inputs.hpp"
#include "cli/optimizer_options.hpp"
#include "cli/progress.hpp"
#include "modeconn/error.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn::cli {

void add_analysis_options(CommandLine& cl, const char* default_align) {
  cl.options().add_options()("points", po::value<int>()->default_value(25),
                             "points along each path, 2 to 10001 (t = 1/2 is always added)")(
      "align", po::value<std::string>()->default_value(default_align), "none, weight or activation")(
      "no-curve", po::bool_switch(), "skip fitting a curve")(
      "curve-kind", po::value<std::string>()->default_value("bezier"), "bezier or polychain")(
      "bends", po::value<int>()->default_value(1),
      "interior control points of the curve, 1 to 64 (1: quadratic Bézier)");
  add_align_options(cl);
  add_optimizer_options(cl, 10, "curve-");
}

AnalyzeOptions read_analysis_options(const CommandLine& cl, Activation activation) {
  AnalyzeOptions o;
  o.points = cl.get<int>("points");
  o.align = read_align_options(
      cl, with_option("--align", [&] { return parse_align_method(cl.get<std::string>("align")); }),
      activation);
  o.fit_curve = !cl.get<bool>("no-curve");
  o.curve_kind = with_option("--curve-kind", [&] {
    const PathKind kind = parse_path_kind(cl.get<std::string>("curve-kind"));
    if (kind == PathKind::linear && o.fit_curve)
      throw usage_error("a fitted curve is bezier or polychain, not linear");
    return kind;
  });
  o.bends = cl.get<int>("bends");
  o.curve_training = read_optimizer_options(cl, "curve-");
  if (o.fit_curve && o.curve_kind == PathKind::linear) throw usage_error("--curve-kind: bezier or polychain");
  path_grid(o.points);  // refuses a bad --points before any work
  return o;
}

void plan_analysis_outputs(CommandLine& cl, const AnalysisOutputs& files) {
  if (!files.curve.empty() && cl.get<bool>("no-curve"))
    throw usage_error("--curve-out with --no-curve: no curve is fitted to write");
  if (!files.aligned.empty() && with_option("--align", [&] {
                                  return parse_align_method(cl.get<std::string>("align"));
                                }) == AlignMethod::none)
    throw usage_error("--aligned-out with --align none: nothing is aligned to write");
  Outputs& outputs = cl.outputs();
  outputs.output("--json", files.json);
  outputs.output("--csv", files.csv);
  outputs.output("--curve-out", files.curve);
  outputs.output("--aligned-out", files.aligned);
}

AnalyzeReport run_analysis(CommandLine& cl, Backend& backend, const Model& a, const Model& b,
                           const Dataset& data, const std::string& a_name, const std::string& b_name,
                           const AnalysisOutputs& outputs) {
  const AnalyzeOptions o = read_analysis_options(cl, a.arch.activation);

  EpochProgress progress(!cl.common().quiet, "fitting the curve");
  AnalyzeReport r = analyze_pair(backend, a, b, data, o, [&](const EpochReport& e) { progress(e); });
  progress.finish();
  r.a = a_name;
  r.b = b_name;
  r.data = data.source;
  r.architecture = describe(a.arch);

  Outputs& files = cl.outputs();
  if (!outputs.json.empty()) files.stage(outputs.json, analyze_report_json(r));
  if (!outputs.csv.empty()) files.stage(outputs.csv, analyze_report_csv(r));
  if (o.fit_curve && !outputs.curve.empty())
    files.stage(outputs.curve, serialize_safetensors(curve_to_tensors(r.curve)));
  if (o.align.method != AlignMethod::none && !outputs.aligned.empty())
    files.stage(outputs.aligned, serialize_safetensors(model_to_tensors(r.alignment.aligned)));
  return r;
}

AnalyzeReport run_graph_analysis(CommandLine& cl, Backend& backend, const GraphModel& a, const GraphModel& b,
                                 const Dataset& data, const std::string& a_name, const std::string& b_name,
                                 const AnalysisOutputs& outputs) {
  const AnalyzeOptions options = read_analysis_options(cl, Activation::relu);
  const BnOptions bn = read_bn_options(cl, a.graph, data);
  std::string device;
  auto runner = graph_runner(backend, cl, &device);
  EpochProgress progress(!cl.common().quiet, "fitting the curve");
  AnalyzeReport r =
      analyze_graph_pair(*runner, a, b, data, options, bn, [&](const EpochReport& e) { progress(e); });
  progress.finish();
  r.a = a_name;
  r.b = b_name;
  r.data = data.source;
  r.architecture = describe(a);
  r.device = device;
  Outputs& files = cl.outputs();
  if (!outputs.json.empty()) files.stage(outputs.json, analyze_report_json(r));
  if (!outputs.csv.empty()) files.stage(outputs.csv, analyze_report_csv(r));
  if (r.align != AlignMethod::none && !outputs.aligned.empty())
    files.stage(outputs.aligned, serialize_safetensors(graph_model_to_tensors(r.graph_alignment.aligned)));
  if (options.fit_curve && !outputs.curve.empty())
    files.stage(outputs.curve, serialize_safetensors(graph_curve_to_tensors(r.graph_curve, a)));
  return r;
}

}  // namespace modeconn::cli
