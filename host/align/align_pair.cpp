// Aligning one model onto another end to end: optional scale canonicalisation, matching, and the function
// check.
#include <chrono>

#include "modeconn/align.hpp"
#include "modeconn/error.hpp"
#include "modeconn/invariance.hpp"

namespace modeconn {

AlignMethod parse_align_method(std::string_view name) {
  if (name == "none") return AlignMethod::none;
  if (name == "weight") return AlignMethod::weight;
  if (name == "activation") return AlignMethod::activation;
  throw usage_error("unknown alignment method '" + std::string(name) + "' (none, weight, activation)");
}

std::string_view align_method_name(AlignMethod m) {
  switch (m) {
    case AlignMethod::none:
      return "none";
    case AlignMethod::weight:
      return "weight";
    case AlignMethod::activation:
      return "activation";
  }
  return "?";
}

AlignOutcome align_models(Backend& backend, const Model& a, const Model& b, const Dataset* data,
                          const AlignOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.method == AlignMethod::activation && !data)
    throw usage_error("activation matching needs a data set to measure the activations on");
  const Activation act = a.arch.activation;
  if (options.canonicalize_scale && act != Activation::relu && act != Activation::leaky_relu)
    throw usage_error(
        "--canonicalize-scale needs a positively homogeneous activation (relu, leaky_relu), not " +
        std::string(activation_name(act)));
  const Split probe = data ? data->test : random_probe(b.arch, 1024, 12345);

  AlignOutcome out;
  out.a = options.canonicalize_scale ? canonicalize_scale(a) : a;
  const Model b_start = options.canonicalize_scale ? canonicalize_scale(b) : b;
  if (options.canonicalize_scale) {
    require_same_function(compare_functions(backend, a, out.a, probe), "scale canonicalisation of A");
    require_same_function(compare_functions(backend, b, b_start, probe), "scale canonicalisation of B");
  }
  switch (options.method) {
    case AlignMethod::none:
      out.matching.alignment = identity_alignment(a.arch);
      out.matching.objective_before = out.matching.objective_after = weight_inner_product(out.a, b_start);
      break;
    case AlignMethod::weight:
      out.matching = weight_matching(backend, out.a, b_start, options.matching);
      break;
    case AlignMethod::activation:
      out.matching = activation_matching(backend, out.a, b_start, data->train, options.matching);
      break;
  }
  out.aligned = apply_alignment(b_start, out.matching.alignment);
  out.distance_before = weight_distance(out.a, b_start);
  out.distance_after = weight_distance(out.a, out.aligned);

  const FunctionCheck check = compare_functions(backend, b, out.aligned, probe);
  out.max_output_difference = check.max_difference;
  out.tolerance = check.tolerance;
  out.probe_rows = check.rows;
  out.probe = data ? "test split of " + data->source : "random inputs in [-1, 1]";
  require_same_function(check, "alignment of B");
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace modeconn
