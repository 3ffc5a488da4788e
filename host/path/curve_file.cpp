// Curve files: a path's control points in one safetensors file, prefixed points.0., points.1., ...
#include <map>
#include <set>
#include <string>

#include "modeconn/error.hpp"
#include "modeconn/path.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn {
namespace {

const std::string kPrefix = "points.";

// The K of points.K.<name>, or -1. K is written as modeconn writes it, without leading zeros, so that one
// control point has one name (points.01. and points.1. would otherwise be two spellings of it).
int point_index(const std::string& name, std::size_t* dot) {
  if (name.rfind(kPrefix, 0) != 0) return -1;
  *dot = name.find('.', kPrefix.size());
  if (*dot == std::string::npos || *dot == kPrefix.size()) return -1;
  if (name[kPrefix.size()] == '0' && *dot > kPrefix.size() + 1) return -1;
  int k = 0;
  for (std::size_t i = kPrefix.size(); i < *dot; ++i) {
    if (name[i] < '0' || name[i] > '9' || k > 100000) return -1;
    k = k * 10 + (name[i] - '0');
  }
  return k;
}

}  // namespace

Path load_curve(const std::string& file, const std::string& activation_override) {
  return curve_from_tensors(read_safetensors(file), file, activation_override);
}

PathKind curve_file_kind(const TensorFile& tf, const std::string& file) {
  const auto kind = tf.metadata.find("modeconn.curve");
  if (kind == tf.metadata.end())
    throw input_error(file, "is not a curve file (no modeconn.curve in its metadata)");
  if (kind->second == "bezier") return PathKind::bezier;
  if (kind->second == "polychain") return PathKind::polychain;
  throw input_error(file, "unknown curve kind '" + kind->second + "' (bezier, polychain)");
}

std::vector<TensorFile> curve_file_points(const TensorFile& tf, const std::string& file) {
  std::map<int, TensorFile> by_point;
  for (const auto& t : tf.tensors) {
    std::size_t dot = 0;
    const int k = point_index(t.name, &dot);
    if (k < 0)
      throw input_error(file, "tensor '" + t.name +
                                  "' is not named points.K.<tensor name> (K a number without leading zeros)");
    by_point[k].tensors.push_back({t.name.substr(dot + 1), t.shape, t.values});
  }
  if (by_point.size() < 2) throw input_error(file, "a curve needs at least two control points");
  // Every control point names the same tensors: a bias present in one point and absent in another is a
  // damaged file, not a Linear(bias=False) (which would read as zeros).
  std::set<std::string> first_names;
  for (const auto& t : by_point.begin()->second.tensors) first_names.insert(t.name);
  std::vector<TensorFile> points;
  for (auto& [k, point] : by_point) {
    const int expected = static_cast<int>(points.size());
    if (k != expected) throw input_error(file, "control point " + std::to_string(expected) + " is missing");
    std::set<std::string> names;
    for (const auto& t : point.tensors) names.insert(t.name);
    for (const auto& name : first_names)
      if (!names.count(name))
        throw input_error(
            file, "control point " + std::to_string(k) + " has no '" + name + "' (control point 0 has)");
    for (const auto& name : names)
      if (!first_names.count(name))
        throw input_error(file, "control point " + std::to_string(k) + " has '" + name +
                                    "', which control point 0 has not");
    point.metadata = tf.metadata;
    point.metadata.erase("modeconn.curve");  // each control point is a model
    points.push_back(std::move(point));
  }
  return points;
}

Path curve_from_tensors(const TensorFile& tf, const std::string& file,
                        const std::string& activation_override) {
  Path path;
  path.kind = curve_file_kind(tf, file);
  const std::vector<TensorFile> points = curve_file_points(tf, file);
  for (std::size_t k = 0; k < points.size(); ++k) {
    Model m = model_from_tensors(points[k], file + " (control point " + std::to_string(k) + ")",
                                 activation_override);
    if (path.points.empty())
      path.arch = m.arch;
    else if (!path.arch.same_shape(m.arch))
      throw input_error(file, "control point " + std::to_string(k) + " has architecture " + m.arch.widths() +
                                  ", not " + path.arch.widths());
    path.points.push_back(std::move(m.params));
  }
  return path;
}

void save_curve(const Path& path, const std::string& file) {
  write_safetensors(curve_to_tensors(path), file);
}

TensorFile curve_to_tensors(const Path& path) {
  MODECONN_EXPECTS(path.kind != PathKind::linear, "a curve file holds a Bézier curve or a polygonal chain");
  TensorFile out;
  for (std::size_t k = 0; k < path.points.size(); ++k) {
    const TensorFile point = model_to_tensors(Model{path.arch, path.points[k], true});
    if (k == 0) out.metadata = point.metadata;
    for (const auto& t : point.tensors)
      out.tensors.push_back({kPrefix + std::to_string(k) + "." + t.name, t.shape, t.values});
  }
  out.metadata["modeconn.curve"] = std::string(path_kind_name(path.kind));
  return out;
}

}  // namespace modeconn
