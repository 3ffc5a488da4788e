// Graph alignment: matching over the permutation groups, the permuted copy of B, and the function check.
#include "modeconn/graph_align.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "modeconn/error.hpp"
#include "modeconn/invariance.hpp"
#include "modeconn/rng.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn {
namespace {

Split graph_probe(const GraphModel& m, int64_t rows, uint64_t seed) {
  Split s;
  s.name = "probe";
  s.x_source = s.y_source = "random probe inputs";
  s.rows = rows;
  s.features = m.graph.input_size();
  s.sample_shape = m.graph.nodes.front().shape;
  s.task = m.task;
  Rng rng(seed);
  s.x.resize(static_cast<std::size_t>(rows * s.features));
  for (auto& v : s.x) v = static_cast<float>(2 * rng.uniform() - 1);
  return s;
}

}  // namespace

GraphAlignOutcome align_graph_models(GraphRunner& runner, const GraphModel& a, const GraphModel& b,
                                     const Dataset* data, AlignMethod method,
                                     const MatchingOptions& options) {
  GraphAlignOutcome out;
  out.spec = perm_spec(a.graph);
  const auto start = std::chrono::steady_clock::now();
  const TensorFile file_a = graph_model_to_tensors(a), file_b = graph_model_to_tensors(b);
  if (method == AlignMethod::weight) {
    out.matching = graph_weight_matching(out.spec, file_a, file_b, options.max_sweeps, options.seed);
  } else {
    MODECONN_EXPECTS(data, "activation matching needs data");
    out.matching =
        graph_activation_matching(runner, out.spec, a, b, data->train,
                                  std::min<int64_t>(data->train.rows, kActivationMatchingRows), options);
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  TensorFile aligned = file_b;
  apply_permutations(out.spec, out.matching.perms, aligned);
  out.aligned = graph_model_from_tensors(aligned, "the aligned model");
  out.aligned.task = b.task;
  out.aligned.task_known = b.task_known;
  for (std::size_t i = 0; i < a.params.size(); ++i) {
    out.distance_before += std::pow(double{a.params[i]} - b.params[i], 2);
    out.distance_after += std::pow(double{a.params[i]} - out.aligned.params[i], 2);
  }
  out.distance_before = std::sqrt(out.distance_before);
  out.distance_after = std::sqrt(out.distance_after);
  for (const auto& perm : out.matching.perms)
    for (std::size_t i = 0; i < perm.size(); ++i) {
      ++out.channels;
      out.in_place += perm[i] == static_cast<int64_t>(i);
    }

  const Split probe = data ? Split{} : graph_probe(b, 256, options.seed);
  const Split& on = data ? data->test : probe;
  out.probe = data ? on.x_source : probe.x_source;
  out.probe_rows = std::min<int64_t>(on.rows, 512);
  const std::vector<float> y0 = graph_outputs(runner, b, on, 0, out.probe_rows);
  const std::vector<float> y1 = graph_outputs(runner, out.aligned, on, 0, out.probe_rows);
  double max_output = 0;
  for (std::size_t i = 0; i < y0.size(); ++i) {
    out.max_output_difference = std::max(out.max_output_difference, std::abs(double{y0[i]} - y1[i]));
    max_output = std::max(max_output, std::abs(double{y0[i]}));
  }
  out.tolerance = 1e-4 * (1.0 + max_output);
  FunctionCheck check;
  check.rows = out.probe_rows;
  check.max_difference = out.max_output_difference;
  check.max_output = max_output;
  check.tolerance = out.tolerance;
  check.same = out.max_output_difference <= out.tolerance;
  require_same_function(check, "the alignment");
  return out;
}

}  // namespace modeconn
