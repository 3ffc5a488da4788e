// The analysis of a pair of minima: naive line, alignment, aligned line, and a fitted curve.
#include "modeconn/analyze.hpp"

#include <chrono>

#include "modeconn/error.hpp"
#include "modeconn/graph_train.hpp"

namespace modeconn {
namespace {

PathProfile profile(Backend& backend, const Path& path, const std::vector<double>& ts, const Dataset& data,
                    std::string name, std::string label) {
  const Split* const splits[] = {&data.test, &data.train};
  return {std::move(name), std::move(label), path.kind, profile_path(backend, path, ts, splits)};
}

PathProfile graph_profile(GraphRunner& runner, const GraphPath& path, const std::vector<double>& ts,
                          const Dataset& data, const BnOptions& bn, std::string name, std::string label) {
  const GraphPoints points = graph_points(runner, path, ts, bn);
  PathProfile p{std::move(name), std::move(label), path.params.kind, {}};
  for (const Split* s : {&data.test, &data.train})
    p.splits.push_back(make_profile(s->name, ts, runner.metrics(points, *s)));
  return p;
}

}  // namespace

AnalyzeReport analyze_graph_pair(GraphRunner& runner, const GraphModel& a, const GraphModel& b,
                                 const Dataset& data, const AnalyzeOptions& options, const BnOptions& bn,
                                 const std::function<void(const EpochReport&)>& curve_progress) {
  const auto start = std::chrono::steady_clock::now();
  AnalyzeReport r;
  r.graph = true;
  r.bn = std::string(bn_mode_name(bn.mode));
  r.bn_rows = bn.rows;
  r.ts = path_grid(options.points);
  r.align = options.align.method;
  r.paths.push_back(
      graph_profile(runner, linear_graph_path(a, b), r.ts, data, bn, "linear", "linear (naive)"));
  const GraphModel* b_end = &b;
  if (r.align != AlignMethod::none) {
    r.graph_alignment = align_graph_models(runner, a, b, &data, r.align, options.align.matching);
    b_end = &r.graph_alignment.aligned;
    r.paths.push_back(graph_profile(runner, linear_graph_path(a, *b_end), r.ts, data, bn, "linear_aligned",
                                    "linear (aligned)"));
  }
  if (options.fit_curve) {
    r.graph_curve = init_graph_curve(a, *b_end, options.curve_kind, options.bends);
    fit_graph_curve(runner, r.graph_curve, data.train, options.curve_training, curve_progress);
    const std::string kind(path_kind_name(options.curve_kind));
    r.paths.push_back(graph_profile(runner, r.graph_curve, r.ts, data, bn, kind,
                                    kind + (r.align != AlignMethod::none ? " (aligned)" : " (naive)")));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

AnalyzeReport analyze_pair(Backend& backend, const Model& a, const Model& b, const Dataset& data,
                           const AnalyzeOptions& options,
                           const std::function<void(const EpochReport&)>& curve_progress) {
  const auto start = std::chrono::steady_clock::now();
  AnalyzeReport r;
  r.device = backend.name();
  r.ts = path_grid(options.points);
  r.align = options.align.method;
  r.paths.push_back(profile(backend, linear_path(a, b), r.ts, data, "linear", "linear (naive)"));

  const Model* a_end = &a;
  const Model* b_end = &b;
  if (r.align != AlignMethod::none) {
    r.alignment = align_models(backend, a, b, &data, options.align);
    a_end = &r.alignment.a;
    b_end = &r.alignment.aligned;
    r.paths.push_back(
        profile(backend, linear_path(*a_end, *b_end), r.ts, data, "linear_aligned", "linear (aligned)"));
  }
  if (options.fit_curve) {
    r.curve = init_curve(*a_end, *b_end, options.curve_kind, options.bends);
    fit_curve(backend, r.curve, data.train, options.curve_training, curve_progress);
    const std::string kind(path_kind_name(options.curve_kind));
    r.paths.push_back(profile(backend, r.curve, r.ts, data, kind,
                              kind + (r.align != AlignMethod::none ? " (aligned)" : " (naive)")));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace modeconn
