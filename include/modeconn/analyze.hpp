// Every answer for a pair of minima in one report: endpoints, the naive line, alignment, the aligned line,
// and a fitted curve between A and the aligned B.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "modeconn/align.hpp"
#include "modeconn/graph_align.hpp"
#include "modeconn/graph_eval.hpp"
#include "modeconn/profile.hpp"
#include "modeconn/train.hpp"

namespace modeconn {

struct AnalyzeOptions {
  int points = 25;
  AlignOptions align;  // method none skips alignment (the curve then joins A and B)
  bool fit_curve = true;
  PathKind curve_kind = PathKind::bezier;
  int bends = 1;
  TrainOptions curve_training;
};

struct PathProfile {
  std::string name;   // "linear", "linear_aligned", "bezier", "polychain"
  std::string label;  // for people: "linear (naive)", ...
  PathKind kind = PathKind::linear;
  std::vector<SplitProfile> splits;  // test, train
};

struct AnalyzeReport {
  std::string a, b, data, architecture, device;
  std::vector<double> ts;
  AlignMethod align = AlignMethod::none;
  AlignOutcome alignment;  // meaningful when align != none
  Path curve;              // the fitted curve (empty when not fitted)
  std::vector<PathProfile> paths;
  double seconds = 0;
  // Layer graphs: their alignment (in place of `alignment`) and how BatchNorm was handled.
  bool graph = false;
  GraphAlignOutcome graph_alignment;
  GraphPath graph_curve;  // the fitted curve between graphs (no control points when not fitted)
  std::string bn;
  int64_t bn_rows = 0;
};

// Two layer graphs: the naive line, unless `options.align.method` is none the aligned one, and unless
// `options.fit_curve` is false a curve fitted between A and the (aligned) B, every path evaluated with
// BatchNorm as `bn` says, all on `runner`.
AnalyzeReport analyze_graph_pair(GraphRunner& runner, const GraphModel& a, const GraphModel& b,
                                 const Dataset& data, const AnalyzeOptions& options, const BnOptions& bn,
                                 const std::function<void(const EpochReport&)>& curve_progress);

AnalyzeReport analyze_pair(Backend& backend, const Model& a, const Model& b, const Dataset& data,
                           const AnalyzeOptions& options,
                           const std::function<void(const EpochReport&)>& curve_progress);

std::string analyze_report_json(const AnalyzeReport& report);
std::string analyze_report_csv(const AnalyzeReport& report);
std::string analyze_report_table(const AnalyzeReport& report);

}  // namespace modeconn
