// modeconn hessian: the extremal eigenvalues and the trace of the training loss's Hessian at a model, or at
// points of the line between two (t given, or the train-loss barrier's peak beside both endpoints).
#include <chrono>
#include <cmath>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "cli/option_ranges.hpp"
#include "modeconn/barrier.hpp"
#include "modeconn/error.hpp"
#include "modeconn/hessian.hpp"
#include "modeconn/profile.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn::cli {
namespace {

// Relative residual under which Lanczos counts a Ritz value as converged.
constexpr double kLanczosTolerance = 1e-6;
constexpr int64_t kDefaultRows = 10000;

struct Settings {
  int top = 5, bottom = 5, probes = 20, max_steps = 200;
  uint64_t seed = 0;
};

HessianPoint measure(const Architecture& arch, const std::vector<float>& params, const Split& rows,
                     const Settings& s, const CommandLine& cl, const std::string& where) {
  MlpHessian h(arch, params, rows, rows.rows);
  const Operator op = [&](std::span<const double> v) { return h.apply(v); };
  const int64_t n = h.size();
  cl.say(where + ": Lanczos for " + std::to_string(s.top) + " top and " + std::to_string(s.bottom) +
         " bottom eigenvalues, then " + std::to_string(s.probes) + " Hutchinson probes");
  const LanczosResult l = lanczos_extremes(op, n, s.top, s.bottom, s.max_steps, kLanczosTolerance, s.seed);
  HessianPoint p;
  p.top = l.top;
  p.bottom = l.bottom;
  p.top_residual = l.top_residual;
  p.bottom_residual = l.bottom_residual;
  p.lanczos_steps = l.steps;
  p.converged = l.converged;
  p.trace = hutchinson_trace(op, n, s.probes, s.seed + 1);
  p.loss = h.loss();
  for (float v : params) p.param_norm2 += static_cast<double>(v) * v;
  p.rows = rows.rows;
  p.params = n;
  return p;
}

}  // namespace

int run_hessian(const Args& args) {
  CommandLine cl("hessian",
                 "modeconn hessian (--model M | --a A --b B (--t T ... | --at peak)) --data D [--rows 10000] "
                 "[--top 5] [--bottom 5] [--probes 20] [--json OUT]");
  cl.options().add_options()("model", po::value<std::string>(), "the model (safetensors)")(
      "a", po::value<std::string>(), "a path's start: the line from A (t = 0) to B (t = 1)")(
      "b", po::value<std::string>(), "a path's end")("t", po::value<std::vector<double>>()->multitoken(),
                                                     "points of the line, each in [0, 1] (repeatable)")(
      "at", po::value<std::string>(),
      "peak: the train-loss barrier's peak (its t_peak over --points), with both endpoints beside it")(
      "points", po::value<int>()->default_value(25), "--at peak: points the line is evaluated at to find it")(
      "data", po::value<std::string>()->required(), "data folder or builtin:fashion-mnist")(
      "rows", po::value<int64_t>()->default_value(kDefaultRows),
      "the first N training rows the loss is taken over (default 10000, or all if fewer)")(
      "top", po::value<int>()->default_value(5), "largest eigenvalues, 0 to the parameter count")(
      "bottom", po::value<int>()->default_value(5), "smallest eigenvalues, 0 to the parameter count")(
      "probes", po::value<int>()->default_value(20), "Hutchinson probes for the trace, 1 to 100000")(
      "max-steps", po::value<int>()->default_value(200), "Lanczos steps at most, 1 to 100000")(
      "seed", po::value<std::string>()->default_value("0"), "seed of Lanczos's start and of the probes")(
      "activation", po::value<std::string>()->default_value(""),
      "activation for files without modeconn metadata (default relu)")("json", po::value<std::string>(),
                                                                       "write the spectra as JSON");
  if (!cl.parse(args)) return 0;

  const bool path = cl.has("a") || cl.has("b");
  if (path && cl.has("model")) throw usage_error("give --model or --a --b, not both");
  if (!path && !cl.has("model")) throw usage_error("give --model M, or --a A --b B with --t or --at peak");
  if (path && !(cl.has("a") && cl.has("b"))) throw usage_error("a path needs --a and --b");
  if (!path && (cl.has("t") || cl.has("at"))) throw usage_error("--t and --at go with --a --b");
  if (path && cl.has("t") == cl.has("at")) throw usage_error("give --t T (one or more) or --at peak");
  if (cl.has("at") && cl.get<std::string>("at") != "peak")
    throw usage_error("--at takes peak, not '" + cl.get<std::string>("at") + "'");
  std::vector<double> ts = cl.has("t") ? cl.get<std::vector<double>>("t") : std::vector<double>{};
  for (double t : ts)
    if (!(t >= 0 && t <= 1)) throw usage_error("--t must be in [0, 1], not " + std::to_string(t));
  Settings s;
  s.top = cl.get<int>("top");
  s.bottom = cl.get<int>("bottom");
  s.probes = cl.get<int>("probes");
  s.max_steps = cl.get<int>("max-steps");
  s.seed = parse_seed(cl.get<std::string>("seed"), "--seed");
  if (s.top < 0 || s.bottom < 0 || s.top + s.bottom == 0)
    throw usage_error("--top and --bottom must be 0 or more, and not both 0");
  if (s.probes < 1 || s.probes > 100000) throw usage_error("--probes must be 1 to 100000");
  if (s.max_steps < 1 || s.max_steps > 100000) throw usage_error("--max-steps must be 1 to 100000");
  const int64_t rows = cl.get<int64_t>("rows");
  if (rows < 1) throw usage_error("--rows must be 1 or more");
  const int points = cl.get<int>("points");
  if (points < 3 || points > kMaxPathPoints)
    throw usage_error("--points must be 3 to " + std::to_string(kMaxPathPoints));

  const std::string activation = cl.get<std::string>("activation");
  const std::vector<std::string> files = path
                                             ? std::vector{cl.get<std::string>("a"), cl.get<std::string>("b")}
                                             : std::vector{cl.get<std::string>("model")};
  Outputs& outputs = cl.outputs();
  for (const auto& f : files) outputs.input(f);
  outputs.data_inputs(cl.get<std::string>("data"));
  const std::string json = cl.has("json") ? cl.get<std::string>("json") : "";
  outputs.output("--json", json);
  outputs.check();
  for (const auto& f : files)
    if (holds_graph_beyond_mlp(read_safetensors_metadata(f), f))
      throw input_error(f, "holds a layer graph beyond an MLP; the Hessian is computed for MLPs only so far");

  std::vector<Model> models;
  Dataset data;
  if (path) {
    Pair pair = load_pair(files[0], files[1], activation, cl.get<std::string>("data"));
    models = {std::move(pair.a), std::move(pair.b)};
    data = std::move(pair.data);
  } else {
    models.push_back(load_model(files[0], activation));
    data = load_dataset(cl.get<std::string>("data"));
    fit_model_to_data(models[0], files[0], data);
  }
  const Architecture& arch = models[0].arch;
  const int64_t n = static_cast<int64_t>(arch.num_params());
  if (s.top > n || s.bottom > n)
    throw usage_error("--top and --bottom must be at most the parameter count, " + std::to_string(n));
  const Split train = first_rows(data.train, rows);

  HessianReport report;
  report.data = data.source;
  report.architecture = describe(arch);
  report.device = "cpu";
  if (cl.common().device != "cpu" && cl.common().device != "auto")
    cl.say("hessian: Hessian-vector products run on the CPU backend (no CUDA kernel for them yet)");
  const auto start = std::chrono::steady_clock::now();
  if (!path) {
    report.model = files[0];
    report.points.push_back(measure(arch, models[0].params, train, s, cl, files[0]));
  } else {
    report.path = true;
    report.a = files[0];
    report.b = files[1];
    const Path line = linear_path(models[0], models[1]);
    if (cl.has("at")) {
      // The peak of the train loss over the same rows, then both endpoints beside it.
      report.at = "peak";
      auto backend = make_cpu_backend();
      const std::vector<double> grid = path_grid(points);
      const auto metrics = backend->evaluate(line, grid, train);
      std::vector<double> loss;
      for (const auto& m : metrics) loss.push_back(m.loss);
      const double peak = compute_barrier(grid, loss).t_peak;
      ts = {0.0, peak, 1.0};
    }
    for (double t : ts) {
      std::vector<float> params(arch.num_params());
      line.interpolate(line.coefficients(t), 0, params.size(), params.data());
      HessianPoint p = measure(arch, params, train, s, cl, "t = " + std::to_string(t));
      p.t = t;
      report.points.push_back(std::move(p));
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!json.empty()) outputs.stage(json, hessian_report_json(report));
  outputs.commit();
  std::cout << hessian_report_table(report);
  cl.summary("spectra at " + std::to_string(report.points.size()) + " point(s) over " +
             std::to_string(train.rows) + " rows");
  return 0;
}

}  // namespace modeconn::cli
