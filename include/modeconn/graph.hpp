// A model as a layer graph (DESIGN: "Networks beyond MLPs"): an ordered list of nodes, each an op with its
// inputs, attributes and tensor names. The MLP is one case of it. Graphs are read from the JSON in a
// safetensors file's `modeconn.graph` metadata and validated completely before anything uses them: every op
// known, every input an earlier node, every attribute in range, every shape chaining, every tensor present
// with the shape its node needs.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "modeconn/activation.hpp"
#include "modeconn/model.hpp"

namespace modeconn {

struct TensorFile;

enum class Op {
  input,            // the data: shape [D] or [C, H, W]
  linear,           // y = W x + b on a flat input: W [out, in]
  conv2d,           // W [out_channels, in_channels, kh, kw], groups = 1
  batch_norm,       // per channel (or feature): weight, bias; running_mean, running_var are buffers
  activation,       // one of modeconn's activations, elementwise
  max_pool2d,       // kernel, stride, padding
  avg_pool2d,       // kernel, stride, padding (padding counted in the average, as PyTorch's default)
  global_avg_pool,  // [C, H, W] -> [C]
  flatten,          // [C, H, W] -> [C·H·W]
  add,              // residual: two inputs of one shape
};
constexpr int kNumOps = 10;
std::string_view op_name(Op op);

// Limits on a graph modeconn reads: beyond them a file is refused up front.
constexpr std::size_t kMaxNodes = 4096;
constexpr int64_t kMaxChannels = int64_t{1} << 16;
constexpr int64_t kMaxSpatial = 4096;  // height or width of a feature map
constexpr int64_t kMaxKernel = 64;

// The role of each tensor a node names, in the order of the flat parameter vector (buffers apart).
enum class TensorRole { weight, bias, running_mean, running_var };
std::string_view tensor_role_name(TensorRole role);
bool is_buffer(TensorRole role);  // running statistics, not parameters

struct Node {
  std::string name;
  Op op = Op::input;
  std::vector<int> inputs;  // indices of earlier nodes; empty only for `input`

  // Attributes (those of other ops stay at their defaults).
  std::vector<int64_t> input_shape;          // input: [D] or [C, H, W]
  int64_t out = 0;                           // linear: out features; conv2d: out channels
  bool has_bias = true;                      // linear, conv2d; batch_norm: affine (weight and bias)
  std::array<int64_t, 2> kernel{1, 1};       // conv2d, pools
  std::array<int64_t, 2> stride{1, 1};       // conv2d, pools
  std::array<int64_t, 2> padding{0, 0};      // conv2d, pools
  std::array<int64_t, 2> dilation{1, 1};     // conv2d
  double eps = 1e-5;                         // batch_norm
  Activation activation = Activation::relu;  // activation

  std::map<TensorRole, std::string> tensors;  // the file's tensor name for each role the op has

  // Computed by validation: the output shape of one sample, [D] or [C, H, W].
  std::vector<int64_t> shape;
};

struct Graph {
  std::vector<Node> nodes;  // nodes[0] is the input; the last node is the output

  const Node& output() const { return nodes.back(); }
  int64_t input_size() const;   // features of one sample (C·H·W or D)
  int64_t output_size() const;  // logits or regression targets
  // The shape each tensor of a node must have ("weight" of a conv2d: [out, in_channels, kh, kw]).
  std::vector<int64_t> tensor_shape(const Node& node, TensorRole role) const;
  // Parameters (weights and biases, in node order) and buffers (running statistics) in all.
  int64_t num_params() const;
  int64_t num_buffers() const;
  // Whether the graph is a chain of linear layers with one activation between them, as an MLP file holds.
  bool is_mlp() const;
};

// The index of the node called `name`; throws an internal error when there is none (callers pass names the
// graph itself gave them, such as a permutation group's).
int node_index(const Graph& graph, const std::string& name);

// The roles a node's tensors take, in parameter order (buffers after).
std::vector<TensorRole> node_roles(const Node& node);

// Checks the structure and computes every node's shape. Throws an input error naming `where` and the node for
// a graph that cannot run: an input that is not an earlier node (a cycle or a dangling reference), a shape
// that does not chain, an attribute out of range (a stride of 0, padding larger than the kernel allows...).
void validate_graph(Graph& graph, const std::string& where);

// Reads a graph from its JSON (the `modeconn.graph` metadata) and validates it; `where` names the file.
Graph graph_from_json(std::string_view text, const std::string& where);
std::string graph_to_json(const Graph& graph);

// Checks that every tensor the graph names is in the file with the shape its node needs, and that the file
// holds no tensor the graph does not name.
void check_graph_tensors(const Graph& graph, const TensorFile& file, const std::string& where);

// The MLP as a graph: input [D], then linear, activation, linear, ..., linear; tensor names as in the file.
Graph mlp_graph(const Architecture& arch);

}  // namespace modeconn
