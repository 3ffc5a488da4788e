// Graph models: a file's tensors laid out as one parameter vector and one buffer vector in graph order.
#include "modeconn/graph_model.hpp"

#include <cmath>

#include "modeconn/dataset.hpp"
#include "modeconn/error.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn {

TensorPlaces tensor_places(const Graph& graph) {
  TensorPlaces places(graph.nodes.size());
  int64_t params = 0, buffers = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    for (TensorRole role : node_roles(n)) {
      int64_t size = 1;
      for (int64_t d : graph.tensor_shape(n, role)) size *= d;
      TensorPlace& p = places[i][static_cast<std::size_t>(role)];
      p.present = true;
      p.buffer = is_buffer(role);
      p.size = size;
      int64_t& next = p.buffer ? buffers : params;
      p.offset = next;
      next += size;
    }
  }
  return places;
}

bool holds_graph_beyond_mlp(const std::map<std::string, std::string>& metadata, const std::string& where) {
  const auto graph = metadata.find("modeconn.graph");
  return graph != metadata.end() && !graph_from_json(graph->second, where).is_mlp();
}

GraphModel graph_model_from_tensors(const TensorFile& file, const std::string& where) {
  if (const auto curve = file.metadata.find("modeconn.curve"); curve != file.metadata.end())
    throw input_error(where, "is a curve file (a " + curve->second + " curve), not a model");
  const auto json = file.metadata.find("modeconn.graph");
  if (json == file.metadata.end())
    throw input_error(where,
                      "holds no layer graph (metadata modeconn.graph); export the network with "
                      "scripts/export_torch.py --model");
  GraphModel model;
  model.graph = graph_from_json(json->second, where);
  check_graph_tensors(model.graph, file, where);
  if (model.graph.num_params() > kMaxParams)
    throw input_error(where, "has " + std::to_string(model.graph.num_params()) +
                                 " parameters; modeconn reads models of at most " +
                                 std::to_string(kMaxParams));
  model.params.resize(static_cast<std::size_t>(model.graph.num_params()));
  model.buffers.resize(static_cast<std::size_t>(model.graph.num_buffers()));
  const TensorPlaces places = tensor_places(model.graph);
  for (std::size_t i = 0; i < model.graph.nodes.size(); ++i)
    for (const auto& [role, name] : model.graph.nodes[i].tensors) {
      const NamedTensor& t = *file.find(name);  // check_graph_tensors found it with its shape
      for (std::size_t k = 0; k < t.values.size(); ++k)
        if (!std::isfinite(t.values[k]))
          throw input_error(where,
                            "tensor '" + name + "' holds a NaN or Inf at element " + std::to_string(k));
      if (role == TensorRole::running_var)
        for (std::size_t k = 0; k < t.values.size(); ++k)
          if (t.values[k] < 0)
            throw input_error(
                where, "tensor '" + name + "' holds a negative variance at element " + std::to_string(k));
      const TensorPlace& p = places[i][static_cast<std::size_t>(role)];
      std::vector<float>& into = p.buffer ? model.buffers : model.params;
      std::copy(t.values.begin(), t.values.end(), into.begin() + p.offset);
    }
  const auto task = file.metadata.find("modeconn.task");
  model.task_known = task != file.metadata.end();
  if (model.task_known) model.task = parse_task(task->second, where);
  model.metadata = file.metadata;
  return model;
}

GraphModel load_graph_model(const std::string& path) {
  return graph_model_from_tensors(read_safetensors(path), path);
}

TensorFile graph_model_to_tensors(const GraphModel& model) {
  TensorFile file;
  file.metadata = model.metadata;
  file.metadata["modeconn.graph"] = graph_to_json(model.graph);
  file.metadata["modeconn.task"] = std::string(task_name(model.task));
  const TensorPlaces places = tensor_places(model.graph);
  for (std::size_t i = 0; i < model.graph.nodes.size(); ++i) {
    const Node& n = model.graph.nodes[i];
    for (TensorRole role : node_roles(n)) {
      const TensorPlace& p = places[i][static_cast<std::size_t>(role)];
      const std::vector<float>& from = p.buffer ? model.buffers : model.params;
      file.tensors.push_back({n.tensors.at(role), model.graph.tensor_shape(n, role),
                              std::vector<float>(from.begin() + p.offset, from.begin() + p.offset + p.size)});
    }
  }
  return file;
}

void check_graph_compatible(const Split& s, const GraphModel& model, const std::string& model_path) {
  const auto& in = model.graph.nodes.front().shape;
  std::vector<int64_t> shape = s.sample_shape;
  if (shape.size() == 2 && in.size() == 3 && in[0] == 1) shape.insert(shape.begin(), 1);  // IDX images
  const bool flat = shape.size() <= 1;
  if ((flat && s.features != model.graph.input_size()) || (!flat && in.size() == 3 && shape != in) ||
      (!flat && in.size() == 1 && s.features != in[0]))
    throw input_error(s.x_source, "holds samples of shape " + shape_text(s.sample_shape) + " but " +
                                      model_path + " takes inputs of shape " + shape_text(in));
  if (model.task_known && s.task != model.task)
    throw input_error(s.y_source, "holds " + std::string(task_name(s.task)) + " targets but " + model_path +
                                      " is a " + std::string(task_name(model.task)) + " model");
  const int64_t outputs = model.graph.output_size();
  if (s.task == Task::classification) {
    for (std::size_t i = 0; i < s.labels.size(); ++i)
      if (s.labels[i] >= outputs)
        throw input_error(s.y_source, "label " + std::to_string(s.labels[i]) + " at row " +
                                          std::to_string(i) + " is outside the " + std::to_string(outputs) +
                                          " classes of " + model_path);
  } else if (s.target_width != outputs) {
    throw input_error(s.y_source, "has " + std::to_string(s.target_width) + " targets per row but " +
                                      model_path + " has " + std::to_string(outputs) + " outputs");
  }
}

void check_same_graph(const GraphModel& a, const std::string& path_a, const GraphModel& b,
                      const std::string& path_b) {
  if (graph_to_json(a.graph) != graph_to_json(b.graph))
    throw input_error(path_b, "holds another graph than " + path_a + "; a path needs one architecture");
  if (a.task_known && b.task_known && a.task != b.task)
    throw input_error(path_b, "is a " + std::string(task_name(b.task)) + " model but " + path_a + " is a " +
                                  std::string(task_name(a.task)) + " one");
}

GraphPath model_graph_path(const GraphModel& model) {
  GraphPath path;
  path.graph = &model.graph;
  path.task = model.task;
  path.params.points = {model.params};
  path.buffers = {model.buffers};
  return path;
}

GraphPath linear_graph_path(const GraphModel& a, const GraphModel& b) {
  GraphPath path;
  path.graph = &a.graph;
  path.task = a.task;
  path.params.kind = PathKind::linear;
  path.params.points = {a.params, b.params};
  path.buffers = {a.buffers, b.buffers};
  return path;
}

}  // namespace modeconn
