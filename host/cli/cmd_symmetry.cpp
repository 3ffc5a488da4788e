// modeconn symmetry: the weight-space symmetries of one model, and with --b how much alignment removes.
#include <cstdio>
#include <iostream>

#include "cli/align_options.hpp"
#include "cli/bn_options.hpp"
#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "modeconn/error.hpp"
#include "modeconn/report.hpp"
#include "modeconn/symmetry.hpp"

namespace modeconn::cli {
namespace {

// A layer graph: one row per permutation group; with --b, B aligned over the groups and the linear path's
// barriers before and after, BatchNorm as --bn says.
int graph_symmetry(CommandLine& cl, const std::string& path, const std::string& b_path,
                   const std::string& json, AlignMethod method, const SymmetryOptions& options) {
  GraphModel model = load_graph_model(path);
  std::unique_ptr<Dataset> data;
  if (cl.has("data")) {
    data = std::make_unique<Dataset>(load_dataset(cl.get<std::string>("data")));
    fit_graph_to_data(model, path, *data);
  }
  const Split* split =
      data ? (cl.get<std::string>("split") == "train" ? &data->train : &data->test) : nullptr;
  auto backend = cl.backend();
  std::string device;
  auto runner = graph_runner(*backend, cl, &device);
  const SymmetryReport report = analyse_graph_symmetry(*runner, model, split, options);
  std::unique_ptr<PairSymmetry> pair;
  GraphAlignOutcome outcome;
  if (!b_path.empty()) {
    GraphModel b = load_graph_model(b_path);
    check_same_graph(model, path, b, b_path);
    fit_graph_to_data(b, b_path, *data);
    const BnOptions bn = read_bn_options(cl, model.graph, *data);
    outcome = align_graph_models(*runner, model, b, data.get(), method,
                                 read_align_options(cl, method, Activation::relu).matching);
    pair = std::make_unique<PairSymmetry>();
    pair->b = b_path;
    pair->method = method;
    pair->graph_alignment = &outcome;
    const std::vector<double> ts = path_grid(options.saddle_points);
    const auto profile = [&](const GraphModel& other) {
      return make_profile(split->name, ts,
                          evaluate_graph_path(*runner, linear_graph_path(model, other), ts, *split, bn));
    };
    pair->naive = profile(b);
    pair->aligned = profile(outcome.aligned);
  }
  if (!json.empty()) {
    cl.outputs().stage(json, symmetry_report_json(report, path, pair.get()));
    cl.outputs().commit();
  }
  std::cout << path << ": " << describe(model) << "\n" << symmetry_table(report);
  if (pair) {
    char line[256];
    std::cout << "\n" << b_path << " against " << path << ":\n" << graph_align_report_table(outcome, method);
    std::snprintf(line, sizeof line,
                  "  linear-path %s loss gap  %.5f naive -> %.5f aligned; error gap %.5f -> %.5f\n",
                  split->name.c_str(), pair->naive.loss_barrier.gap, pair->aligned.loss_barrier.gap,
                  pair->naive.error_barrier.gap, pair->aligned.error_barrier.gap);
    std::cout << line;
  }
  cl.summary(std::string("symmetry diagnostics of ") + std::to_string(report.layers.size()) +
             " permutation groups" + (data ? " on " + split->name : "") +
             (pair ? ", " + b_path + " aligned and compared" : ""));
  return 0;
}

}  // namespace

int run_symmetry(const Args& args) {
  CommandLine cl("symmetry", "modeconn symmetry --a A [--b B] [--data D] [--json OUT]");
  cl.options().add_options()("a", po::value<std::string>(), "the model to analyse (safetensors)")(
      "model", po::value<std::string>(), "the same as --a")(
      "b", po::value<std::string>(), "a second minimum: distances and barriers before and after aligning it")(
      "data", po::value<std::string>(), "data for dead units, the swap barriers and B's barriers")(
      "split", po::value<std::string>()->default_value("train"),
      "the split the diagnostics run on: train or test")("method",
                                                         po::value<std::string>()->default_value("weight"),
                                                         "how --b is aligned: weight or activation")(
      "duplicate-cosine", po::value<double>()->default_value(0.99, "0.99"),
      "units whose incoming weights have a larger cosine (0 to 1) are near-duplicates")(
      "points", po::value<int>()->default_value(25), "points along each path, 2 to 10001")(
      "json", po::value<std::string>(), "write the report as JSON")(
      "activation", po::value<std::string>()->default_value(""),
      "activation for files without modeconn metadata (default relu)");
  add_align_options(cl);
  add_bn_options(cl);
  if (!cl.parse(args)) return 0;

  // --a, as every other command names its (first) model; --model, as earlier versions did.
  if (cl.has("a") == cl.has("model"))
    throw usage_error("give the model to analyse as --a (or --model), once");
  const auto path = cl.get<std::string>(cl.has("a") ? "a" : "model");
  const std::string b_path = cl.has("b") ? cl.get<std::string>("b") : "";
  const std::string json = cl.has("json") ? cl.get<std::string>("json") : "";
  Outputs& outputs = cl.outputs();
  outputs.input(path);
  outputs.input(b_path);
  if (cl.has("data")) outputs.data_inputs(cl.get<std::string>("data"));
  outputs.output("--json", json);
  outputs.check();
  const std::string which = cl.get<std::string>("split");
  if (which != "train" && which != "test") throw usage_error("--split must be train or test");
  // Checked before the work: a refusal after the diagnostics would waste them.
  const AlignMethod method =
      with_option("--method", [&] { return parse_align_method(cl.get<std::string>("method")); });
  if (method == AlignMethod::none) throw usage_error("--method: weight or activation (--b is aligned)");
  if (!b_path.empty() && !cl.has("data")) throw usage_error("--b needs --data for the barriers");
  SymmetryOptions options;
  options.duplicate_cosine = cl.get<double>("duplicate-cosine");
  options.saddle_points = cl.get<int>("points");
  if (graph_inputs(path, b_path.empty() ? path : b_path))
    return graph_symmetry(cl, path, b_path, json, method, options);
  Model model = load_model(path, cl.get<std::string>("activation"));
  if (model.arch.layers.size() < 2)
    throw input_error(path, "has no hidden layer, so no hidden-unit symmetry");
  std::unique_ptr<Dataset> data;
  if (cl.has("data")) {
    data = std::make_unique<Dataset>(load_dataset(cl.get<std::string>("data")));
    fit_model_to_data(model, path, *data);
  }
  const Split* split = data ? (which == "train" ? &data->train : &data->test) : nullptr;
  auto backend = cl.backend();
  const SymmetryReport report = analyse_symmetry(*backend, model, split, options);

  std::unique_ptr<PairSymmetry> pair;
  AlignOutcome outcome;
  if (!b_path.empty()) {
    Model b = load_model(b_path, cl.get<std::string>("activation"));
    check_same_architecture(model, path, b, b_path);
    fit_model_to_data(b, b_path, *data);
    outcome =
        align_models(*backend, model, b, data.get(), read_align_options(cl, method, model.arch.activation));
    pair = std::make_unique<PairSymmetry>();
    pair->b = b_path;
    pair->method = method;
    pair->alignment = &outcome;
    const std::vector<double> ts = path_grid(options.saddle_points);
    const Split* const one[] = {split};
    pair->naive = profile_path(*backend, linear_path(model, b), ts, one).front();
    pair->aligned = profile_path(*backend, linear_path(outcome.a, outcome.aligned), ts, one).front();
  }

  if (!json.empty()) {
    outputs.stage(json, symmetry_report_json(report, path, pair.get()));
    outputs.commit();
  }
  std::cout << path << ": " << describe(model.arch) << "\n" << symmetry_table(report);
  if (pair) {
    char line[256];
    std::cout << "\n" << b_path << " against " << path << ":\n" << align_report_table(outcome, pair->method);
    std::snprintf(line, sizeof line,
                  "  linear-path %s loss gap  %.5f naive -> %.5f aligned; error gap %.5f -> %.5f\n",
                  split->name.c_str(), pair->naive.loss_barrier.gap, pair->aligned.loss_barrier.gap,
                  pair->naive.error_barrier.gap, pair->aligned.error_barrier.gap);
    std::cout << line;
  }
  cl.summary(std::string("symmetry diagnostics") + (data ? " on " + split->name : "") +
             (pair ? ", " + b_path + " aligned and compared" : ""));
  return 0;
}

}  // namespace modeconn::cli
