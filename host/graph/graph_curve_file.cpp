// Curve files of layer graphs: each control point laid out as a graph model file lays out its tensors
// (parameters and BatchNorm buffers under the graph's names) under points.K., the graph once in the metadata,
// as MLP curve files lay out theirs.
#include "modeconn/error.hpp"
#include "modeconn/graph_model.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn {

TensorFile graph_curve_to_tensors(const GraphPath& curve, const GraphModel& endpoint) {
  MODECONN_EXPECTS(curve.params.kind != PathKind::linear,
                   "a curve file holds a Bézier curve or a polygonal chain");
  MODECONN_EXPECTS(curve.buffers.size() == curve.params.points.size(), "buffers for every control point");
  TensorFile out;
  for (std::size_t k = 0; k < curve.params.points.size(); ++k) {
    GraphModel point{endpoint.graph,         curve.task,       true,
                     curve.params.points[k], curve.buffers[k], endpoint.metadata};
    const TensorFile file = graph_model_to_tensors(point);
    if (k == 0) out.metadata = file.metadata;
    for (const auto& t : file.tensors)
      out.tensors.push_back({"points." + std::to_string(k) + "." + t.name, t.shape, t.values});
  }
  out.metadata["modeconn.curve"] = std::string(path_kind_name(curve.params.kind));
  return out;
}

GraphPath graph_curve_from_tensors(const TensorFile& file, const std::string& where, const GraphModel& a,
                                   const std::string& a_path) {
  GraphPath curve;
  curve.graph = &a.graph;
  curve.task = a.task;
  curve.params.kind = curve_file_kind(file, where);
  const std::vector<TensorFile> points = curve_file_points(file, where);
  for (std::size_t k = 0; k < points.size(); ++k) {
    const std::string at = where + " (control point " + std::to_string(k) + ")";
    if (!points[k].metadata.count("modeconn.graph"))
      throw input_error(where, "holds an MLP curve, but " + a_path + " is a layer graph");
    GraphModel m = graph_model_from_tensors(points[k], at);
    check_same_graph(a, a_path, m, at);
    curve.params.points.push_back(std::move(m.params));
    curve.buffers.push_back(std::move(m.buffers));
  }
  return curve;
}

}  // namespace modeconn
