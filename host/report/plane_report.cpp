// Renders a loss plane as JSON (key `plane`), a CSV of grid points and a summary for the terminal.
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "modeconn/json_read.hpp"
#include "modeconn/plane.hpp"
#include "report/csv.hpp"
#include "report/number_text.hpp"
#include "report/report_json.hpp"

namespace modeconn {
namespace {

// `text` padded to `width` columns, left-aligned when width is negative.
std::string pad(const std::string& text, int width) {
  const std::size_t w = static_cast<std::size_t>(width < 0 ? -width : width);
  if (text.size() >= w) return text;
  const std::string fill(w - text.size(), ' ');
  return width < 0 ? text + fill : fill + text;
}

// A grid's values of one split, [β][α].
nlohmann::json grid_json(const PlaneReport& r, std::size_t split, bool loss) {
  nlohmann::json rows = nlohmann::json::array();
  const std::size_t nx = r.alpha.size();
  for (std::size_t j = 0; j < r.beta.size(); ++j) {
    std::vector<double> row(nx);
    for (std::size_t i = 0; i < nx; ++i) {
      const PointMetrics& m = r.grid[split][j * nx + i];
      row[i] = loss ? m.loss : m.error;
    }
    rows.push_back(numbers_json(row));
  }
  return rows;
}

}  // namespace

std::string plane_report_json(const PlaneReport& r) {
  nlohmann::json plane = {{"kind", r.kind},
                          {"grid", {r.alpha.size(), r.beta.size()}},
                          {"alpha", numbers_json(r.alpha)},
                          {"beta", numbers_json(r.beta)}};
  if (r.kind == "directions")
    plane["directions"] = {{"source", r.directions},
                           {"seed", r.seed},
                           {"norm", r.norm},
                           {"bias_bn", r.perturb_bias_bn ? "perturbed" : "fixed"}};
  if (!r.bn.empty()) {
    plane["bn"] = r.bn;
    if (r.bn != "keep") plane["bn_rows"] = r.bn_rows;
  }
  nlohmann::json markers = nlohmann::json::array();
  for (const PlaneMarker& m : r.markers) {
    nlohmann::json at = {{"name", m.name}, {"file", m.file}, {"alpha", m.alpha}, {"beta", m.beta}};
    for (std::size_t s = 0; s < r.split_names.size(); ++s)
      at["splits"][r.split_names[s]] = {{"loss", number_json(m.metrics[s].loss)},
                                        {"error", number_json(m.metrics[s].error)}};
    markers.push_back(at);
  }
  plane["markers"] = markers;
  if (!r.path_alpha.empty())
    plane["path"] = {
        {"name", r.path_name}, {"alpha", numbers_json(r.path_alpha)}, {"beta", numbers_json(r.path_beta)}};
  nlohmann::json splits = nlohmann::json::object();
  for (std::size_t s = 0; s < r.split_names.size(); ++s)
    splits[r.split_names[s]] = {
        {"rows", r.split_rows[s]}, {"loss", grid_json(r, s, true)}, {"error", grid_json(r, s, false)}};
  nlohmann::json j = {{"plane", plane},     {"data", r.data},       {"model", r.architecture},
                      {"device", r.device}, {"seconds", r.seconds}, {"splits", splits}};
  return j.dump(2) + "\n";
}

std::string plane_report_csv(const PlaneReport& r) {
  std::ostringstream out;
  out << "split,alpha,beta,loss,error\n";
  const std::size_t nx = r.alpha.size();
  for (std::size_t s = 0; s < r.split_names.size(); ++s)
    for (std::size_t j = 0; j < r.beta.size(); ++j)
      for (std::size_t i = 0; i < nx; ++i) {
        const PointMetrics& m = r.grid[s][j * nx + i];
        out << csv_field(r.split_names[s]) << "," << fmt("%.17g", r.alpha[i]) << ","
            << fmt("%.17g", r.beta[j]) << "," << fmt("%.9g", m.loss) << "," << fmt("%.9g", m.error) << "\n";
      }
  return out.str();
}

std::string plane_report_table(const PlaneReport& r) {
  std::ostringstream out;
  out << "plane   "
      << (r.kind == "models" ? "through three models" : "around one model along two directions");
  if (r.kind == "directions")
    out << " (" << r.directions << (r.directions == "random" ? ", seed " + std::to_string(r.seed) : "")
        << ", " << r.norm << "-normalised, biases and BatchNorm "
        << (r.perturb_bias_bn ? "perturbed" : "fixed") << ")";
  out << "\n"
      << r.architecture << ", " << r.data << ", " << r.alpha.size() << "x" << r.beta.size() << " grid, alpha "
      << fmt("%.4g", r.alpha.front()) << " to " << fmt("%.4g", r.alpha.back()) << ", beta "
      << fmt("%.4g", r.beta.front()) << " to " << fmt("%.4g", r.beta.back()) << ", " << r.device << ", "
      << fmt("%.1f", r.seconds) << " s\n";
  if (!r.bn.empty())
    out << "BatchNorm: " << r.bn
        << (r.bn == "recompute"
                ? " (measured at every point on " + std::to_string(r.bn_rows) + " training rows)"
                : "")
        << "\n";
  out << "\n" << pad("point", -14) << pad("alpha", 10) << pad("beta", 10);
  for (const auto& s : r.split_names) out << pad(s + " loss", 14) << pad("error", 10);
  out << "\n";
  for (const PlaneMarker& m : r.markers) {
    out << pad(m.name, -14) << fmt("%10.4f", m.alpha) << fmt("%10.4f", m.beta);
    for (const PointMetrics& v : m.metrics) out << fmt("%14.4f", v.loss) << fmt("%10.4f", v.error);
    out << "\n";
  }
  const std::size_t nx = r.alpha.size();
  for (std::size_t s = 0; s < r.split_names.size(); ++s) {
    std::size_t lo = 0, hi = 0;
    for (std::size_t k = 0; k < r.grid[s].size(); ++k) {
      // NaN (a point whose loss overflowed) never becomes the lowest or highest.
      if (r.grid[s][k].loss < r.grid[s][lo].loss || std::isnan(r.grid[s][lo].loss)) lo = k;
      if (r.grid[s][k].loss > r.grid[s][hi].loss || std::isnan(r.grid[s][hi].loss)) hi = k;
    }
    for (const auto& [label, k] : {std::pair{"lowest", lo}, std::pair{"highest", hi}})
      out << pad(r.split_names[s] + " " + label, -14) << fmt("%10.4f", r.alpha[k % nx])
          << fmt("%10.4f", r.beta[k / nx]) << "  loss " << fmt("%.4f", r.grid[s][k].loss) << ", error "
          << fmt("%.4f", r.grid[s][k].error) << "\n";
  }
  return out.str();
}

}  // namespace modeconn
