// Alignment options on the command line.
#include "cli/align_options.hpp"

#include "cli/option_ranges.hpp"
#include "modeconn/error.hpp"

namespace modeconn::cli {

void add_align_options(CommandLine& cl) {
  cl.options().add_options()("max-sweeps", po::value<int>()->default_value(100),
                             "weight matching: most sweeps over the layers, 1 to 100000")(
      "align-seed", po::value<std::string>()->default_value("0"),
      "weight matching: seed of the layer order, 0 to 2^63 - 1")(
      "no-signs", po::bool_switch(), "odd activations: align over permutations only, not signed ones")(
      "canonicalize-scale", po::bool_switch(), "relu, leaky_relu: unit incoming norms before matching");
}

AlignOptions read_align_options(const CommandLine& cl, AlignMethod method, Activation activation) {
  AlignOptions o;
  o.method = method;
  o.matching.max_sweeps = cl.get<int>("max-sweeps");
  o.matching.seed = parse_seed(cl.get<std::string>("align-seed"), "align-seed");
  o.matching.signs = is_odd(activation) && !cl.get<bool>("no-signs");
  o.canonicalize_scale = cl.get<bool>("canonicalize-scale");
  if (o.canonicalize_scale && activation != Activation::relu && activation != Activation::leaky_relu)
    throw usage_error(
        "--canonicalize-scale needs a positively homogeneous activation (relu, leaky_relu), not " +
        std::string(activation_name(activation)) + ": rescaling its units changes the function");
  return o;
}

}  // namespace modeconn::cli
