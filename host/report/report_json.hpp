// JSON pieces shared by the reports: private to host/report.
#pragma once

#include <nlohmann/json.hpp>

#include "modeconn/align.hpp"
#include "modeconn/report.hpp"
#include "modeconn/symmetry.hpp"

namespace modeconn {

// A barrier's definitions, each a number or, when not finite, "nan", "inf" or "-inf"
// (modeconn/json_read.hpp).
nlohmann::json barrier_json(const Barrier& b);
// A profile's values, likewise.
nlohmann::json numbers_json(const std::vector<double>& values);
nlohmann::json alignment_json(const AlignOutcome& outcome, AlignMethod method);
nlohmann::json graph_alignment_json(const GraphAlignOutcome& outcome, AlignMethod method);
nlohmann::json splits_json(const std::vector<SplitProfile>& splits);
nlohmann::json symmetry_json(const SymmetryReport& report);

}  // namespace modeconn
