// Weight-space symmetries: linear assignment, permutation (and sign) alignment of B onto A, scale
// canonicalisation.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "modeconn/backend.hpp"
#include "modeconn/model.hpp"

namespace modeconn {

// An exact minimum- (or maximum-) cost assignment of an n×m matrix (row-major), by shortest augmenting
// paths (Jonker–Volgenant family, O(n²m)). Returns the column of each row; with more rows than columns,
// unassigned rows get -1.
std::vector<int64_t> solve_assignment(std::span<const double> cost, int64_t rows, int64_t cols,
                                      bool maximise);

// For each hidden layer: unit i of the aligned model is unit perm[i] of the original, times sign[i].
struct LayerAlignment {
  std::vector<int64_t> perm;
  std::vector<int8_t> sign;  // all +1 unless sign symmetry is used
};

struct Alignment {
  std::vector<LayerAlignment> layers;  // one per hidden layer
};

Alignment identity_alignment(const Architecture& arch);
// Permutes (and flips) B's hidden units; the function is unchanged for permutations, and for signs when
// the activation is odd.
Model apply_alignment(const Model& b, const Alignment& alignment);
// Moves each hidden unit's incoming norm (weights and bias) into its outgoing weights: f(x) is unchanged for
// positively homogeneous activations (relu, leaky_relu), and every unit's incoming vector has norm 1.
Model canonicalize_scale(const Model& model);

// Σ_l ⟨W_l^A, W_l^B⟩ + ⟨b_l^A, b_l^B⟩, in float64: what weight matching maximises.
double weight_inner_product(const Model& a, const Model& b);
// ‖θ_A − θ_B‖₂ in float64.
double weight_distance(const Model& a, const Model& b);

struct MatchingOptions {
  int max_sweeps = 100;
  uint64_t seed = 0;
  bool signs = false;  // align over signed permutations (odd activations only)
};

struct MatchingResult {
  Alignment alignment;
  double objective_before = 0;  // weight matching: inner product; activation matching: summed correlation
  double objective_after = 0;
  int sweeps = 0;
};

// Git Re-Basin weight matching (Ainsworth et al. 2023): coordinate descent over the hidden layers; the
// similarity products run on `backend` (the assignments on the host).
MatchingResult weight_matching(Backend& backend, const Model& a, const Model& b,
                               const MatchingOptions& options);
// Activation matching: per hidden layer, the assignment maximising the Pearson correlation of
// post-activations.
MatchingResult activation_matching(Backend& backend, const Model& a, const Model& b, const Split& data,
                                   const MatchingOptions& options);

// The fraction of hidden units whose position the alignment leaves unchanged.
double fraction_in_place(const Alignment& alignment);

}  // namespace modeconn

namespace modeconn {

enum class AlignMethod { none, weight, activation };
AlignMethod parse_align_method(std::string_view name);
std::string_view align_method_name(AlignMethod m);

struct AlignOptions {
  AlignMethod method = AlignMethod::weight;
  MatchingOptions matching;
  bool canonicalize_scale = false;  // relu, leaky_relu: unit incoming norms before matching
};

struct FunctionCheck;

// Everything `align` reports: B aligned onto A, and how far it moved.
struct AlignOutcome {
  Model a;        // A as matched: canonicalised when asked, else as given
  Model aligned;  // B aligned onto A
  MatchingResult matching;
  double distance_before = 0;  // ‖θ_A − θ_B‖ (canonical forms when canonicalising)
  double distance_after = 0;   // ‖θ_A − θ_B'‖
  double seconds = 0;
  double max_output_difference = 0;  // |f_B − f_B'| on the probe inputs
  double tolerance = 0;
  int64_t probe_rows = 0;
  std::string probe;  // what the function check ran on
};

// Aligns B onto A and checks that the aligned B computes B's function (throws if not). `data` may be null
// for weight matching; the check then runs on random inputs.
AlignOutcome align_models(Backend& backend, const Model& a, const Model& b, const Dataset* data,
                          const AlignOptions& options);

}  // namespace modeconn
