// The result of evaluating a path, and its three renderings: DESIGN's JSON, a CSV and a table for people.
#pragma once

#include <string>
#include <vector>

#include "modeconn/align.hpp"
#include "modeconn/backend.hpp"
#include "modeconn/barrier.hpp"
#include "modeconn/graph_align.hpp"
#include "modeconn/profile.hpp"

namespace modeconn {

struct PathReport {
  PathKind kind = PathKind::linear;
  std::string a, b, curve;  // file names as given
  std::string data;
  std::string architecture;  // "784-256-256-10 relu classification"
  std::string device;
  double seconds = 0;
  std::vector<double> ts;
  std::vector<SplitProfile> splits;
  // With --align: the alignment, and the same path between A and the unaligned B.
  AlignMethod align = AlignMethod::none;
  const AlignOutcome* alignment = nullptr;
  std::vector<SplitProfile> naive_splits;
  // A layer graph's path: its alignment (in place of `alignment`) and how BatchNorm was handled.
  const GraphAlignOutcome* graph_alignment = nullptr;
  std::string bn;  // keep, recompute or repair; empty for MLPs
  int64_t bn_rows = 0;
  std::string bn_source;  // the file the recomputed statistics came from

  bool aligned() const { return alignment || graph_alignment; }
};

std::string graph_align_report_json(const GraphAlignOutcome& outcome, AlignMethod method,
                                    const std::string& a, const std::string& b, const std::string& out);
std::string graph_align_report_table(const GraphAlignOutcome& outcome, AlignMethod method);

std::string path_report_json(const PathReport& report);
std::string path_report_csv(const PathReport& report);
std::string path_report_table(const PathReport& report);

std::string align_report_json(const AlignOutcome& outcome, AlignMethod method, const std::string& a,
                              const std::string& b, const std::string& out);
std::string align_report_table(const AlignOutcome& outcome, AlignMethod method);

struct SymmetryReport;
// With --b: B's distance and linear-path barriers before and after alignment.
struct PairSymmetry {
  std::string b;
  AlignMethod method = AlignMethod::weight;
  const AlignOutcome* alignment = nullptr;
  const GraphAlignOutcome* graph_alignment = nullptr;  // layer graphs, in place of `alignment`
  SplitProfile naive;
  SplitProfile aligned;
};
std::string symmetry_report_json(const SymmetryReport& report, const std::string& model,
                                 const PairSymmetry* pair);
std::string symmetry_table(const SymmetryReport& report);

}  // namespace modeconn
