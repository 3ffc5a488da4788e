// MLPs from and to safetensors: layers in the order the file records (modeconn.layers), else by natural sort
// of their names, and confirmed by the shape chain.
#include "modeconn/model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>

#include "modeconn/error.hpp"
#include "modeconn/graph.hpp"
#include "modeconn/json_read.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn {
namespace {

// "layers.10" after "layers.2": digit runs compare as numbers.
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      std::size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
      while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
      const std::string na = a.substr(i, i2 - i), nb = b.substr(j, j2 - j);
      const std::string ta = na.substr(std::min(na.find_first_not_of('0'), na.size()));
      const std::string tb = nb.substr(std::min(nb.find_first_not_of('0'), nb.size()));
      if (ta.size() != tb.size()) return ta.size() < tb.size();
      if (ta != tb) return ta < tb;
      i = i2;
      j = j2;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

struct LayerTensors {
  const NamedTensor* weight = nullptr;
  const NamedTensor* bias = nullptr;
};

}  // namespace

int64_t Architecture::max_width() const {
  int64_t w = input_width();
  for (const auto& l : layers) w = std::max(w, l.out);
  return w;
}

std::size_t Architecture::num_params() const {
  std::size_t n = 0;
  for (const auto& l : layers) n += static_cast<std::size_t>(l.out * l.in + l.out);
  return n;
}

std::size_t Architecture::weight_offset(std::size_t layer) const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < layer; ++i)
    n += static_cast<std::size_t>(layers[i].out * layers[i].in + layers[i].out);
  return n;
}

std::string Architecture::widths() const {
  std::string s = std::to_string(input_width());
  for (const auto& l : layers) {
    s += '-';
    s += std::to_string(l.out);
  }
  return s;
}

bool Architecture::same_shape(const Architecture& o) const {
  if (layers.size() != o.layers.size()) return false;
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (layers[i].in != o.layers[i].in || layers[i].out != o.layers[i].out) return false;
  return true;
}

Architecture make_architecture(const std::vector<int64_t>& widths, Activation activation, Task task) {
  MODECONN_EXPECTS(widths.size() >= 2, "an MLP needs an input and an output width");
  Architecture arch;
  arch.activation = activation;
  arch.task = task;
  for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
    const std::string prefix = "layers." + std::to_string(2 * i);  // nn.Sequential(Linear, act, Linear, ...)
    arch.layers.push_back({widths[i], widths[i + 1], prefix + ".weight", prefix + ".bias"});
  }
  return arch;
}

std::span<const float> Model::weight(std::size_t layer) const {
  const auto& l = arch.layers[layer];
  return {params.data() + arch.weight_offset(layer), static_cast<std::size_t>(l.out * l.in)};
}

std::span<const float> Model::bias(std::size_t layer) const {
  return {params.data() + arch.bias_offset(layer), static_cast<std::size_t>(arch.layers[layer].out)};
}

Model load_model(const std::string& path, const std::string& activation_override) {
  return model_from_tensors(read_safetensors(path), path, activation_override);
}

Model model_from_tensors(const TensorFile& file, const std::string& path,
                         const std::string& activation_override) {
  if (const auto curve = file.metadata.find("modeconn.curve"); curve != file.metadata.end())
    throw input_error(path, "is a curve file (a " + curve->second +
                                " curve), not a model; evaluate it with modeconn path --kind " +
                                curve->second + " --curve " + path);
  // A file with a layer graph: the graph says the layers' order and activation when it is an MLP.
  std::vector<std::string> graph_order;
  std::optional<Activation> graph_activation;
  if (const auto graph = file.metadata.find("modeconn.graph"); graph != file.metadata.end()) {
    const Graph g = graph_from_json(graph->second, path);
    check_graph_tensors(g, file, path);
    if (!g.is_mlp()) {
      std::string ops;
      for (const Node& n : g.nodes)
        if (n.op != Op::input && n.op != Op::linear && n.op != Op::activation &&
            ops.find(std::string(op_name(n.op))) == std::string::npos)
          ops.append(ops.empty() ? "" : ", ").append(op_name(n.op));
      throw input_error(path,
                        "holds a layer graph beyond an MLP (" + (ops.empty() ? "branches" : ops) +
                            "); modeconn inspect shows it, but this version evaluates, aligns and trains "
                            "MLPs only");
    }
    for (const Node& n : g.nodes) {
      if (n.op == Op::activation) graph_activation = n.activation;
      if (n.op != Op::linear) continue;
      const std::string& w = n.tensors.at(TensorRole::weight);
      const auto dot = w.rfind('.');
      const std::string prefix = dot == std::string::npos ? "" : w.substr(0, dot);
      // modeconn reads a layer's tensors as PREFIX.weight and PREFIX.bias.
      if (w != (prefix.empty() ? "weight" : prefix + ".weight") ||
          (n.has_bias && n.tensors.at(TensorRole::bias) != (prefix.empty() ? "bias" : prefix + ".bias")))
        throw input_error(
            path, "graph node '" + n.name + "' names tensors other than PREFIX.weight and PREFIX.bias");
      graph_order.push_back(prefix);
    }
  }
  std::map<std::string, LayerTensors> by_prefix;
  for (const auto& t : file.tensors) {
    const auto dot = t.name.rfind('.');
    const std::string suffix = dot == std::string::npos ? "" : t.name.substr(dot + 1);
    const std::string prefix = dot == std::string::npos ? "" : t.name.substr(0, dot);
    if (suffix == "weight")
      by_prefix[prefix].weight = &t;
    else if (suffix == "bias")
      by_prefix[prefix].bias = &t;
    else
      throw input_error(path, "tensor '" + t.name +
                                  "' is neither a .weight nor a .bias: modeconn reads MLPs of Linear layers");
  }
  if (by_prefix.empty()) throw input_error(path, "holds no tensors");
  if (by_prefix.size() > kMaxLayers)
    throw input_error(path, "has " + std::to_string(by_prefix.size()) +
                                " layers; modeconn reads MLPs of at most " + std::to_string(kMaxLayers));
  // The order the file records: the state_dict's (the order the modules were registered, which is the forward
  // order in nearly every model), kept by export_torch.py and by every file modeconn writes. Without it,
  // natural name order, which a chain like input_layer, hidden1, output does not follow.
  std::vector<std::string> prefixes;
  const auto recorded = file.metadata.find("modeconn.layers");
  if (!graph_order.empty()) {
    prefixes = graph_order;
  } else if (recorded != file.metadata.end()) {
    const auto order = parse_json_input(recorded->second, path, "metadata modeconn.layers");
    if (!order.is_array()) throw input_error(path, "metadata modeconn.layers is not a list of layer names");
    for (const auto& name : order) {
      if (!name.is_string())
        throw input_error(path, "metadata modeconn.layers holds something other than names");
      const std::string p = name.get<std::string>();
      if (!by_prefix.count(p))
        throw input_error(path,
                          "metadata modeconn.layers names '" + p + "', which has no tensors in the file");
      if (std::find(prefixes.begin(), prefixes.end(), p) != prefixes.end())
        throw input_error(path, "metadata modeconn.layers names '" + p + "' twice");
      prefixes.push_back(p);
    }
    for (const auto& [p, _] : by_prefix)
      if (std::find(prefixes.begin(), prefixes.end(), p) == prefixes.end())
        throw input_error(path, "metadata modeconn.layers does not name the layer '" + p + "'");
  } else {
    for (const auto& [p, _] : by_prefix) prefixes.push_back(p);
    std::sort(prefixes.begin(), prefixes.end(), natural_less);
  }

  Model model;
  for (const auto& p : prefixes) {
    const LayerTensors& lt = by_prefix[p];
    if (!lt.weight) throw input_error(path, "'" + p + ".bias' has no matching '" + p + ".weight'");
    if (lt.weight->shape.size() != 2)
      throw input_error(
          path, "'" + lt.weight->name + "' has shape " + shape_text(lt.weight->shape) + ", not [out, in]");
    const int64_t out = lt.weight->shape[0], in = lt.weight->shape[1];
    if (out == 0 || in == 0)
      throw input_error(path, "'" + lt.weight->name + "' has an empty shape " + shape_text(lt.weight->shape));
    if (out > kMaxWidth || in > kMaxWidth)
      throw input_error(path, "'" + lt.weight->name + "' has shape " + shape_text(lt.weight->shape) +
                                  ": wider than the " + std::to_string(kMaxWidth) +
                                  " units a layer may have");
    if (lt.bias && (lt.bias->shape.size() != 1 || lt.bias->shape[0] != out))
      throw input_error(path, "'" + lt.bias->name + "' has shape " + shape_text(lt.bias->shape) + " but '" +
                                  lt.weight->name + "' has " + std::to_string(out) + " outputs");
    if (!model.arch.layers.empty() && model.arch.layers.back().out != in)
      throw input_error(path,
                        "'" + lt.weight->name + "' takes " + std::to_string(in) +
                            " inputs but the layer before it ('" + model.arch.layers.back().weight_name +
                            "') gives " + std::to_string(model.arch.layers.back().out) +
                            (recorded != file.metadata.end() || !graph_order.empty()
                                 ? std::string()
                                 : " (the file does not record its layers' order, so they were taken in "
                                   "name order; export the checkpoint with scripts/export_torch.py, which "
                                   "records the order the modules were registered)"));
    model.arch.layers.push_back({in, out, lt.weight->name, lt.bias ? lt.bias->name : p + ".bias"});
    const auto check = [&](const NamedTensor& t) {
      for (std::size_t i = 0; i < t.values.size(); ++i)
        if (!std::isfinite(t.values[i]))
          throw input_error(path,
                            "tensor '" + t.name + "' holds a NaN or Inf at element " + std::to_string(i));
    };
    check(*lt.weight);
    model.params.insert(model.params.end(), lt.weight->values.begin(), lt.weight->values.end());
    if (lt.bias) {
      check(*lt.bias);
      model.params.insert(model.params.end(), lt.bias->values.begin(), lt.bias->values.end());
    } else {
      model.params.insert(model.params.end(), static_cast<std::size_t>(out), 0.0f);  // Linear(bias=False)
    }
  }

  if (model.params.size() > static_cast<std::size_t>(kMaxParams))
    throw input_error(path, "has " + std::to_string(model.params.size()) +
                                " parameters; modeconn reads models of at most " +
                                std::to_string(kMaxParams));
  const auto act = file.metadata.find("modeconn.activation");
  if (!activation_override.empty())
    model.arch.activation = parse_activation(activation_override, "--activation");
  else if (act != file.metadata.end())
    model.arch.activation = parse_activation(act->second, path);
  else if (graph_activation)
    model.arch.activation = *graph_activation;
  const auto task = file.metadata.find("modeconn.task");
  model.task_known = task != file.metadata.end();
  if (model.task_known) model.arch.task = parse_task(task->second, path);
  return model;
}

void save_model(const Model& model, const std::string& path) {
  write_safetensors(model_to_tensors(model), path);
}

TensorFile model_to_tensors(const Model& model) {
  TensorFile file;
  file.metadata["modeconn.activation"] = std::string(activation_name(model.arch.activation));
  file.metadata["modeconn.task"] = std::string(task_name(model.arch.task));
  file.metadata["modeconn.architecture"] = model.arch.widths();
  nlohmann::json order = nlohmann::json::array();
  for (const auto& layer : model.arch.layers) {
    const auto dot = layer.weight_name.rfind('.');  // the prefix as model_from_tensors takes it
    order.push_back(dot == std::string::npos ? std::string() : layer.weight_name.substr(0, dot));
  }
  file.metadata["modeconn.layers"] = order.dump();
  for (std::size_t l = 0; l < model.arch.layers.size(); ++l) {
    const auto& layer = model.arch.layers[l];
    const auto w = model.weight(l);
    const auto b = model.bias(l);
    file.tensors.push_back({layer.weight_name, {layer.out, layer.in}, {w.begin(), w.end()}});
    file.tensors.push_back({layer.bias_name, {layer.out}, {b.begin(), b.end()}});
  }
  return file;
}

}  // namespace modeconn
