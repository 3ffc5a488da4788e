// A layer graph with its values, as the backends evaluate it: the parameters in one flat vector (each node's
// weight then bias, in node order), so that paths, control points and interpolation treat a CNN as they treat
// an MLP; and the buffers (BatchNorm running statistics) in a second vector beside it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "modeconn/graph.hpp"
#include "modeconn/model.hpp"
#include "modeconn/path.hpp"

namespace modeconn {

struct TensorFile;

// Where one tensor of a node lies: in the parameters or the buffers, from `offset`, `size` values.
struct TensorPlace {
  bool present = false;
  bool buffer = false;
  int64_t offset = 0;
  int64_t size = 0;
};
// Indexed [node][role] (TensorRole's order).
using TensorPlaces = std::vector<std::array<TensorPlace, 4>>;
TensorPlaces tensor_places(const Graph& graph);

struct GraphModel {
  Graph graph;
  Task task = Task::classification;
  bool task_known = false;                      // false when the file did not say; the data then decides
  std::vector<float> params;                    // graph.num_params() values
  std::vector<float> buffers;                   // graph.num_buffers() values
  std::map<std::string, std::string> metadata;  // the file's, kept when the model is written back
};

// Whether a file's metadata holds a layer graph that is not a plain MLP (those load as Model).
bool holds_graph_beyond_mlp(const std::map<std::string, std::string>& metadata, const std::string& where);

// Reads a graph model: the graph from `modeconn.graph`, every tensor checked against it and finite.
GraphModel graph_model_from_tensors(const TensorFile& file, const std::string& where);
GraphModel load_graph_model(const std::string& path);
// The tensors (PyTorch names, the graph's shapes) and metadata that represent it in a file.
TensorFile graph_model_to_tensors(const GraphModel& model);

// Checks that a split fits the graph: its samples of the input's shape ([C, H, W]; an IDX image [H, W] is one
// channel) or flat with as many features, labels within the outputs, the task the model's.
struct Split;
void check_graph_compatible(const Split& split, const GraphModel& model, const std::string& model_path);

// B must be A's graph (same nodes, attributes and tensor names).
void check_same_graph(const GraphModel& a, const std::string& path_a, const GraphModel& b,
                      const std::string& path_b);

// A path through a graph's parameter space: the control points of the parameters (`params.arch` unused) and,
// for each control point, its buffers, which `--bn keep` interpolates with the same coefficients.
struct GraphPath {
  const Graph* graph = nullptr;
  Task task = Task::classification;
  Path params;
  std::vector<std::vector<float>> buffers;
};
GraphPath linear_graph_path(const GraphModel& a, const GraphModel& b);
// The model alone, as a path of one control point (every t is the model).
GraphPath model_graph_path(const GraphModel& model);

// Curve files of layer graphs: every control point's parameters and BatchNorm buffers under its graph's
// tensor names, prefixed points.K., with the graph (`endpoint`'s, whose task and metadata the file takes)
// once in the metadata and modeconn.curve = bezier|polychain.
TensorFile graph_curve_to_tensors(const GraphPath& curve, const GraphModel& endpoint);
// Reads one whose graph must be A's (the curve points at a.graph); `where` names the file in errors.
GraphPath graph_curve_from_tensors(const TensorFile& file, const std::string& where, const GraphModel& a,
                                   const std::string& a_path);

}  // namespace modeconn
