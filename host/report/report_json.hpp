// JSON pieces shared by the reports: private to host/report.
#pragma once

#include <nlohmann/json.hpp>

#include "modeconn/align.hpp"
#include "modeconn/report.hpp"
#include "modeconn/symmetry.hpp"

namespace modeconn {

nlohmann::json alignment_json(const AlignOutcome& outcome, AlignMethod method);
nlohmann::json splits_json(const std::vector<SplitProfile>& splits);
nlohmann::json symmetry_json(const SymmetryReport& report);

}  // namespace modeconn
