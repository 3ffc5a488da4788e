// The analyze report: one JSON with every profile and barrier, one long-form CSV, and a table for a paper.
#include <cstdio>
#include <sstream>

#include "modeconn/analyze.hpp"
#include "modeconn/json_read.hpp"
#include "report/csv.hpp"
#include "report/report_json.hpp"

namespace modeconn {
namespace {

// Endpoint metrics are the profiles' values at t = 0 and t = 1 of the naive line.
nlohmann::json endpoint_json(const PathProfile& naive, bool at_start) {
  nlohmann::json j;
  for (const auto& s : naive.splits)
    j[s.split] = {{"loss", number_json(at_start ? s.loss.front() : s.loss.back())},
                  {"error", number_json(at_start ? s.error.front() : s.error.back())}};
  return j;
}

}  // namespace

std::string analyze_report_json(const AnalyzeReport& r) {
  nlohmann::json j;
  j["a"] = r.a;
  j["b"] = r.b;
  j["data"] = r.data;
  j["model"] = r.architecture;
  j["device"] = r.device;
  j["seconds"] = r.seconds;
  j["t"] = r.ts;
  j["endpoints"] = {{"a", endpoint_json(r.paths.front(), true)},
                    {"b", endpoint_json(r.paths.front(), false)}};
  if (r.align != AlignMethod::none)
    j["align"] =
        r.graph ? graph_alignment_json(r.graph_alignment, r.align) : alignment_json(r.alignment, r.align);
  if (r.graph) {
    j["bn"] = r.bn;
    if (r.bn != "keep") j["bn_rows"] = r.bn_rows;
  }
  j["paths"] = nlohmann::json::object();
  for (const auto& p : r.paths) {
    j["paths"][p.name] = {
        {"kind", std::string(path_kind_name(p.kind))}, {"label", p.label}, {"splits", splits_json(p.splits)}};
    if (p.kind != PathKind::linear)
      j["paths"][p.name]["control_points"] =
          r.graph ? r.graph_curve.params.points.size() : r.curve.points.size();
  }
  return j.dump(2) + "\n";
}

std::string analyze_report_csv(const AnalyzeReport& r) {
  std::ostringstream out;
  out << "path,split,t,loss,error\n";
  char line[160];
  for (const auto& p : r.paths)
    for (const auto& s : p.splits)
      for (std::size_t i = 0; i < r.ts.size(); ++i) {
        std::snprintf(line, sizeof line, ",%.17g,%.17g,%.17g\n", r.ts[i], s.loss[i], s.error[i]);
        out << csv_field(p.name) << ',' << csv_field(s.split) << line;
      }
  return out.str();
}

std::string analyze_report_table(const AnalyzeReport& r) {
  std::ostringstream out;
  char line[256];
  out << "analysis  " << r.a << " -> " << r.b << "\n"
      << r.architecture << ", " << r.data << ", " << r.ts.size() << " points, " << r.device << ", ";
  std::snprintf(line, sizeof line, "%.1f s\n\n", r.seconds);
  out << line;
  const PathProfile& naive = r.paths.front();
  std::snprintf(line, sizeof line, "%-10s %10s %10s %10s %10s\n", "endpoint", "test loss", "test err",
                "train loss", "train err");
  out << line;
  for (int e = 0; e < 2; ++e) {
    const auto& test = naive.splits[0];
    const auto& train = naive.splits[1];
    const std::size_t i = e == 0 ? 0 : r.ts.size() - 1;
    std::snprintf(line, sizeof line, "%-10s %10.4f %10.4f %10.4f %10.4f\n", e == 0 ? "A" : "B", test.loss[i],
                  test.error[i], train.loss[i], train.error[i]);
    out << line;
  }
  if (r.graph)
    out << "\nBatchNorm: " << r.bn
        << (r.bn == "keep" ? std::string(" (running statistics interpolated)")
                           : " (measured at every point on " + std::to_string(r.bn_rows) + " training rows)")
        << "\n";
  if (r.align != AlignMethod::none)
    out << "\n"
        << (r.graph ? graph_align_report_table(r.graph_alignment, r.align)
                    : align_report_table(r.alignment, r.align));
  out << "\nbarriers  gap: max above the line joining the endpoints; mean: max above their mean; midpoint: "
         "at t = 0.5\n          errors are fractions (0.1: 10% misclassified; mean absolute error for "
         "regression)\n";
  std::snprintf(line, sizeof line, "%-20s %-6s %9s %9s %9s %9s %9s %9s\n", "path", "split", "loss gap",
                "mean", "midpoint", "err gap", "mean", "midpoint");
  out << line;
  for (const auto& p : r.paths)
    for (const auto& s : p.splits) {
      std::snprintf(line, sizeof line, "%-20s %-6s %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f\n", p.label.c_str(),
                    s.split.c_str(), s.loss_barrier.gap, s.loss_barrier.mean, s.loss_barrier.midpoint,
                    s.error_barrier.gap, s.error_barrier.mean, s.error_barrier.midpoint);
      out << line;
    }
  return out.str();
}

}  // namespace modeconn
