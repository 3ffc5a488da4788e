// Renders a path evaluation as DESIGN's JSON, a CSV and a table for people.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "modeconn/json_read.hpp"
#include "modeconn/report.hpp"
#include "report/number_text.hpp"
#include "report/report_json.hpp"

namespace modeconn {
nlohmann::json numbers_json(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(number_json(x));
  return a;
}

nlohmann::json barrier_json(const Barrier& b) {
  return {{"gap", number_json(b.gap)},
          {"mean", number_json(b.mean)},
          {"midpoint", number_json(b.midpoint)},
          {"t_peak", number_json(b.t_peak)}};
}

nlohmann::json splits_json(const std::vector<SplitProfile>& splits) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& s : splits)
    j[s.split] = {
        {"loss", numbers_json(s.loss)},
        {"error", numbers_json(s.error)},
        {"barrier", {{"loss", barrier_json(s.loss_barrier)}, {"error", barrier_json(s.error_barrier)}}}};
  return j;
}

std::string path_report_json(const PathReport& r) {
  nlohmann::json j;
  j["path"] = {
      {"kind", std::string(path_kind_name(r.kind))}, {"points", r.ts.size()}, {"a", r.a}, {"b", r.b}};
  if (!r.curve.empty()) j["path"]["curve"] = r.curve;
  j["data"] = r.data;
  j["model"] = r.architecture;
  j["device"] = r.device;
  j["seconds"] = r.seconds;
  j["t"] = r.ts;
  j["splits"] = splits_json(r.splits);
  if (r.aligned()) {
    j["path"]["align"] = std::string(align_method_name(r.align));
    j["align"] = r.alignment ? alignment_json(*r.alignment, r.align)
                             : graph_alignment_json(*r.graph_alignment, r.align);
    j["naive"] = {{"splits", splits_json(r.naive_splits)}};
  }
  if (!r.bn.empty()) {
    j["path"]["bn"] = r.bn;
    if (r.bn != "keep") j["path"]["bn_rows"] = r.bn_rows;
  }
  return j.dump(2) + "\n";
}

std::string path_report_csv(const PathReport& r) {
  std::ostringstream out;
  out << "t";
  for (const auto& s : r.splits) out << "," << s.split << "_loss," << s.split << "_error";
  out << "\n";
  for (std::size_t i = 0; i < r.ts.size(); ++i) {
    out << fmt("%.17g", r.ts[i]);
    for (const auto& s : r.splits) out << "," << fmt("%.17g", s.loss[i]) << "," << fmt("%.17g", s.error[i]);
    out << "\n";
  }
  return out.str();
}

namespace {

void profile_table(std::ostringstream& out, const PathReport& r) {
  char line[256];
  const bool aligned = r.aligned();
  std::snprintf(line, sizeof line, "%8s", "t");
  out << line;
  for (const auto& s : r.splits) {
    if (aligned)
      std::snprintf(line, sizeof line, "  %11s %11s  %9s %9s", (s.split + " loss").c_str(), "(naive)",
                    (s.split + " err").c_str(), "(naive)");
    else
      std::snprintf(line, sizeof line, "  %11s  %10s", (s.split + " loss").c_str(),
                    (s.split + " err").c_str());
    out << line;
  }
  out << "\n";
  for (std::size_t i = 0; i < r.ts.size(); ++i) {
    std::snprintf(line, sizeof line, "%8.4f", r.ts[i]);
    out << line;
    for (std::size_t k = 0; k < r.splits.size(); ++k) {
      const auto& s = r.splits[k];
      if (aligned) {
        const auto& n = r.naive_splits[k];
        std::snprintf(line, sizeof line, "  %11.5f %11.5f  %9.5f %9.5f", s.loss[i], n.loss[i], s.error[i],
                      n.error[i]);
      } else {
        std::snprintf(line, sizeof line, "  %11.5f  %10.5f", s.loss[i], s.error[i]);
      }
      out << line;
    }
    out << "\n";
  }
}

void barrier_table(std::ostringstream& out, const PathReport& r) {
  char line[256];
  out << "\nbarriers  gap: max above the line joining the endpoints; mean: max above their mean; midpoint: "
         "at t = 0.5\n          errors are fractions (0.1: 10% misclassified; mean absolute error for "
         "regression)\n";
  if (!r.aligned()) {
    std::snprintf(line, sizeof line, "%-6s %-6s %10s %10s %10s %10s %10s %7s\n", "split", "metric", "f(0)",
                  "f(1)", "gap", "mean", "midpoint", "t_peak");
    out << line;
  } else {
    std::snprintf(line, sizeof line, "%-6s %-6s %10s %10s %10s %10s %10s %10s %10s\n", "split", "metric",
                  "f(0)", "gap", "(naive)", "mean", "(naive)", "midpoint", "(naive)");
    out << line;
  }
  for (std::size_t k = 0; k < r.splits.size(); ++k) {
    const auto& s = r.splits[k];
    for (int metric = 0; metric < 2; ++metric) {
      const auto& f = metric == 0 ? s.loss : s.error;
      const Barrier& b = metric == 0 ? s.loss_barrier : s.error_barrier;
      const char* name = metric == 0 ? "loss" : "error";
      if (!r.aligned()) {
        std::snprintf(line, sizeof line, "%-6s %-6s %10.5f %10.5f %10.5f %10.5f %10.5f %7.4f\n",
                      s.split.c_str(), name, f.front(), f.back(), b.gap, b.mean, b.midpoint, b.t_peak);
      } else {
        const Barrier& n = metric == 0 ? r.naive_splits[k].loss_barrier : r.naive_splits[k].error_barrier;
        std::snprintf(line, sizeof line, "%-6s %-6s %10.5f %10.5f %10.5f %10.5f %10.5f %10.5f %10.5f\n",
                      s.split.c_str(), name, f.front(), b.gap, n.gap, b.mean, n.mean, b.midpoint, n.midpoint);
      }
      out << line;
    }
  }
}

}  // namespace

std::string path_report_table(const PathReport& r) {
  std::ostringstream out;
  out << path_kind_name(r.kind) << " path  " << r.a << " -> " << r.b;
  if (r.aligned()) out << " (aligned by " << align_method_name(r.align) << " matching)";
  if (!r.curve.empty()) out << "  (curve " << r.curve << ")";
  out << "\n"
      << r.architecture << ", " << r.ts.size() << " points, " << r.device << ", " << fmt("%.2f", r.seconds)
      << " s\n";
  if (!r.bn.empty())
    out << "BatchNorm: " << r.bn
        << (r.bn == "keep"        ? " (running statistics interpolated)"
            : r.bn == "recompute" ? " (statistics recomputed at every point"
                                  : " (REPAIR: channel statistics reset to the endpoints' interpolation")
        << (r.bn == "keep" ? std::string()
                           : " on " + std::to_string(r.bn_rows) + " rows of " + r.bn_source + ")")
        << "\n";
  if (r.alignment) out << align_report_table(*r.alignment, r.align);
  if (r.graph_alignment) out << graph_align_report_table(*r.graph_alignment, r.align);
  out << "\n";
  profile_table(out, r);
  barrier_table(out, r);
  return out.str();
}

}  // namespace modeconn
