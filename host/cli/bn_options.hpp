// The BatchNorm options of the commands that evaluate layer graphs along paths (path, analyze, sweep).
#pragma once

#include <string>

#include "cli/command_line.hpp"
#include "modeconn/graph_eval.hpp"

namespace modeconn::cli {

// The default number of training rows BatchNorm statistics are measured on.
constexpr int64_t kDefaultBnRows = 10000;

// Adds --bn and --bn-rows.
void add_bn_options(CommandLine& cl);
// Reads them for a graph and its data: recompute is the default when the graph has BatchNorm, keep otherwise;
// the rows default to 10000 or the whole training split if smaller.
BnOptions read_bn_options(const CommandLine& cl, const Graph& graph, const Dataset& data);

}  // namespace modeconn::cli
