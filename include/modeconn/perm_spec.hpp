// The permutation symmetries of a layer graph, derived from the graph (DESIGN: "Symmetries from the graph")
// rather than written by hand per architecture: every hidden linear/conv2d output opens a group; BatchNorm,
// activations and pooling carry it; `add` ties the groups of its inputs; `flatten` after a convolution
// expands a channel into a block of H·W features; the input and the output are fixed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "modeconn/graph.hpp"

namespace modeconn {

struct TensorFile;

// One axis a group's permutation moves: along `axis` of `tensor`, channel c is the `block` consecutive
// indices c·block .. c·block + block − 1 (block H·W for a linear layer's inputs after a flatten, else 1).
struct PermAxis {
  std::string tensor;
  int axis = 0;
  int64_t block = 1;
};

// A set of channels that can be permuted together without changing the function.
struct PermGroup {
  int64_t size = 0;                // channels
  std::vector<std::string> nodes;  // the nodes whose outputs it permutes, in graph order
  std::vector<PermAxis> axes;      // every tensor axis it moves, in graph order
};

struct PermSpec {
  std::vector<PermGroup> groups;
};

PermSpec perm_spec(const Graph& graph);

// Along `axis` of a tensor of `shape`, channel c takes the block that channel perm[c] held (perm[new] = old).
void permute_axis(std::vector<float>& values, const std::vector<int64_t>& shape, const PermAxis& axis,
                  const std::vector<int64_t>& perm);

// Permutes `file`'s tensors by one permutation per group (perms[g][new index] = old index): the network's
// function is unchanged. Throws an internal error for a permutation of the wrong size.
void apply_permutations(const PermSpec& spec, const std::vector<std::vector<int64_t>>& perms,
                        TensorFile& file);

// Git Re-Basin's weight matching over a graph's groups (Ainsworth et al. 2023): coordinate descent, each step
// the exact assignment for one group on the similarity summed over every tensor axis the group moves
// (BatchNorm parameters and running statistics included) of A's slices against B's, B's other axes permuted
// as they currently are. Groups are visited in a fresh seeded order each sweep until none improves.
struct GraphMatching {
  std::vector<std::vector<int64_t>> perms;  // one per group: perms[g][a's channel] = b's channel
  double objective_before = 0;              // sum over the groups' tensors of <A, B>
  double objective_after = 0;               // the same with B permuted
  int sweeps = 0;
};
GraphMatching graph_weight_matching(const PermSpec& spec, const TensorFile& a, const TensorFile& b,
                                    int max_sweeps, uint64_t seed);

}  // namespace modeconn
