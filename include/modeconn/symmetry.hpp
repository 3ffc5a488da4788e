// Symmetry diagnostics of one model: how many equivalent networks, dead and near-duplicate units, and the
// permutation saddle between the two most similar units of each layer.
#pragma once

#include <string>
#include <vector>

#include "modeconn/backend.hpp"
#include "modeconn/barrier.hpp"

namespace modeconn {

struct UnitPair {
  int64_t i = 0, j = 0;
  double cosine = 0;  // of the incoming vectors [w, b]; |cos| for odd activations
};

struct SaddlePath {
  UnitPair pair;
  std::vector<double> ts;
  std::vector<double> loss;  // on the split the diagnostics ran on
  Barrier barrier;
};

struct LayerSymmetry {
  std::string name;
  int64_t units = 0;
  double log10_permutations = 0;          // log10(n!) (+ n·log10 2 with sign symmetry)
  std::vector<int64_t> dead_units;        // never active on the data (empty without data)
  std::vector<UnitPair> near_duplicates;  // cosine above the threshold, most similar first (the first few)
  int64_t near_duplicate_pairs = 0;       // how many pairs are above the threshold
  UnitPair closest;
  SaddlePath saddle;  // evaluated only with data
};

struct SymmetryReport {
  double log10_equivalent = 0;
  bool sign_symmetry = false;
  bool has_data = false;
  std::string split;
  std::vector<LayerSymmetry> layers;
  bool straight_swap = false;  // the swap barrier runs along the straight line (layer graphs)
};

struct SymmetryOptions {
  double duplicate_cosine = 0.99;
  int saddle_points = 25;
  std::size_t max_duplicates_listed = 20;
};

// A layer graph's symmetries, one "layer" per permutation group: its channels, dead channels (constant on the
// data at every activation or residual sum the group carries), near-duplicate channels by the cosine of their
// incoming filters and biases, and, with data, the loss barrier along the straight line from the model to its
// copy with the closest pair swapped (BatchNorm as trained).
struct GraphModel;
class GraphRunner;
SymmetryReport analyse_graph_symmetry(GraphRunner& runner, const GraphModel& model, const Split* data,
                                      const SymmetryOptions& options);

// `data` may be null: then only the counts and near-duplicates are computed.
SymmetryReport analyse_symmetry(Backend& backend, const Model& model, const Split* data,
                                const SymmetryOptions& options);

// The path of Brea et al. (2019) that swaps units i and j of hidden layer `layer`: their incoming weights
// meet at their mean, the outgoing weights are exchanged there (where it cannot change the function), and
// the incoming weights move on to each other's. A polygonal chain of four control points.
Path swap_path(const Model& model, std::size_t layer, int64_t i, int64_t j);

}  // namespace modeconn
