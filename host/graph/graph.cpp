// The layer graph: validation, shapes, parameter counts, the MLP as a graph, and the check of a file's
// tensors against the graph.
#include "modeconn/graph.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "modeconn/error.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn {

std::vector<TensorRole> node_roles(const Node& node) {
  switch (node.op) {
    case Op::linear:
    case Op::conv2d:
      return node.has_bias ? std::vector{TensorRole::weight, TensorRole::bias}
                           : std::vector{TensorRole::weight};
    case Op::batch_norm:
      return node.has_bias ? std::vector{TensorRole::weight, TensorRole::bias, TensorRole::running_mean,
                                         TensorRole::running_var}
                           : std::vector{TensorRole::running_mean, TensorRole::running_var};
    default:
      return {};
  }
}

int node_index(const Graph& graph, const std::string& name) {
  for (std::size_t i = 0; i < graph.nodes.size(); ++i)
    if (graph.nodes[i].name == name) return static_cast<int>(i);
  throw Error(ErrorKind::internal, "internal: no node " + name + " in the graph");
}

bool is_buffer(TensorRole role) {
  return role == TensorRole::running_mean || role == TensorRole::running_var;
}

namespace {

// A pooled or convolved extent: PyTorch's floor((size + 2·pad − dilation·(kernel − 1) − 1) / stride) + 1.
int64_t window_out(int64_t size, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  const int64_t span = size + 2 * pad - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

class Validator {
 public:
  Validator(Graph& g, const std::string& where) : g_(g), where_(where) {}

  void run() {
    if (g_.nodes.empty()) throw input_error(where_, "the graph has no nodes");
    if (g_.nodes.size() > kMaxNodes)
      throw input_error(where_, "the graph has " + std::to_string(g_.nodes.size()) + " nodes; at most " +
                                    std::to_string(kMaxNodes));
    std::set<std::string> names;
    for (std::size_t i = 0; i < g_.nodes.size(); ++i) {
      Node& n = g_.nodes[i];
      if (n.name.empty()) throw input_error(where_, "graph node " + std::to_string(i) + " has no name");
      if (!names.insert(n.name).second) throw fail(n, "a second node of that name");
      if ((i == 0) != (n.op == Op::input))
        throw fail(n, i == 0 ? "the first node must be the input" : "only the first node may be the input");
      const std::size_t wanted = n.op == Op::input ? 0 : n.op == Op::add ? 2 : 1;
      if (n.inputs.size() != wanted)
        throw fail(n,
                   "takes " + std::to_string(wanted) + " input(s), not " + std::to_string(n.inputs.size()));
      for (int in : n.inputs)
        if (in < 0 || static_cast<std::size_t>(in) >= i)
          throw fail(n, "an input must be an earlier node (a later one would make a cycle)");
      n.shape = shape_of(n);
      const std::vector<TensorRole> needed = node_roles(n);
      for (TensorRole r : needed)
        if (n.tensors.count(r) == 0 || n.tensors.at(r).empty())
          throw fail(n, "names no " + std::string(tensor_role_name(r)) + " tensor");
      for (const auto& [r, _] : n.tensors)
        if (std::find(needed.begin(), needed.end(), r) == needed.end())
          throw fail(n, "names a " + std::string(tensor_role_name(r)) + " tensor, which a " +
                            std::string(op_name(n.op)) + (n.has_bias ? "" : " without bias") + " has not");
    }
    if (g_.output().shape.size() != 1)
      throw fail(g_.output(),
                 "the last node is the output and must be flat, not " + shape_text(g_.output().shape));
  }

 private:
  Error fail(const Node& n, const std::string& problem) const {
    return input_error(where_,
                       "graph node '" + n.name + "' (" + std::string(op_name(n.op)) + "): " + problem);
  }

  const std::vector<int64_t>& in(const Node& n, std::size_t k = 0) const {
    return g_.nodes[static_cast<std::size_t>(n.inputs[k])].shape;
  }

  const std::vector<int64_t>& spatial_input(const Node& n) const {
    const auto& s = in(n);
    if (s.size() != 3) throw fail(n, "needs a [C, H, W] input, not " + shape_text(s));
    return s;
  }

  void check_window(const Node& n, bool dilated) const {
    for (int a = 0; a < 2; ++a) {
      if (n.kernel[a] < 1 || n.kernel[a] > kMaxKernel)
        throw fail(n,
                   "kernel " + std::to_string(n.kernel[a]) + " outside 1 to " + std::to_string(kMaxKernel));
      if (n.stride[a] < 1 || n.stride[a] > kMaxKernel)
        throw fail(n,
                   "stride " + std::to_string(n.stride[a]) + " outside 1 to " + std::to_string(kMaxKernel));
      if (n.dilation[a] < 1 || n.dilation[a] > kMaxKernel || (!dilated && n.dilation[a] != 1))
        throw fail(n, "dilation " + std::to_string(n.dilation[a]) + " not allowed");
      // Padding beyond half the window only adds outputs that see nothing but padding (PyTorch refuses it for
      // pools); beyond the window it is surely a mistake.
      const int64_t window = n.dilation[a] * (n.kernel[a] - 1) + 1;
      const int64_t most = dilated ? window - 1 : window / 2;
      if (n.padding[a] < 0 || n.padding[a] > most)
        throw fail(n, "padding " + std::to_string(n.padding[a]) + " for a window of " +
                          std::to_string(window) + " (at most " + std::to_string(most) + ")");
    }
  }

  std::vector<int64_t> window_shape(const Node& n, int64_t channels, bool dilated) const {
    const auto& s = spatial_input(n);
    check_window(n, dilated);
    const int64_t h = window_out(s[1], n.kernel[0], n.stride[0], n.padding[0], n.dilation[0]);
    const int64_t w = window_out(s[2], n.kernel[1], n.stride[1], n.padding[1], n.dilation[1]);
    if (h < 1 || w < 1)
      throw fail(n, "its window does not fit its " + std::to_string(s[1]) + "×" + std::to_string(s[2]) +
                        " input even once");
    return {channels, h, w};
  }

  std::vector<int64_t> shape_of(const Node& n) const {
    switch (n.op) {
      case Op::input: {
        const auto& s = n.input_shape;
        if (s.size() != 1 && s.size() != 3)
          throw fail(n, "shape must be [D] or [C, H, W], not " + shape_text(s));
        const bool spatial = s.size() == 3;
        for (std::size_t k = 0; k < s.size(); ++k) {
          const int64_t most = !spatial ? kMaxWidth : k == 0 ? kMaxChannels : kMaxSpatial;
          if (s[k] < 1 || s[k] > most)
            throw fail(n, "shape " + shape_text(s) + " has a size outside 1 to " + std::to_string(most));
        }
        return s;
      }
      case Op::linear: {
        const auto& s = in(n);
        if (s.size() != 1) throw fail(n, "needs a flat input, not " + shape_text(s) + " (flatten it first)");
        if (n.out < 1 || n.out > kMaxWidth)
          throw fail(n,
                     "out_features " + std::to_string(n.out) + " outside 1 to " + std::to_string(kMaxWidth));
        return {n.out};
      }
      case Op::conv2d:
        if (n.out < 1 || n.out > kMaxChannels)
          throw fail(
              n, "out_channels " + std::to_string(n.out) + " outside 1 to " + std::to_string(kMaxChannels));
        return window_shape(n, n.out, true);
      case Op::batch_norm: {
        const auto& s = in(n);
        if (!(n.eps > 0 && std::isfinite(n.eps) && n.eps < 1))
          throw fail(n, "eps must be above 0 and below 1, not " + std::to_string(n.eps));
        return s;
      }
      case Op::activation:
        return in(n);
      case Op::max_pool2d:
      case Op::avg_pool2d:
        return window_shape(n, spatial_input(n)[0], false);
      case Op::global_avg_pool:
        return {spatial_input(n)[0]};
      case Op::flatten: {
        const auto& s = in(n);
        int64_t size = 1;
        for (int64_t d : s) size *= d;
        return {size};
      }
      case Op::add:
        if (in(n, 0) != in(n, 1))
          throw fail(n, "adds " + shape_text(in(n, 0)) + " and " + shape_text(in(n, 1)) + ", which differ");
        return in(n, 0);
    }
    throw fail(n, "unknown op");
  }

  Graph& g_;
  const std::string& where_;
};

}  // namespace

std::string_view op_name(Op op) {
  static constexpr std::string_view kNames[kNumOps] = {
      "input",      "linear",     "conv2d",          "batch_norm", "activation",
      "max_pool2d", "avg_pool2d", "global_avg_pool", "flatten",    "add"};
  return kNames[static_cast<int>(op)];
}

std::string_view tensor_role_name(TensorRole role) {
  switch (role) {
    case TensorRole::weight:
      return "weight";
    case TensorRole::bias:
      return "bias";
    case TensorRole::running_mean:
      return "running_mean";
    case TensorRole::running_var:
      return "running_var";
  }
  return "?";
}

int64_t Graph::input_size() const {
  int64_t size = 1;
  for (int64_t d : nodes.front().shape) size *= d;
  return size;
}

int64_t Graph::output_size() const { return output().shape.front(); }

std::vector<int64_t> Graph::tensor_shape(const Node& node, TensorRole role) const {
  const auto& in = nodes[static_cast<std::size_t>(node.inputs.front())].shape;
  switch (node.op) {
    case Op::linear:
      return role == TensorRole::weight ? std::vector<int64_t>{node.out, in[0]}
                                        : std::vector<int64_t>{node.out};
    case Op::conv2d:
      return role == TensorRole::weight
                 ? std::vector<int64_t>{node.out, in[0], node.kernel[0], node.kernel[1]}
                 : std::vector<int64_t>{node.out};
    case Op::batch_norm:
      return {in[0]};
    default:
      return {};
  }
}

int64_t Graph::num_params() const {
  int64_t total = 0;
  for (const Node& n : nodes)
    for (TensorRole r : node_roles(n))
      if (!is_buffer(r)) {
        int64_t size = 1;
        for (int64_t d : tensor_shape(n, r)) size *= d;
        total += size;
      }
  return total;
}

int64_t Graph::num_buffers() const {
  int64_t total = 0;
  for (const Node& n : nodes)
    for (TensorRole r : node_roles(n))
      if (is_buffer(r)) total += tensor_shape(n, r).front();
  return total;
}

bool Graph::is_mlp() const {
  if (nodes.size() < 2 || nodes.front().shape.size() != 1) return false;
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    const Op expected = i % 2 == 1 ? Op::linear : Op::activation;
    if (n.op != expected || n.inputs.front() != static_cast<int>(i - 1)) return false;
    if (n.op == Op::activation && n.activation != nodes[2].activation) return false;
  }
  return nodes.back().op == Op::linear;
}

void validate_graph(Graph& graph, const std::string& where) { Validator(graph, where).run(); }

void check_graph_tensors(const Graph& graph, const TensorFile& file, const std::string& where) {
  std::set<std::string> named;
  for (const Node& n : graph.nodes)
    for (const auto& [role, name] : n.tensors) {
      if (!named.insert(name).second)
        throw input_error(where,
                          "graph node '" + n.name + "' names tensor '" + name + "', which another uses");
      const NamedTensor* t = file.find(name);
      if (!t)
        throw input_error(where, "graph node '" + n.name + "' (" + std::string(op_name(n.op)) +
                                     ") needs tensor '" + name + "', which the file does not hold");
      const auto want = graph.tensor_shape(n, role);
      if (t->shape != want)
        throw input_error(where, "tensor '" + name + "' has shape " + shape_text(t->shape) +
                                     " but graph node '" + n.name + "' needs " + shape_text(want));
    }
  for (const auto& t : file.tensors)
    if (!named.count(t.name))
      throw input_error(where, "tensor '" + t.name + "' belongs to no node of the graph");
}

Graph mlp_graph(const Architecture& arch) {
  Graph g;
  Node input;
  input.name = "input";
  input.op = Op::input;
  input.input_shape = {arch.input_width()};
  g.nodes.push_back(input);
  for (std::size_t l = 0; l < arch.layers.size(); ++l) {
    const auto& layer = arch.layers[l];
    Node lin;
    const auto dot = layer.weight_name.rfind('.');
    lin.name = dot == std::string::npos ? "layer" + std::to_string(l) : layer.weight_name.substr(0, dot);
    lin.op = Op::linear;
    lin.inputs = {static_cast<int>(g.nodes.size() - 1)};
    lin.out = layer.out;
    lin.tensors = {{TensorRole::weight, layer.weight_name}, {TensorRole::bias, layer.bias_name}};
    g.nodes.push_back(lin);
    if (l + 1 < arch.layers.size()) {
      Node act;
      act.name = lin.name + ".act";
      act.op = Op::activation;
      act.inputs = {static_cast<int>(g.nodes.size() - 1)};
      act.activation = arch.activation;
      g.nodes.push_back(act);
    }
  }
  validate_graph(g, "the MLP");
  return g;
}

}  // namespace modeconn
