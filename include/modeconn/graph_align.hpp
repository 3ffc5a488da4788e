// Aligning one layer graph onto another over the permutation groups derived from the graph, and checking that
// the aligned model computes what the original did.
#pragma once

#include <cstdint>
#include <string>

#include "modeconn/align.hpp"
#include "modeconn/graph_eval.hpp"
#include "modeconn/graph_model.hpp"
#include "modeconn/perm_spec.hpp"

namespace modeconn {

struct GraphAlignOutcome {
  GraphModel aligned;  // B with every group permuted onto A
  PermSpec spec;
  GraphMatching matching;
  int64_t channels = 0;  // over all groups
  int64_t in_place = 0;  // channels the matching left where they were
  double seconds = 0;
  double distance_before = 0;        // ‖θ_A − θ_B‖ over the parameters
  double distance_after = 0;         // ‖θ_A − θ_B'‖
  double max_output_difference = 0;  // |f_B − f_B'| on the probe inputs
  double tolerance = 0;
  int64_t probe_rows = 0;
  std::string probe;  // what the function check ran on
};

// Git Re-Basin's activation matching over a graph's groups: per group, the assignment maximising the
// correlation of A's and B's channels (over every position of `rows` rows of `data`), summed over the group's
// activation and residual-sum outputs (every node of the group when it has neither). Channels constant on the
// data correlate with nothing; among them weight matching's choice wins, so planted permutations come back
// exactly.
GraphMatching graph_activation_matching(GraphRunner& runner, const PermSpec& spec, const GraphModel& a,
                                        const GraphModel& b, const Split& data, int64_t rows,
                                        const MatchingOptions& options);

// Activation matching of graphs reads the first this many training rows.
constexpr int64_t kActivationMatchingRows = 10000;

// Aligns B onto A (weight matching; activation matching when `method` says so, on `data`'s training split)
// and checks on `data`'s test split, or on random inputs without data, that the aligned B computes B's
// function: throws an internal error if not, since nothing wrong may be written.
GraphAlignOutcome align_graph_models(GraphRunner& runner, const GraphModel& a, const GraphModel& b,
                                     const Dataset* data, AlignMethod method, const MatchingOptions& options);

}  // namespace modeconn
