// --bn and --bn-rows.
#include "cli/bn_options.hpp"

#include <algorithm>

#include "cli/with_option.hpp"
#include "modeconn/error.hpp"

namespace modeconn::cli {

void add_bn_options(CommandLine& cl) {
  cl.options().add_options()(
      "bn", po::value<std::string>()->default_value(""),
      "layer graphs with BatchNorm: keep (interpolate the running statistics), recompute "
      "(exact statistics at every point; the default) or repair (REPAIR)")(
      "bn-rows", po::value<int64_t>()->default_value(kDefaultBnRows),
      "training rows BatchNorm statistics are measured on (default 10000, or the whole training split if "
      "smaller)");
}

BnOptions read_bn_options(const CommandLine& cl, const Graph& graph, const Dataset& data) {
  BnOptions bn;
  const bool has_bn = std::any_of(graph.nodes.begin(), graph.nodes.end(),
                                  [](const Node& n) { return n.op == Op::batch_norm; });
  const std::string mode = cl.get<std::string>("bn");
  bn.mode = mode.empty() ? (has_bn ? BnMode::recompute : BnMode::keep)
                         : with_option("--bn", [&] { return parse_bn_mode(mode); });
  bn.split = &data.train;
  const int64_t rows = cl.get<int64_t>("bn-rows");
  if (rows < 2)
    throw usage_error("--bn-rows " + std::to_string(rows) + ": BatchNorm statistics need at least 2 rows");
  if (cl.has("bn-rows") && rows > data.train.rows)
    throw usage_error("--bn-rows " + std::to_string(rows) + ": " + data.train.x_source + " holds only " +
                      std::to_string(data.train.rows) + " rows");
  bn.rows = std::min(rows, data.train.rows);
  return bn;
}

}  // namespace modeconn::cli
