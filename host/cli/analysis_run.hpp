// The analysis as analyze and demo run it: options, a progress line for the curve, and the output files.
#pragma once

#include "cli/command_line.hpp"
#include "modeconn/analyze.hpp"

namespace modeconn::cli {

// --points, --align (and its options), --no-curve, --curve-kind, --bends, and the curve optimizer as
// --curve-*.
void add_analysis_options(CommandLine& cl, const char* default_align);

// The analysis options as given on the command line.
AnalyzeOptions read_analysis_options(const CommandLine& cl, Activation activation);

struct AnalysisOutputs {
  std::string json, csv, curve, aligned;  // empty: not written
};
// Plans them among the command's outputs (as --json, --csv, --curve-out, --aligned-out), refusing one the
// options leave nothing to write to (--curve-out with --no-curve, --aligned-out with --align none).
void plan_analysis_outputs(CommandLine& cl, const AnalysisOutputs& files);

// Runs the analysis and stages its outputs among the command's (the caller commits them) and returns the
// report.
AnalyzeReport run_analysis(CommandLine& cl, Backend& backend, const Model& a, const Model& b,
                           const Dataset& data, const std::string& a_name, const std::string& b_name,
                           const AnalysisOutputs& outputs);
// The same for two layer graphs, BatchNorm as --bn says (add_bn_options).
AnalyzeReport run_graph_analysis(CommandLine& cl, Backend& backend, const GraphModel& a, const GraphModel& b,
                                 const Dataset& data, const std::string& a_name, const std::string& b_name,
                                 const AnalysisOutputs& outputs);

}  // namespace modeconn::cli
