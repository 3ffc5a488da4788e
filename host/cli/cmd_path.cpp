// modeconn path: loss and error along a path between two minima, with every barrier definition.
#include <chrono>
#include <iostream>

#include "cli/align_options.hpp"
#include "cli/bn_options.hpp"
#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "modeconn/error.hpp"
#include "modeconn/graph_align.hpp"
#include "modeconn/report.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn::cli {
namespace {

// A graph curve file from fit-curve, checked against the endpoints it must join.
GraphPath load_graph_curve(const std::string& curve_path, PathKind kind, const GraphPair& pair,
                           const std::string& a_path, const std::string& b_path) {
  GraphPath curve = graph_curve_from_tensors(read_safetensors(curve_path), curve_path, pair.a, a_path);
  if (curve.params.kind != kind)
    throw input_error(curve_path, "holds a " + std::string(path_kind_name(curve.params.kind)) +
                                      " curve, not " + std::string(path_kind_name(kind)));
  if (curve.params.points.front() != pair.a.params)
    throw input_error(curve_path, "its first control point is not " + a_path);
  if (curve.params.points.back() != pair.b.params)
    throw input_error(curve_path, "its last control point is not " + b_path);
  return curve;
}

// Two layer graphs: the line (aligned over the graph's permutation groups) or a fitted curve, BatchNorm as
// --bn says.
int run_graph_path(CommandLine& cl, PathKind kind, AlignMethod align, const std::vector<double>& ts,
                   const std::string& json, const std::string& csv) {
  const auto a_path = cl.get<std::string>("a"), b_path = cl.get<std::string>("b");
  const GraphPair pair = load_graph_pair(a_path, b_path, cl.get<std::string>("data"));
  const std::string curve_path = kind != PathKind::linear ? cl.get<std::string>("curve") : "";
  const GraphPath curve =
      kind != PathKind::linear ? load_graph_curve(curve_path, kind, pair, a_path, b_path) : GraphPath{};
  const auto splits = chosen_splits(pair.data, cl.get<std::string>("split"));
  const BnOptions bn = read_bn_options(cl, pair.a.graph, pair.data);
  auto backend = cl.backend();
  PathReport report;
  report.kind = kind;
  report.a = a_path;
  report.b = b_path;
  report.curve = curve_path;
  report.data = pair.data.source;
  report.architecture = describe(pair.a);
  auto runner = graph_runner(*backend, cl, &report.device);
  report.ts = ts;
  report.align = align;
  report.bn = std::string(bn_mode_name(bn.mode));
  report.bn_rows = bn.rows;
  report.bn_source = bn.split->x_source;
  GraphAlignOutcome outcome;
  if (align != AlignMethod::none) {
    const AlignOptions options = read_align_options(cl, align, Activation::relu);
    outcome = align_graph_models(*runner, pair.a, pair.b, &pair.data, align, options.matching);
    report.graph_alignment = &outcome;
  }
  const auto start = std::chrono::steady_clock::now();
  const auto profile = [&](const GraphModel& b) {
    const GraphPath path = kind != PathKind::linear ? curve : linear_graph_path(pair.a, b);
    const GraphPoints points = graph_points(*runner, path, ts, bn);
    std::vector<SplitProfile> out;
    for (const Split* s : splits) out.push_back(make_profile(s->name, ts, runner->metrics(points, *s)));
    return out;
  };
  report.splits = profile(report.graph_alignment ? outcome.aligned : pair.b);
  if (report.graph_alignment) report.naive_splits = profile(pair.b);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  Outputs& outputs = cl.outputs();
  if (!json.empty()) outputs.stage(json, path_report_json(report));
  if (!csv.empty()) outputs.stage(csv, path_report_csv(report));
  outputs.commit();
  std::cout << path_report_table(report);
  cl.summary(std::to_string(ts.size()) + " points of the " + std::string(path_kind_name(kind)) +
             " path between layer graphs on " + std::to_string(splits.size()) + " split(s), BatchNorm " +
             report.bn + (report.graph_alignment ? ", aligned and naive" : ""));
  return 0;
}

}  // namespace

int run_path(const Args& args) {
  CommandLine cl(
      "path",
      "modeconn path --a A --b B --data D [--kind linear|bezier|polychain --curve C] [--points 25] "
      "[--split test|train|both] [--json OUT] [--csv OUT]");
  cl.options().add_options()("a", po::value<std::string>()->required(), "first minimum (safetensors)")(
      "b", po::value<std::string>()->required(), "second minimum (safetensors)")(
      "data", po::value<std::string>()->required(), "data folder or builtin:fashion-mnist")(
      "kind", po::value<std::string>()->default_value("linear"), "linear, bezier or polychain")(
      "curve", po::value<std::string>(), "curve file for bezier and polychain (from fit-curve)")(
      "points", po::value<int>()->default_value(25),
      "points along the path, endpoints included: 2 to 10001 (t = 1/2 is always added)")(
      "split", po::value<std::string>()->default_value("both"), "test, train or both")(
      "activation", po::value<std::string>()->default_value(""),
      "activation for files without modeconn metadata (default relu)")(
      "json", po::value<std::string>(), "write the profile and barriers as JSON")(
      "csv", po::value<std::string>(), "write the profile as CSV")(
      "align", po::value<std::string>()->default_value("weight"),
      "linear paths: align B onto A first (weight or activation, as analyze and sweep do) and report the "
      "naive "
      "path beside the aligned one; none evaluates the line from A to B as given");
  add_align_options(cl);
  add_bn_options(cl);
  if (!cl.parse(args)) return 0;

  const auto a_path = cl.get<std::string>("a"), b_path = cl.get<std::string>("b");
  const auto activation = cl.get<std::string>("activation");
  const PathKind kind = with_option("--kind", [&] { return parse_path_kind(cl.get<std::string>("kind")); });
  const std::string curve_path = cl.has("curve") ? cl.get<std::string>("curve") : "";
  if (kind != PathKind::linear && curve_path.empty())
    throw usage_error("--kind " + cl.get<std::string>("kind") + " needs --curve");
  if (kind == PathKind::linear && !curve_path.empty())
    throw usage_error("--curve goes with --kind bezier or polychain");
  // A curve file fixes its own endpoints: alignment is for the line only, and asking for it with a curve is a
  // mistake.
  if (cl.has("align") && kind != PathKind::linear && cl.get<std::string>("align") != "none")
    throw usage_error("--align goes with --kind linear (a curve file fixes its own endpoints)");
  const AlignMethod align =
      kind == PathKind::linear
          ? with_option("--align", [&] { return parse_align_method(cl.get<std::string>("align")); })
          : AlignMethod::none;
  const std::vector<double> ts = path_grid(cl.get<int>("points"));
  Outputs& outputs = cl.outputs();
  for (const auto& in : {a_path, b_path, curve_path}) outputs.input(in);
  outputs.data_inputs(cl.get<std::string>("data"));
  const std::string json = cl.has("json") ? cl.get<std::string>("json") : "";
  const std::string csv = cl.has("csv") ? cl.get<std::string>("csv") : "";
  outputs.output("--json", json);
  outputs.output("--csv", csv);
  outputs.check();
  if (graph_inputs(a_path, b_path)) return run_graph_path(cl, kind, align, ts, json, csv);

  const Pair pair = load_pair(a_path, b_path, activation, cl.get<std::string>("data"));
  const Model& a = pair.a;
  const Model& b = pair.b;
  const Dataset& data = pair.data;
  const auto splits = chosen_splits(data, cl.get<std::string>("split"));

  Path path = linear_path(a, b);
  if (kind != PathKind::linear) {
    path = load_curve(curve_path, activation);
    if (path.kind != kind)
      throw input_error(curve_path, "holds a " + std::string(path_kind_name(kind)) + " curve, not " +
                                        std::string(path_kind_name(kind)));
    if (!path.arch.same_shape(a.arch))
      throw input_error(curve_path, "architecture " + path.arch.widths() + " differs from " + a_path + " (" +
                                        a.arch.widths() + ")");
    if (path.arch.activation != a.arch.activation)
      throw input_error(curve_path, "activation " + std::string(activation_name(path.arch.activation)) +
                                        " differs from " + a_path + " (" +
                                        std::string(activation_name(a.arch.activation)) + ")");
    path.arch = a.arch;
    if (path.points.front() != a.params)
      throw input_error(curve_path, "its first control point is not " + a_path);
    if (path.points.back() != b.params)
      throw input_error(curve_path, "its last control point is not " + b_path);
  }

  auto backend = cl.backend();
  PathReport report;
  report.kind = kind;
  report.a = a_path;
  report.b = b_path;
  report.curve = curve_path;
  report.data = data.source;
  report.architecture = describe(a.arch);
  report.device = backend->name();
  report.ts = ts;
  report.align = align;
  AlignOutcome outcome;
  if (align != AlignMethod::none) {
    outcome = align_models(*backend, a, b, &data, read_align_options(cl, align, a.arch.activation));
    report.alignment = &outcome;
  }
  const auto start = std::chrono::steady_clock::now();
  const Path aligned_path = report.alignment ? linear_path(outcome.a, outcome.aligned) : path;
  report.splits = profile_path(*backend, aligned_path, ts, splits);
  if (report.alignment) report.naive_splits = profile_path(*backend, path, ts, splits);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!json.empty()) outputs.stage(json, path_report_json(report));
  if (!csv.empty()) outputs.stage(csv, path_report_csv(report));
  outputs.commit();
  std::cout << path_report_table(report);
  cl.summary(std::to_string(ts.size()) + " points of the " + std::string(path_kind_name(kind)) + " path on " +
             std::to_string(splits.size()) + " split(s)" + (report.alignment ? ", aligned and naive" : ""));
  return 0;
}

}  // namespace modeconn::cli
