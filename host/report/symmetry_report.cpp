// The symmetry report as JSON and as a table.
#include <cstdio>
#include <sstream>

#include "modeconn/symmetry.hpp"
#include "report/report_json.hpp"

namespace modeconn {
namespace {

nlohmann::json pair_json(const UnitPair& p) { return {{"i", p.i}, {"j", p.j}, {"cosine", p.cosine}}; }

}  // namespace

nlohmann::json symmetry_json(const SymmetryReport& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers) {
    nlohmann::json dups = nlohmann::json::array();
    for (const auto& p : l.near_duplicates) dups.push_back(pair_json(p));
    nlohmann::json layer = {{"layer", l.name},
                            {"units", l.units},
                            {"log10_permutations", l.log10_permutations},
                            {"closest_pair", pair_json(l.closest)},
                            {"near_duplicate_pairs", l.near_duplicate_pairs},
                            {"near_duplicates", dups}};
    if (r.has_data) {
      layer["dead_units"] = l.dead_units;
      layer["saddle"] = {{"pair", pair_json(l.saddle.pair)},
                         {"t", l.saddle.ts},
                         {"loss", numbers_json(l.saddle.loss)},
                         {"barrier", barrier_json(l.saddle.barrier)}};
    }
    layers.push_back(layer);
  }
  nlohmann::json j = {{"log10_equivalent_networks", r.log10_equivalent},
                      {"sign_symmetry", r.sign_symmetry},
                      {"layers", layers}};
  if (r.has_data) j["split"] = r.split;
  return j;
}

std::string symmetry_report_json(const SymmetryReport& r, const std::string& model,
                                 const PairSymmetry* pair) {
  nlohmann::json j = symmetry_json(r);
  j["model"] = model;
  if (pair) {
    j["pair"] = {{"b", pair->b},
                 {"align", pair->alignment ? alignment_json(*pair->alignment, pair->method)
                                           : graph_alignment_json(*pair->graph_alignment, pair->method)},
                 {"naive", splits_json({pair->naive})},
                 {"aligned", splits_json({pair->aligned})}};
  }
  return j.dump(2) + "\n";
}

std::string symmetry_table(const SymmetryReport& r) {
  std::ostringstream out;
  char line[256];
  std::snprintf(
      line, sizeof line, "equivalent networks: 10^%.1f (%s)\n\n", r.log10_equivalent,
      r.sign_symmetry ? "permutations and sign flips of hidden units" : "permutations of hidden units");
  out << line;
  std::snprintf(line, sizeof line, "%-18s %6s %10s %6s %11s %16s %12s\n", "layer", "units", "log10 n!",
                "dead", "near-dups", "closest (cos)", "swap barrier");
  out << line;
  for (const auto& l : r.layers) {
    const std::string closest = std::to_string(l.closest.i) + "," + std::to_string(l.closest.j);
    char cos[32];
    std::snprintf(cos, sizeof cos, "%s (%.3f)", closest.c_str(), l.closest.cosine);
    char dead[16] = "-", barrier[32] = "-";
    if (r.has_data) {
      std::snprintf(dead, sizeof dead, "%zu", l.dead_units.size());
      std::snprintf(barrier, sizeof barrier, "%.5f", l.saddle.barrier.gap);
    }
    std::snprintf(line, sizeof line, "%-18s %6lld %10.1f %6s %11lld %16s %12s\n", l.name.c_str(),
                  static_cast<long long>(l.units), l.log10_permutations, dead,
                  static_cast<long long>(l.near_duplicate_pairs), cos, barrier);
    out << line;
  }
  if (r.has_data)
    out << "\nswap barrier: loss barrier (" << r.split
        << (r.straight_swap
                ? " split) along the straight line to the copy with the closest pair swapped\n"
                : " split) along the path that swaps the closest pair through the point where their "
                  "incoming weights meet\n");
  return out.str();
}

}  // namespace modeconn
