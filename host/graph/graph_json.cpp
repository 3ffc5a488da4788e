// The layer graph's JSON, as the `modeconn.graph` metadata holds it:
//   {"nodes": [{"name": "input", "op": "input", "shape": [1, 28, 28]},
//              {"name": "conv1", "op": "conv2d", "inputs": ["input"], "out_channels": 16, "kernel": 3,
//               "padding": 1, "bias": false, "tensors": {"weight": "conv1.weight"}}, ...]}
// "inputs" defaults to the previous node; kernel, stride, padding and dilation take a number or [h, w]. Every
// key is checked: a misspelt attribute is refused, not ignored.
#include <nlohmann/json.hpp>
#include <set>

#include "modeconn/error.hpp"
#include "modeconn/graph.hpp"
#include "modeconn/json_read.hpp"

namespace modeconn {
namespace {

using Json = nlohmann::json;

class Reader {
 public:
  explicit Reader(const std::string& where) : where_(where) {}

  Graph read(std::string_view text) {
    const Json j = parse_json_input(text, where_, "metadata modeconn.graph");
    if (!j.is_object() || !j.contains("nodes") || !j.at("nodes").is_array())
      throw input_error(where_, "metadata modeconn.graph is not an object with a \"nodes\" list");
    for (const auto& [key, _] : j.items())
      if (key != "nodes")
        throw input_error(where_, "metadata modeconn.graph has an unknown key '" + key + "'");
    if (j.at("nodes").size() > kMaxNodes)
      throw input_error(where_, "the graph has " + std::to_string(j.at("nodes").size()) + " nodes; at most " +
                                    std::to_string(kMaxNodes));
    Graph g;
    for (const Json& node : j.at("nodes")) g.nodes.push_back(read_node(node, g));
    validate_graph(g, where_);
    return g;
  }

 private:
  Error fail(const std::string& node, const std::string& problem) const {
    return input_error(where_, "graph node '" + node + "': " + problem);
  }

  Op read_op(const std::string& node, const Json& value) const {
    if (!value.is_string()) throw fail(node, "\"op\" is not a string");
    const auto name = value.get<std::string>();
    for (int k = 0; k < kNumOps; ++k)
      if (op_name(static_cast<Op>(k)) == name) return static_cast<Op>(k);
    throw fail(node, "unknown op '" + name +
                         "' (input, linear, conv2d, batch_norm, activation, max_pool2d, avg_pool2d, "
                         "global_avg_pool, flatten, add)");
  }

  int64_t integer(const std::string& node, const std::string& key, const Json& value) const {
    if (!value.is_number_integer()) throw fail(node, "\"" + key + "\" is not an integer");
    return value.get<int64_t>();
  }

  std::array<int64_t, 2> pair(const std::string& node, const std::string& key, const Json& value) const {
    if (value.is_array()) {
      if (value.size() != 2) throw fail(node, "\"" + key + "\" takes a number or [h, w]");
      return {integer(node, key, value[0]), integer(node, key, value[1])};
    }
    const int64_t v = integer(node, key, value);
    return {v, v};
  }

  Node read_node(const Json& j, const Graph& g) const {
    std::string index = "#";
    index += std::to_string(g.nodes.size());
    if (!j.is_object()) throw fail(index, "is not an object");
    if (!j.contains("name") || !j.at("name").is_string()) throw fail(index, "has no \"name\" string");
    Node n;
    n.name = j.at("name").get<std::string>();
    if (!j.contains("op")) throw fail(n.name, "has no \"op\"");
    n.op = read_op(n.name, j.at("op"));

    // The attributes each op takes, beside name, op, inputs and tensors.
    std::set<std::string> allowed;
    switch (n.op) {
      case Op::input:
        allowed = {"shape"};
        break;
      case Op::linear:
        allowed = {"out_features", "bias"};
        break;
      case Op::conv2d:
        allowed = {"out_channels", "kernel", "stride", "padding", "dilation", "bias"};
        break;
      case Op::batch_norm:
        allowed = {"eps", "affine"};
        break;
      case Op::activation:
        allowed = {"activation"};
        break;
      case Op::max_pool2d:
      case Op::avg_pool2d:
        allowed = {"kernel", "stride", "padding"};
        break;
      default:
        break;
    }
    for (const auto& [key, _] : j.items())
      if (key != "name" && key != "op" && key != "inputs" && key != "tensors" && !allowed.count(key))
        throw fail(n.name, "unknown attribute '" + key + "' for " + std::string(op_name(n.op)));

    if (n.op != Op::input) {
      if (!j.contains("inputs")) {
        if (g.nodes.empty()) throw fail(n.name, "has no input to default to");
        n.inputs = {static_cast<int>(g.nodes.size() - 1)};
      } else {
        const Json& ins = j.at("inputs");
        if (!ins.is_array()) throw fail(n.name, "\"inputs\" is not a list of node names");
        for (const Json& in : ins) {
          if (!in.is_string()) throw fail(n.name, "\"inputs\" holds something other than a node name");
          const auto name = in.get<std::string>();
          int found = -1;
          for (std::size_t k = 0; k < g.nodes.size(); ++k)
            if (g.nodes[k].name == name) found = static_cast<int>(k);
          if (found < 0)
            throw fail(n.name,
                       "input '" + name + "' is not an earlier node (missing, or a later one: a cycle)");
          n.inputs.push_back(found);
        }
      }
    }
    const auto get = [&](const char* key) -> const Json* { return j.contains(key) ? &j.at(key) : nullptr; };
    switch (n.op) {
      case Op::input: {
        const Json* s = get("shape");
        if (!s || !s->is_array()) throw fail(n.name, "has no \"shape\" list");
        for (const Json& d : *s) n.input_shape.push_back(integer(n.name, "shape", d));
        break;
      }
      case Op::linear:
        if (!get("out_features")) throw fail(n.name, "has no \"out_features\"");
        n.out = integer(n.name, "out_features", *get("out_features"));
        break;
      case Op::conv2d:
        if (!get("out_channels")) throw fail(n.name, "has no \"out_channels\"");
        n.out = integer(n.name, "out_channels", *get("out_channels"));
        if (!get("kernel")) throw fail(n.name, "has no \"kernel\"");
        break;
      case Op::batch_norm:
        if (const Json* e = get("eps")) {
          if (!e->is_number()) throw fail(n.name, "\"eps\" is not a number");
          n.eps = e->get<double>();
        }
        if (const Json* a = get("affine")) {
          if (!a->is_boolean()) throw fail(n.name, "\"affine\" is not true or false");
          n.has_bias = a->get<bool>();
        }
        break;
      case Op::activation: {
        const Json* a = get("activation");
        if (!a || !a->is_string()) throw fail(n.name, "has no \"activation\" name");
        n.activation = parse_activation(a->get<std::string>(), where_ + " (graph node '" + n.name + "')");
        break;
      }
      case Op::max_pool2d:
      case Op::avg_pool2d:
        if (!get("kernel")) throw fail(n.name, "has no \"kernel\"");
        break;
      default:
        break;
    }
    if (const Json* k = get("kernel")) {
      n.kernel = pair(n.name, "kernel", *k);
      if (n.op != Op::conv2d) n.stride = n.kernel;  // a pool's stride defaults to its kernel, as in PyTorch
    }
    if (const Json* s = get("stride")) n.stride = pair(n.name, "stride", *s);
    if (const Json* p = get("padding")) n.padding = pair(n.name, "padding", *p);
    if (const Json* d = get("dilation")) n.dilation = pair(n.name, "dilation", *d);
    if (n.op == Op::linear || n.op == Op::conv2d)
      if (const Json* b = get("bias")) {
        if (!b->is_boolean()) throw fail(n.name, "\"bias\" is not true or false");
        n.has_bias = b->get<bool>();
      }

    if (const Json* t = get("tensors")) {
      if (!t->is_object()) throw fail(n.name, "\"tensors\" is not an object of role: tensor name");
      for (const auto& [role, name] : t->items()) {
        if (!name.is_string()) throw fail(n.name, "tensor for '" + role + "' is not a name");
        bool known = false;
        for (TensorRole r :
             {TensorRole::weight, TensorRole::bias, TensorRole::running_mean, TensorRole::running_var})
          if (tensor_role_name(r) == role) {
            n.tensors[r] = name.get<std::string>();
            known = true;
          }
        if (!known) throw fail(n.name, "unknown tensor role '" + role + "'");
      }
    }
    return n;
  }

  const std::string& where_;
};

}  // namespace

Graph graph_from_json(std::string_view text, const std::string& where) { return Reader(where).read(text); }

std::string graph_to_json(const Graph& g) {
  Json nodes = Json::array();
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    Json j = {{"name", n.name}, {"op", std::string(op_name(n.op))}};
    if (n.op != Op::input) {
      Json ins = Json::array();
      for (int k : n.inputs) ins.push_back(g.nodes[static_cast<std::size_t>(k)].name);
      j["inputs"] = ins;
    }
    const auto pair = [](const std::array<int64_t, 2>& p) { return Json::array({p[0], p[1]}); };
    switch (n.op) {
      case Op::input:
        j["shape"] = n.input_shape;
        break;
      case Op::linear:
        j["out_features"] = n.out;
        j["bias"] = n.has_bias;
        break;
      case Op::conv2d:
        j["out_channels"] = n.out;
        j["kernel"] = pair(n.kernel);
        j["stride"] = pair(n.stride);
        j["padding"] = pair(n.padding);
        j["dilation"] = pair(n.dilation);
        j["bias"] = n.has_bias;
        break;
      case Op::batch_norm:
        j["eps"] = n.eps;
        j["affine"] = n.has_bias;
        break;
      case Op::activation:
        j["activation"] = std::string(activation_name(n.activation));
        break;
      case Op::max_pool2d:
      case Op::avg_pool2d:
        j["kernel"] = pair(n.kernel);
        j["stride"] = pair(n.stride);
        j["padding"] = pair(n.padding);
        break;
      default:
        break;
    }
    if (!n.tensors.empty()) {
      Json t = Json::object();
      for (const auto& [role, name] : n.tensors) t[std::string(tensor_role_name(role))] = name;
      j["tensors"] = t;
    }
    nodes.push_back(j);
  }
  return Json{{"nodes", nodes}}.dump();
}

}  // namespace modeconn
