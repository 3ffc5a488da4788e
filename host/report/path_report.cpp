// Renders a path evaluation as DESIGN's JSON, a CSV and a table for people.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "modeconn/report.hpp"

namespace modeconn {
namespace {

nlohmann::json barrier_json(const Barrier& b) {
  return {{"gap", b.gap}, {"mean", b.mean}, {"midpoint", b.midpoint}, {"t_peak", b.t_peak}};
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

SplitProfile make_profile(const std::string& split, const std::vector<double>& ts,
                          const std::vector<PointMetrics>& metrics) {
  SplitProfile p;
  p.split = split;
  for (const auto& m : metrics) {
    p.loss.push_back(m.loss);
    p.error.push_back(m.error);
  }
  p.loss_barrier = compute_barrier(ts, p.loss);
  p.error_barrier = compute_barrier(ts, p.error);
  return p;
}

std::string path_report_json(const PathReport& r) {
  nlohmann::json j;
  j["path"] = {{"kind", std::string(path_kind_name(r.kind))}, {"points", r.ts.size()}, {"a", r.a}, {"b", r.b}};
  if (!r.curve.empty()) j["path"]["curve"] = r.curve;
  j["data"] = r.data;
  j["model"] = r.architecture;
  j["device"] = r.device;
  j["seconds"] = r.seconds;
  j["t"] = r.ts;
  j["splits"] = nlohmann::json::object();
  for (const auto& s : r.splits) {
    j["splits"][s.split] = {{"loss", s.loss},
                            {"error", s.error},
                            {"barrier", {{"loss", barrier_json(s.loss_barrier)}, {"error", barrier_json(s.error_barrier)}}}};
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

std::string path_report_table(const PathReport& r) {
  std::ostringstream out;
  char line[256];
  out << path_kind_name(r.kind) << " path  " << r.a << " -> " << r.b;
  if (!r.curve.empty()) out << "  (curve " << r.curve << ")";
  out << "\n" << r.architecture << ", " << r.ts.size() << " points, " << r.device << ", " << fmt("%.2f", r.seconds)
      << " s\n\n";

  // Profile: one row per t.
  std::snprintf(line, sizeof line, "%8s", "t");
  out << line;
  for (const auto& s : r.splits) {
    std::snprintf(line, sizeof line, "  %11s  %10s", (s.split + " loss").c_str(), (s.split + " err").c_str());
    out << line;
  }
  out << "\n";
  for (std::size_t i = 0; i < r.ts.size(); ++i) {
    std::snprintf(line, sizeof line, "%8.4f", r.ts[i]);
    out << line;
    for (const auto& s : r.splits) {
      std::snprintf(line, sizeof line, "  %11.5f  %9.2f%%", s.loss[i], 100.0 * s.error[i]);
      out << line;
    }
    out << "\n";
  }

  // Barriers: one row per split and metric.
  out << "\nbarriers  gap: max above the line joining the endpoints; mean: max above their mean; midpoint: at t = 0.5\n";
  std::snprintf(line, sizeof line, "%-6s %-6s %10s %10s %10s %10s %10s %7s\n", "split", "metric", "f(0)", "f(1)", "gap",
                "mean", "midpoint", "t_peak");
  out << line;
  for (const auto& s : r.splits) {
    for (int metric = 0; metric < 2; ++metric) {
      const auto& f = metric == 0 ? s.loss : s.error;
      const Barrier& b = metric == 0 ? s.loss_barrier : s.error_barrier;
      std::snprintf(line, sizeof line, "%-6s %-6s %10.5f %10.5f %10.5f %10.5f %10.5f %7.4f\n", s.split.c_str(),
                    metric == 0 ? "loss" : "error", f.front(), f.back(), b.gap, b.mean, b.midpoint, b.t_peak);
      out << line;
    }
  }
  return out.str();
}

}  // namespace modeconn
