// The layer graph: shapes and parameter counts against PyTorch's formulas written out here, the MLP as a
// graph, JSON that round-trips, and every class of malformed graph refused naming the file and the node.
#include "modeconn/graph.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "graph/graph_fixtures.hpp"
#include "modeconn/error.hpp"
#include "modeconn/tensor_file.hpp"
#include "support/fixtures.hpp"

namespace modeconn {
namespace {

using test::example_graph;

// PyTorch's output size of a window, written independently of the library.
int64_t torch_out(int64_t size, int64_t k, int64_t s, int64_t p, int64_t d = 1) {
  return (size + 2 * p - d * (k - 1) - 1) / s + 1;
}

const Node& node(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes)
    if (n.name == name) return n;
  throw std::runtime_error("no node " + name);
}

TEST(Graph, ShapesAndCountsFollowPyTorch) {
  const Graph g = graph_from_json(example_graph("resnet_block.json"), "resnet_block.json");
  EXPECT_EQ(node(g, "conv1").shape, (std::vector<int64_t>{8, 28, 28}));
  EXPECT_EQ(node(g, "add").shape, (std::vector<int64_t>{8, 28, 28}));
  EXPECT_EQ(node(g, "pool").shape, (std::vector<int64_t>{8, torch_out(28, 2, 2, 0), torch_out(28, 2, 2, 0)}));
  EXPECT_EQ(node(g, "gap").shape, (std::vector<int64_t>{8}));
  EXPECT_EQ(g.output_size(), 10);
  EXPECT_EQ(g.input_size(), 28 * 28);
  // conv1 (no bias) + bn1 (weight, bias) + conv2 (with bias) + fc
  EXPECT_EQ(g.num_params(), 8 * 1 * 9 + 2 * 8 + (8 * 8 * 9 + 8) + (10 * 8 + 10));
  EXPECT_EQ(g.num_buffers(), 2 * 8);
  EXPECT_EQ(g.tensor_shape(node(g, "conv2"), TensorRole::weight), (std::vector<int64_t>{8, 8, 3, 3}));
  EXPECT_FALSE(g.is_mlp());

  const Graph v = graph_from_json(example_graph("vgg.json"), "vgg.json");
  const int64_t side = torch_out(torch_out(32, 3, 1, 1), 2, 2, 0);
  EXPECT_EQ(node(v, "flat").shape, (std::vector<int64_t>{16 * side * side}));
  EXPECT_EQ(v.num_params(), 16 * 3 * 9 + 16 + 10 * 16 * side * side);

  // Strided and dilated convolutions, against the formula.
  for (const auto& [k, s, p, d] :
       std::vector<std::array<int64_t, 4>>{{3, 2, 1, 1}, {5, 3, 2, 2}, {1, 2, 0, 1}}) {
    const std::string text = R"({"nodes": [{"name": "x", "op": "input", "shape": [3, 31, 17]},
        {"name": "c", "op": "conv2d", "out_channels": 4, "kernel": )" +
                             std::to_string(k) + R"(, "stride": )" + std::to_string(s) + R"(, "padding": )" +
                             std::to_string(p) + R"(, "dilation": )" + std::to_string(d) +
                             R"(, "tensors": {"weight": "w", "bias": "b"}},
        {"name": "g", "op": "global_avg_pool"}]})";
    const Graph c = graph_from_json(text, "conv");
    EXPECT_EQ(node(c, "c").shape,
              (std::vector<int64_t>{4, torch_out(31, k, s, p, d), torch_out(17, k, s, p, d)}))
        << k << " " << s << " " << p << " " << d;
  }
}

TEST(Graph, TheMlpIsAGraphAndJsonRoundTrips) {
  const Model m = test::random_model({12, 16, 10, 4}, Activation::gelu, Task::classification, 3);
  const Graph g = mlp_graph(m.arch);
  EXPECT_TRUE(g.is_mlp());
  EXPECT_EQ(g.num_params(), static_cast<int64_t>(m.arch.num_params()));
  EXPECT_EQ(g.num_buffers(), 0);
  EXPECT_EQ(g.output_size(), 4);
  EXPECT_EQ(node(g, "layers.2").tensors.at(TensorRole::weight), "layers.2.weight");
  for (const std::string& text : {graph_to_json(g), example_graph("resnet_block.json"),
                                  example_graph("vgg.json"), example_graph("mlp.json")}) {
    const Graph once = graph_from_json(text, "once");
    const std::string written = graph_to_json(once);
    EXPECT_EQ(graph_to_json(graph_from_json(written, "twice")), written);
  }
  EXPECT_TRUE(graph_from_json(example_graph("mlp.json"), "mlp.json").is_mlp());
  EXPECT_EQ(graph_from_json(graph_to_json(g), "g").nodes[2].activation, Activation::gelu);
}

TEST(Graph, TensorsMustBeThereWithTheShapesTheNodesNeed) {
  const Model m = test::random_model({6, 5, 3}, Activation::relu, Task::classification, 1);
  const Graph g = mlp_graph(m.arch);
  TensorFile f = model_to_tensors(m);
  EXPECT_NO_THROW(check_graph_tensors(g, f, "m.safetensors"));
  const auto refused = [&](const TensorFile& file, const std::string& problem) {
    try {
      check_graph_tensors(g, file, "m.safetensors");
      ADD_FAILURE() << "accepted: " << problem;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::input);
      EXPECT_EQ(std::string(e.what()).rfind("m.safetensors: ", 0), 0u) << e.what();
      EXPECT_NE(std::string(e.what()).find(problem), std::string::npos) << e.what();
    }
  };
  TensorFile missing = f;
  missing.tensors.pop_back();
  refused(missing, "needs tensor 'layers.2.bias', which the file does not hold");
  TensorFile wrong = f;
  wrong.tensors[0].shape = {5, 7};
  refused(wrong, "tensor 'layers.0.weight' has shape [5, 7] but graph node 'layers.0' needs [5, 6]");
  TensorFile extra = f;
  extra.tensors.push_back({"stray.weight", {1}, {0.f}});
  refused(extra, "tensor 'stray.weight' belongs to no node");
}

// One JSON text per class of malformed graph, the words the refusal must hold, and the node it must name.
struct Malformed {
  std::string what, json, problem;
};

std::string graph_of(const std::string& middle, const std::string& input = R"([1, 8, 8])") {
  return R"({"nodes": [{"name": "x", "op": "input", "shape": )" + input + "}, " + middle + "]}";
}

TEST(Graph, EveryMalformedGraphIsRefusedNamingTheFileAndTheNode) {
  const auto conv_k = [](int k) {
    return R"("op": "conv2d", "out_channels": 2, "kernel": )" + std::to_string(k) +
           R"(, "tensors": {"weight": "w", "bias": "b"})";
  };
  const std::string conv = conv_k(3);
  const std::string head = R"({"name": "g", "op": "global_avg_pool"})";
  const std::vector<Malformed> cases = {
      {"not JSON", "{\"nodes\": [", "metadata modeconn.graph"},
      {"no nodes list", R"({"layers": []})", "not an object with a \"nodes\" list"},
      {"no nodes", R"({"nodes": []})", "has no nodes"},
      {"unknown op", graph_of(R"({"name": "s", "op": "softmax2d"})"),
       "graph node 's': unknown op 'softmax2d'"},
      {"a cycle",
       graph_of(R"({"name": "a", "op": "activation", "activation": "relu", "inputs": ["b"]},
                            {"name": "b", "op": "activation", "activation": "relu", "inputs": ["a"]}, )" +
                head),
       "graph node 'a': input 'b' is not an earlier node"},
      {"an input that does not exist", graph_of(R"({"name": "a", "op": "flatten", "inputs": ["nowhere"]})"),
       "input 'nowhere' is not an earlier node"},
      {"two inputs", R"({"nodes": [{"name": "x", "op": "input", "shape": [4]},
                      {"name": "y", "op": "input", "shape": [4]}]})",
       "graph node 'y' (input): only the first node may be the input"},
      {"not starting with the input", R"({"nodes": [{"name": "f", "op": "flatten"}]})", "graph node 'f'"},
      {"a name twice", graph_of(R"({"name": "x", "op": "flatten"})"), "a second node of that name"},
      {"shapes that do not chain: linear on a feature map",
       graph_of(
           R"({"name": "fc", "op": "linear", "out_features": 3, "tensors": {"weight": "w", "bias": "b"}})"),
       "graph node 'fc' (linear): needs a flat input, not [1, 8, 8]"},
      {"shapes that do not chain: conv on flat data", graph_of(R"({"name": "c", )" + conv + "}", "[64]"),
       "graph node 'c' (conv2d): needs a [C, H, W] input, not [64]"},
      {"an add of two shapes",
       graph_of(R"({"name": "c", )" + conv + R"(, "padding": 1},
                                         {"name": "p", "op": "max_pool2d", "kernel": 2, "inputs": ["x"]},
                                         {"name": "s", "op": "add", "inputs": ["c", "p"]}, )" +
                head),
       "graph node 's' (add): adds [2, 8, 8] and [1, 4, 4], which differ"},
      {"an add of one input", graph_of(R"({"name": "s", "op": "add"}, )" + head), "takes 2 input(s), not 1"},
      {"a stride of 0", graph_of(R"({"name": "c", )" + conv + R"(, "stride": 0}, )" + head), "stride 0"},
      {"padding larger than the kernel", graph_of(R"({"name": "c", )" + conv + R"(, "padding": 3}, )" + head),
       "graph node 'c' (conv2d): padding 3 for a window of 3"},
      {"pool padding beyond half its window",
       graph_of(R"({"name": "p", "op": "max_pool2d", "kernel": 2, "padding": 2}, )" + head), "padding 2"},
      {"a kernel bigger than its input", graph_of(R"({"name": "c", )" + conv_k(9) + "}, " + head),
       "does not fit its 8×8 input"},
      {"a kernel of 0", graph_of(R"({"name": "c", )" + conv_k(0) + "}, " + head), "kernel 0"},
      {"a misspelt attribute", graph_of(R"({"name": "c", )" + conv + R"(, "strides": 2}, )" + head),
       "unknown attribute 'strides' for conv2d"},
      {"a tensor role the op has not",
       graph_of(R"({"name": "f", "op": "flatten", "tensors": {"weight": "w"}}, )" + head),
       "names a weight tensor"},
      // Found by fuzz_graph: the check compared iterators of two different lists.
      {"a bias named for a conv without one",
       graph_of(R"({"name": "c", "op": "conv2d", "out_channels": 2, "kernel": 3, "bias": false,
                   "tensors": {"weight": "w", "bias": "b"}}, )" +
                head),
       "names a bias tensor, which a conv2d without bias has not"},
      {"a conv without its weight's name",
       graph_of(R"({"name": "c", "op": "conv2d", "out_channels": 2, "kernel": 3}, )" + head),
       "names no weight tensor"},
      {"an unknown activation",
       graph_of(R"({"name": "a", "op": "activation", "activation": "swish"}, )" + head), "swish"},
      {"zero out_features",
       graph_of(
           R"({"name": "fl", "op": "flatten"}, {"name": "fc", "op": "linear", "out_features": 0, "tensors": {"weight": "w", "bias": "b"}})"),
       "out_features 0"},
      {"a bad eps",
       graph_of(
           R"({"name": "bn", "op": "batch_norm", "eps": -1, "affine": false, "tensors": {"running_mean": "m", "running_var": "v"}}, )" +
           head),
       "eps must be above 0"},
      {"an output that is not flat", graph_of(R"({"name": "a", "op": "activation", "activation": "relu"})"),
       "the last node is the output and must be flat"},
      {"an input shape of 0", graph_of(head, "[1, 0, 8]"), "graph node 'x' (input): shape [1, 0, 8]"},
      {"an input of two dimensions", graph_of(head, "[8, 8]"), "must be [D] or [C, H, W]"},
      {"a huge channel count",
       graph_of(
           R"({"name": "c", "op": "conv2d", "out_channels": 99999999999, "kernel": 1, "tensors": {"weight": "w", "bias": "b"}}, )" +
           head),
       "out_channels 99999999999"},
      {"a node that is not an object", R"({"nodes": [3]})", "graph node '#0': is not an object"},
  };
  for (const Malformed& c : cases) {
    try {
      (void)graph_from_json(c.json, "net.safetensors");
      ADD_FAILURE() << "accepted " << c.what;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::input) << c.what << ": " << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("net.safetensors", 0), 0u) << c.what << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(c.problem), std::string::npos) << c.what << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace modeconn
