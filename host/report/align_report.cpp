// The align report: permutations (and signs), objective and distance before and after, and the function
// check.
#include <cstdio>
#include <sstream>

#include "modeconn/json_read.hpp"
#include "report/report_json.hpp"

namespace modeconn {

namespace {

// The function check as both align tables end: how far the aligned B's outputs moved, and on what.
std::string function_check_line(double difference, double tolerance, int64_t rows, const std::string& probe) {
  char line[256];
  std::snprintf(line, sizeof line,
                "  same function   max |f_B - f_B'| = %.3g (tolerance %.3g, %lld rows of %s)\n", difference,
                tolerance, static_cast<long long>(rows), probe.c_str());
  return line;
}

}  // namespace

nlohmann::json alignment_json(const AlignOutcome& o, AlignMethod method) {
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t h = 0; h < o.matching.alignment.layers.size(); ++h) {
    const auto& la = o.matching.alignment.layers[h];
    std::size_t fixed = 0;
    for (std::size_t i = 0; i < la.perm.size(); ++i)
      fixed += la.perm[i] == static_cast<int64_t>(i) && la.sign[i] > 0;
    nlohmann::json layer = {{"layer", o.a.arch.layers[h].weight_name},
                            {"units", la.perm.size()},
                            {"permutation", la.perm},
                            {"in_place", static_cast<double>(fixed) / static_cast<double>(la.perm.size())}};
    if (std::any_of(la.sign.begin(), la.sign.end(), [](int8_t s) { return s < 0; })) layer["signs"] = la.sign;
    layers.push_back(layer);
  }
  return {{"method", std::string(align_method_name(method))},
          {"layers", layers},
          {"objective_before", o.matching.objective_before},
          {"objective_after", o.matching.objective_after},
          {"distance_before", o.distance_before},
          {"distance_after", o.distance_after},
          {"fraction_in_place", fraction_in_place(o.matching.alignment)},
          {"sweeps", o.matching.sweeps},
          {"seconds", o.seconds},
          {"function_check",
           {{"max_output_difference", o.max_output_difference},
            {"tolerance", o.tolerance},
            {"rows", o.probe_rows},
            {"inputs", o.probe}}}};
}

std::string align_report_json(const AlignOutcome& o, AlignMethod method, const std::string& a,
                              const std::string& b, const std::string& out) {
  nlohmann::json j = alignment_json(o, method);
  j["a"] = a;
  j["b"] = b;
  j["out"] = out;
  return j.dump(2) + "\n";
}

nlohmann::json graph_alignment_json(const GraphAlignOutcome& o, AlignMethod method) {
  nlohmann::json groups = nlohmann::json::array();
  for (std::size_t g = 0; g < o.spec.groups.size(); ++g) {
    int64_t in_place = 0;
    for (std::size_t i = 0; i < o.matching.perms[g].size(); ++i)
      in_place += o.matching.perms[g][i] == static_cast<int64_t>(i);
    groups.push_back(
        {{"channels", o.spec.groups[g].size},
         {"nodes", o.spec.groups[g].nodes},
         {"perm", o.matching.perms[g]},
         {"fraction_in_place", static_cast<double>(in_place) / static_cast<double>(o.spec.groups[g].size)}});
  }
  return {{"method", std::string(align_method_name(method))},
          {"groups", groups},
          {"channels", o.channels},
          {"sweeps", o.matching.sweeps},
          {"seconds", o.seconds},
          {"objective_before", number_json(o.matching.objective_before)},
          {"objective_after", number_json(o.matching.objective_after)},
          {"distance_before", number_json(o.distance_before)},
          {"distance_after", number_json(o.distance_after)},
          {"fraction_in_place",
           o.channels ? static_cast<double>(o.in_place) / static_cast<double>(o.channels) : 1.0},
          {"function_check",
           {{"max_output_difference", number_json(o.max_output_difference)},
            {"tolerance", number_json(o.tolerance)},
            {"rows", o.probe_rows},
            {"inputs", o.probe}}}};
}

std::string graph_align_report_json(const GraphAlignOutcome& o, AlignMethod method, const std::string& a,
                                    const std::string& b, const std::string& out) {
  nlohmann::json j = graph_alignment_json(o, method);
  j["a"] = a;
  j["b"] = b;
  j["out"] = out;
  return j.dump(2) + "\n";
}

std::string graph_align_report_table(const GraphAlignOutcome& o, AlignMethod method) {
  std::ostringstream s;
  char line[256];
  std::snprintf(
      line, sizeof line, "%s matching over %zu permutation groups (%lld channels): %d sweep%s, %.2f s\n",
      std::string(align_method_name(method)).c_str(), o.spec.groups.size(),
      static_cast<long long>(o.channels), o.matching.sweeps, o.matching.sweeps == 1 ? "" : "s", o.seconds);
  s << line;
  std::snprintf(line, sizeof line, "  objective       %14.6g -> %.6g\n", o.matching.objective_before,
                o.matching.objective_after);
  s << line;
  std::snprintf(line, sizeof line, "  |theta_A - theta_B|  %10.4f -> %.4f\n", o.distance_before,
                o.distance_after);
  s << line;
  std::snprintf(
      line, sizeof line, "  channels in place %11.1f%%\n",
      o.channels ? 100.0 * static_cast<double>(o.in_place) / static_cast<double>(o.channels) : 100.0);
  s << line;
  s << function_check_line(o.max_output_difference, o.tolerance, o.probe_rows, o.probe);
  return s.str();
}

std::string align_report_table(const AlignOutcome& o, AlignMethod method) {
  std::ostringstream s;
  char line[256];
  std::snprintf(line, sizeof line, "%s matching: %d sweep%s, %.2f s\n",
                std::string(align_method_name(method)).c_str(), o.matching.sweeps,
                o.matching.sweeps == 1 ? "" : "s", o.seconds);
  s << line;
  std::snprintf(line, sizeof line, "  objective       %14.6g -> %.6g\n", o.matching.objective_before,
                o.matching.objective_after);
  s << line;
  std::snprintf(line, sizeof line, "  |theta_A - theta_B|  %10.4f -> %.4f\n", o.distance_before,
                o.distance_after);
  s << line;
  std::snprintf(line, sizeof line, "  units in place  %13.1f%%\n",
                100 * fraction_in_place(o.matching.alignment));
  s << line;
  s << function_check_line(o.max_output_difference, o.tolerance, o.probe_rows, o.probe);
  return s.str();
}

}  // namespace modeconn
