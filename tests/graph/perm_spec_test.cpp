// Permutation groups derived from graphs: one group per hidden layer of an MLP, residual streams tied into
// one group, flatten expanding a channel into its H·W features, and permuting by the groups moving exactly
// the listed slices (checked element by element against the permutation).
#include "modeconn/perm_spec.hpp"

#include <gtest/gtest.h>

#include <set>

#include "graph/graph_fixtures.hpp"
#include "modeconn/rng.hpp"
#include "modeconn/tensor_file.hpp"
#include "support/fixtures.hpp"

namespace modeconn {
namespace {

using test::example_graph;

std::vector<std::string> axes_of(const PermGroup& g) {
  std::vector<std::string> out;
  for (const PermAxis& a : g.axes) {
    std::string s = a.tensor;
    s.append(":").append(std::to_string(a.axis));
    if (a.block != 1) s.append("/").append(std::to_string(a.block));
    out.push_back(s);
  }
  return out;
}

TEST(PermSpec, AnMlpHasOneGroupPerHiddenLayer) {
  const Model m = test::random_model({6, 5, 4, 3}, Activation::relu, Task::classification, 1);
  const PermSpec spec = perm_spec(mlp_graph(m.arch));
  ASSERT_EQ(spec.groups.size(), 2u);
  EXPECT_EQ(spec.groups[0].size, 5);
  EXPECT_EQ(axes_of(spec.groups[0]),
            (std::vector<std::string>{"layers.0.weight:0", "layers.0.bias:0", "layers.2.weight:1"}));
  EXPECT_EQ(spec.groups[1].size, 4);
  EXPECT_EQ(axes_of(spec.groups[1]),
            (std::vector<std::string>{"layers.2.weight:0", "layers.2.bias:0", "layers.4.weight:1"}));
}

TEST(PermSpec, ResidualAddsTieGroupsAndFlattenExpandsChannels) {
  // conv1 -> bn1 -> relu1 -> conv2 -> add(conv2, relu1): conv1's and conv2's channels are one group.
  const PermSpec block = perm_spec(graph_from_json(example_graph("resnet_block.json"), "resnet_block.json"));
  ASSERT_EQ(block.groups.size(), 1u);
  EXPECT_EQ(block.groups[0].size, 8);
  EXPECT_EQ(block.groups[0].nodes, (std::vector<std::string>{"conv1", "conv2"}));
  EXPECT_EQ(axes_of(block.groups[0]),
            (std::vector<std::string>{"conv1.weight:0", "bn1.weight:0", "bn1.bias:0", "bn1.running_mean:0",
                                      "bn1.running_var:0", "conv2.weight:1", "conv2.weight:0", "conv2.bias:0",
                                      "fc.weight:1"}));
  // After a 2x2 average pool of 32x32 maps, each of the 16 channels is 16·16 features of the classifier.
  const PermSpec vgg = perm_spec(graph_from_json(example_graph("vgg.json"), "vgg.json"));
  ASSERT_EQ(vgg.groups.size(), 1u);
  EXPECT_EQ(axes_of(vgg.groups[0]), (std::vector<std::string>{"features.0.weight:0", "features.0.bias:0",
                                                              "classifier.weight:1/256"}));
  // A residual add straight from the input pins that stream: nothing there may move.
  const Graph pinned = graph_from_json(R"({"nodes": [{"name": "x", "op": "input", "shape": [4, 6, 6]},
      {"name": "c", "op": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "tensors": {"weight": "w", "bias": "b"}},
      {"name": "s", "op": "add", "inputs": ["c", "x"]}, {"name": "g", "op": "global_avg_pool"}]})",
                                       "pinned");
  EXPECT_TRUE(perm_spec(pinned).groups.empty());
}

TEST(PermSpec, ApplyingMovesEachBlockWhereThePermutationSays) {
  const Graph g = graph_from_json(example_graph("vgg.json"), "vgg.json");
  const PermSpec spec = perm_spec(g);
  const TensorFile f = test::tensors_for(g, [](TensorRole, int64_t i) { return static_cast<float>(i); });
  std::vector<int64_t> perm(16);
  for (int64_t c = 0; c < 16; ++c) perm[static_cast<std::size_t>(c)] = (c * 5 + 3) % 16;
  TensorFile moved = f;
  apply_permutations(spec, {perm}, moved);
  // features.0.weight [16, 3, 3, 3]: row c is old row perm[c]; classifier.weight [10, 4096]: in every row the
  // 256 features of channel c are the old ones of channel perm[c].
  const auto& w = moved.tensors[0].values;
  for (int64_t c = 0; c < 16; ++c)
    for (int64_t k = 0; k < 27; ++k)
      ASSERT_EQ(w[static_cast<std::size_t>(c * 27 + k)],
                static_cast<float>(perm[static_cast<std::size_t>(c)] * 27 + k));
  const NamedTensor* cls = moved.find("classifier.weight");
  ASSERT_NE(cls, nullptr);
  for (int64_t r = 0; r < 10; ++r)
    for (int64_t c = 0; c < 16; ++c)
      for (int64_t b = 0; b < 256; ++b)
        ASSERT_EQ(cls->values[static_cast<std::size_t>(r * 4096 + c * 256 + b)],
                  static_cast<float>(r * 4096 + perm[static_cast<std::size_t>(c)] * 256 + b));
}

// Random tensors for every tensor a graph names (running variances positive).
TensorFile random_tensors(const Graph& g, uint64_t seed) {
  Rng rng(seed);
  return test::tensors_for(g, [&](TensorRole role, int64_t) {
    return role == TensorRole::running_var ? static_cast<float>(0.5 + rng.uniform())
                                           : static_cast<float>(rng.uniform() * 2 - 1);
  });
}

// Two residual stages, the second with a projection shortcut, BatchNorm everywhere: a planted permutation of
// every group comes back exactly, the objective reaching <A, A>.
TEST(GraphWeightMatching, UndoesAPlantedPermutationOfAResNetExactly) {
  const Graph g = graph_from_json(R"({"nodes": [{"name": "x", "op": "input", "shape": [3, 8, 8]},
      {"name": "stem", "op": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1, "bias": false, "tensors": {"weight": "stem.w"}},
      {"name": "stem_bn", "op": "batch_norm", "tensors": {"weight": "sb.w", "bias": "sb.b", "running_mean": "sb.m", "running_var": "sb.v"}},
      {"name": "r0", "op": "activation", "activation": "relu"},
      {"name": "c1", "op": "conv2d", "out_channels": 5, "kernel": 3, "padding": 1, "tensors": {"weight": "c1.w", "bias": "c1.b"}},
      {"name": "r1", "op": "activation", "activation": "relu"},
      {"name": "c2", "op": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1, "tensors": {"weight": "c2.w", "bias": "c2.b"}},
      {"name": "add1", "op": "add", "inputs": ["c2", "r0"]},
      {"name": "r2", "op": "activation", "activation": "relu"},
      {"name": "c3", "op": "conv2d", "out_channels": 7, "kernel": 3, "stride": 2, "padding": 1, "tensors": {"weight": "c3.w", "bias": "c3.b"}},
      {"name": "proj", "op": "conv2d", "inputs": ["r2"], "out_channels": 7, "kernel": 1, "stride": 2, "tensors": {"weight": "p.w", "bias": "p.b"}},
      {"name": "add2", "op": "add", "inputs": ["c3", "proj"]},
      {"name": "flat", "op": "flatten"},
      {"name": "fc", "op": "linear", "out_features": 4, "tensors": {"weight": "fc.w", "bias": "fc.b"}}]})",
                                  "resnet");
  const PermSpec spec = perm_spec(g);
  ASSERT_EQ(spec.groups.size(), 3u);  // stem+stage 1 stream, c1, stage 2 stream (c3 tied with proj)
  const TensorFile a = random_tensors(g, 1);
  for (uint64_t seed : {2, 3}) {
    Rng rng(seed);
    std::vector<std::vector<int64_t>> planted;
    for (const PermGroup& group : spec.groups) {
      std::vector<int64_t> p(static_cast<std::size_t>(group.size));
      for (int64_t i = 0; i < group.size; ++i) p[static_cast<std::size_t>(i)] = i;
      for (std::size_t i = p.size(); i > 1; --i) std::swap(p[i - 1], p[rng.below(i)]);
      planted.push_back(p);
    }
    TensorFile b = a;
    apply_permutations(spec, planted, b);
    ASSERT_NE(b.tensors[0].values, a.tensors[0].values);
    const GraphMatching m = graph_weight_matching(spec, a, b, 100, seed);
    TensorFile back = b;
    apply_permutations(spec, m.perms, back);
    for (std::size_t t = 0; t < a.tensors.size(); ++t)
      EXPECT_EQ(back.tensors[t].values, a.tensors[t].values) << a.tensors[t].name << ", seed " << seed;
    // <A, A> over the tensors the groups move (fc's bias, on the fixed output, is not one of them).
    std::set<std::string> moved;
    for (const PermGroup& group : spec.groups)
      for (const PermAxis& axis : group.axes) moved.insert(axis.tensor);
    double self = 0;
    for (const auto& t : a.tensors)
      if (moved.count(t.name))
        for (float v : t.values) self += static_cast<double>(v) * v;
    EXPECT_LT(m.objective_before, m.objective_after);
    EXPECT_NEAR(m.objective_after, self, 1e-9 * self);
  }
}

}  // namespace
}  // namespace modeconn
