// Renders Hessian spectra as JSON (key `hessian`) and a table for the terminal.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "modeconn/hessian.hpp"
#include "modeconn/json_read.hpp"
#include "report/number_text.hpp"
#include "report/report_json.hpp"

namespace modeconn {
namespace {

nlohmann::json point_json(const HessianPoint& p) {
  nlohmann::json j = {
      {"top", numbers_json(p.top)},
      {"bottom", numbers_json(p.bottom)},
      {"trace",
       {{"mean", number_json(p.trace.mean)},
        {"stderr", number_json(p.trace.standard_error)},
        {"probes", p.trace.probes}}},
      {"rows", p.rows},
      {"params", p.params},
      {"loss", number_json(p.loss)},
      {"lambda_max", p.top.empty() ? nlohmann::json(nullptr) : number_json(p.top.front())},
      {"lambda_min", p.bottom.empty() ? nlohmann::json(nullptr) : number_json(p.bottom.front())},
      {"negative", p.negative()},
      {"sharpness", p.top.empty() ? nlohmann::json(nullptr) : number_json(p.top.front() * p.param_norm2)},
      {"param_norm2", number_json(p.param_norm2)},
      {"lanczos",
       {{"steps", p.lanczos_steps},
        {"converged", p.converged},
        {"top_residual", numbers_json(p.top_residual)},
        {"bottom_residual", numbers_json(p.bottom_residual)}}}};
  if (p.t >= 0) j["t"] = p.t;
  return j;
}

}  // namespace

std::string hessian_report_json(const HessianReport& r) {
  nlohmann::json j;
  if (r.path) {
    nlohmann::json points = nlohmann::json::array();
    for (const HessianPoint& p : r.points) points.push_back(point_json(p));
    j["hessian"] = {{"a", r.a}, {"b", r.b}, {"points", points}};
    if (!r.at.empty()) j["hessian"]["at"] = r.at;
  } else {
    j["hessian"] = point_json(r.points.front());
    j["hessian"]["model"] = r.model;
  }
  j["data"] = r.data;
  j["model"] = r.architecture;
  j["device"] = r.device;
  j["seconds"] = r.seconds;
  return j.dump(2) + "\n";
}

std::string hessian_report_table(const HessianReport& r) {
  std::ostringstream out;
  const HessianPoint& first = r.points.front();
  out << "hessian of the training loss over " << first.rows << " rows, " << first.params << " parameters; "
      << r.architecture << ", " << r.data << ", " << r.device << ", " << fmt("%.1f", r.seconds) << " s\n";
  if (r.path)
    out << "along the line from " << r.a << " (t = 0) to " << r.b << " (t = 1)"
        << (r.at == "peak" ? ", at the train-loss barrier's peak" : "") << "\n";
  out << "\n";
  const auto row = [&](const char* name, auto value) {
    out << name;
    for (std::size_t i = std::string(name).size(); i < 22; ++i) out << ' ';
    for (const HessianPoint& p : r.points) out << value(p);
    out << "\n";
  };
  if (r.path) row("t", [](const HessianPoint& p) { return fmt("%14.4f", p.t); });
  row("loss", [](const HessianPoint& p) { return fmt("%14.5g", p.loss); });
  row("lambda_max", [](const HessianPoint& p) { return fmt("%14.5g", p.top.empty() ? 0.0 : p.top.front()); });
  row("lambda_min",
      [](const HessianPoint& p) { return fmt("%14.5g", p.bottom.empty() ? 0.0 : p.bottom.front()); });
  row("negative (of bottom)", [](const HessianPoint& p) {
    return fmt("%11.0f", p.negative()) + "/" + std::to_string(p.bottom.size()) +
           (p.bottom.size() < 10 ? " " : "");
  });
  row("trace", [](const HessianPoint& p) { return fmt("%14.5g", p.trace.mean); });
  row("  +/- (stderr)", [](const HessianPoint& p) { return fmt("%14.3g", p.trace.standard_error); });
  row("lambda_max*|theta|^2", [](const HessianPoint& p) {
    return fmt("%14.5g", (p.top.empty() ? 0.0 : p.top.front()) * p.param_norm2);
  });
  row("lanczos steps",
      [](const HessianPoint& p) { return fmt("%13.0f", p.lanczos_steps) + (p.converged ? " " : "*"); });
  for (std::size_t i = 0; i < first.top.size(); ++i)
    row(("top " + std::to_string(i + 1)).c_str(),
        [i](const HessianPoint& p) { return fmt("%14.5g", i < p.top.size() ? p.top[i] : 0.0); });
  for (std::size_t i = 0; i < first.bottom.size(); ++i)
    row(("bottom " + std::to_string(i + 1)).c_str(),
        [i](const HessianPoint& p) { return fmt("%14.5g", i < p.bottom.size() ? p.bottom[i] : 0.0); });
  bool all = true;
  for (const HessianPoint& p : r.points) all = all && p.converged;
  if (!all)
    out << "* Lanczos stopped at --max-steps before every residual fell below its tolerance (see lanczos in "
           "the JSON)\n";
  return out.str();
}

}  // namespace modeconn
