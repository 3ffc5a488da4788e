// Graph paths: each point's parameters, and its BatchNorm folded to a per-channel scale and shift as the --bn
// mode says, the statistics measured by the backend's runner one BatchNorm at a time, in graph order, so that
// each is measured with the earlier ones already settled.
#include <cmath>

#include "modeconn/error.hpp"
#include "modeconn/graph_eval.hpp"

namespace modeconn {

BnMode parse_bn_mode(std::string_view name) {
  if (name == "keep") return BnMode::keep;
  if (name == "recompute") return BnMode::recompute;
  if (name == "repair") return BnMode::repair;
  throw usage_error("unknown BatchNorm mode '" + std::string(name) + "' (keep, recompute, repair)");
}

std::string_view bn_mode_name(BnMode mode) {
  switch (mode) {
    case BnMode::keep:
      return "keep";
    case BnMode::recompute:
      return "recompute";
    case BnMode::repair:
      return "repair";
  }
  return "?";
}

std::vector<int64_t> batch_norm_offsets(const Graph& graph, int64_t* total) {
  std::vector<int64_t> offsets(graph.nodes.size(), -1);
  int64_t next = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i)
    if (graph.nodes[i].op == Op::batch_norm) {
      offsets[i] = next;
      next += graph.nodes[i].shape.front();
    }
  if (total) *total = next;
  return offsets;
}

namespace {

// One channel's statistics from Σx and Σx² over n values: the mean and the unbiased variance (what PyTorch's
// BatchNorm stores as running_var).
struct Moments {
  double mean = 0, var = 0;
};
Moments moments(double sum, double sq, double n) {
  const double mean = sum / n;
  return {mean, std::max(0.0, (sq - n * mean * mean) / (n - 1))};
}

// The points' BatchNorms in keep mode: running statistics interpolated with the parameters' coefficients.
void fold_kept(const GraphPath& path, const TensorPlaces& places, const std::vector<int64_t>& bn_offset,
               GraphPoints& pts) {
  const Graph& g = *path.graph;
  for (std::size_t p = 0; p < pts.params.size(); ++p) {
    const auto& coef = pts.coef[p];
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
      if (bn_offset[i] < 0) continue;
      const Node& n = g.nodes[i];
      const auto& place = places[i];
      const TensorPlace& w = place[static_cast<std::size_t>(TensorRole::weight)];
      const TensorPlace& b = place[static_cast<std::size_t>(TensorRole::bias)];
      const TensorPlace& rm = place[static_cast<std::size_t>(TensorRole::running_mean)];
      const TensorPlace& rv = place[static_cast<std::size_t>(TensorRole::running_var)];
      for (int64_t c = 0; c < n.shape.front(); ++c) {
        double mean = 0, var = 0;
        for (std::size_t k = 0; k < coef.size(); ++k) {
          mean += coef[k] * path.buffers[k][static_cast<std::size_t>(rm.offset + c)];
          var += coef[k] * path.buffers[k][static_cast<std::size_t>(rv.offset + c)];
        }
        const double gamma = w.present ? pts.params[p][static_cast<std::size_t>(w.offset + c)] : 1.0;
        const double beta = b.present ? pts.params[p][static_cast<std::size_t>(b.offset + c)] : 0.0;
        const double scale = gamma / std::sqrt(std::max(var, 0.0) + n.eps);
        pts.scale[p][static_cast<std::size_t>(bn_offset[i] + c)] = static_cast<float>(scale);
        pts.shift[p][static_cast<std::size_t>(bn_offset[i] + c)] = static_cast<float>(beta - mean * scale);
      }
    }
  }
}

GraphPoints points_at(const GraphPath& path, std::span<const std::vector<double>> coefs) {
  const Graph& g = *path.graph;
  MODECONN_EXPECTS(path.buffers.size() == path.params.points.size(), "buffers for every control point");
  int64_t channels = 0;
  batch_norm_offsets(g, &channels);
  GraphPoints pts;
  pts.graph = &g;
  pts.task = path.task;
  pts.control = &path.params;
  for (const auto& c : coefs) {
    MODECONN_EXPECTS(c.size() == path.params.points.size(), "a coefficient per control point");
    pts.coef.push_back(c);
    pts.params.emplace_back(static_cast<std::size_t>(g.num_params()));
    path.params.interpolate(pts.coef.back(), 0, pts.params.back().size(), pts.params.back().data());
    pts.scale.emplace_back(static_cast<std::size_t>(channels));
    pts.shift.emplace_back(static_cast<std::size_t>(channels));
  }
  return pts;
}

// The statistics of the input of every BatchNorm at every point, one BatchNorm at a time; `settle` turns a
// BatchNorm's input moments at each point into that point's scale and shift before the next is measured.
template <typename Settle>
void measure_layer_by_layer(GraphRunner& runner, GraphPoints& pts, const BnOptions& bn, Settle&& settle) {
  const Graph& g = *pts.graph;
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.op != Op::batch_norm) continue;
    const auto& in_shape = g.nodes[static_cast<std::size_t>(n.inputs.front())].shape;
    const double count = static_cast<double>(bn.rows) *
                         static_cast<double>(in_shape.size() == 3 ? in_shape[1] * in_shape[2] : 1);
    const auto sums = runner.channel_sums(pts, n.inputs.front(), *bn.split, bn.rows);
    const int64_t c = n.shape.front();
    std::vector<std::vector<Moments>> m(sums.size(), std::vector<Moments>(static_cast<std::size_t>(c)));
    for (std::size_t p = 0; p < sums.size(); ++p)
      for (int64_t ch = 0; ch < c; ++ch)
        m[p][static_cast<std::size_t>(ch)] =
            moments(sums[p][static_cast<std::size_t>(ch)], sums[p][static_cast<std::size_t>(c + ch)], count);
    settle(i, m);
  }
}

}  // namespace

namespace {

std::vector<std::vector<double>> coefficients_at(const Path& path, std::span<const double> ts) {
  std::vector<std::vector<double>> coefs;
  coefs.reserve(ts.size());
  for (double t : ts) coefs.push_back(path.coefficients(t));
  return coefs;
}

}  // namespace

GraphPoints graph_points_at(GraphRunner& runner, const GraphPath& path,
                            std::span<const std::vector<double>> coefs, const BnOptions& bn) {
  MODECONN_EXPECTS(bn.mode != BnMode::repair, "REPAIR's targets are a path's endpoints: graph_points");
  const Graph& g = *path.graph;
  const TensorPlaces places = tensor_places(g);
  const std::vector<int64_t> bn_offset = batch_norm_offsets(g);
  GraphPoints pts = points_at(path, coefs);
  fold_kept(path, places, bn_offset,
            pts);  // recompute: later BatchNorms are never read before they are settled
  if (bn.mode == BnMode::recompute) {
    MODECONN_EXPECTS(bn.split && bn.rows >= 1 && bn.rows <= bn.split->rows, "rows to measure BatchNorm on");
    measure_layer_by_layer(runner, pts, bn, [&](std::size_t i, const std::vector<std::vector<Moments>>& m) {
      const Node& n = g.nodes[i];
      const TensorPlace& w = places[i][static_cast<std::size_t>(TensorRole::weight)];
      const TensorPlace& b = places[i][static_cast<std::size_t>(TensorRole::bias)];
      for (std::size_t p = 0; p < m.size(); ++p)
        for (std::size_t c = 0; c < m[p].size(); ++c) {
          const double gamma = w.present ? pts.params[p][static_cast<std::size_t>(w.offset) + c] : 1.0;
          const double beta = b.present ? pts.params[p][static_cast<std::size_t>(b.offset) + c] : 0.0;
          const double scale = gamma / std::sqrt(m[p][c].var + n.eps);
          pts.scale[p][static_cast<std::size_t>(bn_offset[i]) + c] = static_cast<float>(scale);
          pts.shift[p][static_cast<std::size_t>(bn_offset[i]) + c] =
              static_cast<float>(beta - m[p][c].mean * scale);
        }
    });
  }
  return pts;
}

GraphPoints graph_points(GraphRunner& runner, const GraphPath& path, std::span<const double> ts,
                         const BnOptions& bn) {
  if (bn.mode != BnMode::repair) return graph_points_at(runner, path, coefficients_at(path.params, ts), bn);
  const Graph& g = *path.graph;
  const TensorPlaces places = tensor_places(g);
  const std::vector<int64_t> bn_offset = batch_norm_offsets(g);
  MODECONN_EXPECTS(bn.split && bn.rows >= 1 && bn.rows <= bn.split->rows, "rows to measure BatchNorm on");

  // REPAIR: the endpoints ride along as two extra points, as trained, so that their channel statistics come
  // from the same pass.
  std::vector<double> extended(ts.begin(), ts.end());
  extended.push_back(0.0);
  extended.push_back(1.0);
  GraphPoints pts = points_at(path, coefficients_at(path.params, extended));
  fold_kept(path, places, bn_offset, pts);
  // The folded statistics as kept, which every point is repaired from (the parameters need no copy).
  const std::vector<std::vector<float>> kept_scale = pts.scale, kept_shift = pts.shift;
  const std::size_t num = ts.size(), at_a = num, at_b = num + 1;
  measure_layer_by_layer(runner, pts, bn, [&](std::size_t i, const std::vector<std::vector<Moments>>& m) {
    const int64_t c0 = bn_offset[i];
    // The BatchNorm's output y = s·x + b as kept: mean s·μx + b, standard deviation |s|·σx.
    const auto out_moments = [&](std::size_t p, std::size_t c) {
      const double s = kept_scale[p][static_cast<std::size_t>(c0) + c],
                   b = kept_shift[p][static_cast<std::size_t>(c0) + c];
      return std::pair{s * m[p][c].mean + b, std::abs(s) * std::sqrt(m[p][c].var)};
    };
    for (std::size_t p = 0; p < num; ++p) {
      const double t = ts[p];
      for (std::size_t c = 0; c < m[p].size(); ++c) {
        const auto [mean_a, std_a] = out_moments(at_a, c);
        const auto [mean_b, std_b] = out_moments(at_b, c);
        const auto [mean, std] = out_moments(p, c);
        const double target_mean = (1 - t) * mean_a + t * mean_b, target_std = (1 - t) * std_a + t * std_b;
        const double s = kept_scale[p][static_cast<std::size_t>(c0) + c],
                     b = kept_shift[p][static_cast<std::size_t>(c0) + c];
        // y' = (y − mean)·target_std/std + target_mean; a constant channel is set to its target mean.
        const double gain = std > 0 ? target_std / std : 0.0;
        pts.scale[p][static_cast<std::size_t>(c0) + c] = static_cast<float>(s * gain);
        pts.shift[p][static_cast<std::size_t>(c0) + c] = static_cast<float>((b - mean) * gain + target_mean);
      }
    }
  });
  for (auto* v : {&pts.params, &pts.scale, &pts.shift}) v->resize(num);
  pts.coef.resize(num);
  return pts;
}

std::vector<PointMetrics> evaluate_graph_path(GraphRunner& runner, const GraphPath& path,
                                              std::span<const double> ts, const Split& split,
                                              const BnOptions& bn) {
  if (ts.empty()) return {};
  return runner.metrics(graph_points(runner, path, ts, bn), split);
}

GraphPoints mlp_graph_points(const Graph& mlp, const Path& path, std::span<const double> ts) {
  return mlp_graph_points(mlp, path, coefficients_at(path, ts));
}

GraphPoints mlp_graph_points(const Graph& mlp, const Path& path, std::span<const std::vector<double>> coefs) {
  MODECONN_EXPECTS(mlp.num_params() == static_cast<int64_t>(path.arch.num_params()), "the path's MLP graph");
  GraphPoints pts;
  pts.graph = &mlp;
  pts.task = path.arch.task;
  pts.control = &path;
  for (const auto& c : coefs) {
    MODECONN_EXPECTS(c.size() == path.points.size(), "a coefficient per control point");
    pts.coef.push_back(c);
    pts.params.emplace_back(path.arch.num_params());
    path.interpolate(pts.coef.back(), 0, pts.params.back().size(), pts.params.back().data());
  }
  pts.scale.resize(coefs.size());
  pts.shift.resize(coefs.size());
  return pts;
}

GraphPoints mlp_model_points(const Graph& mlp, std::span<const Model* const> models) {
  GraphPoints pts;
  pts.graph = &mlp;
  for (const Model* m : models) {
    MODECONN_EXPECTS(mlp.num_params() == static_cast<int64_t>(m->arch.num_params()), "models of the graph");
    pts.task = m->arch.task;
    pts.params.push_back(m->params);
  }
  pts.scale.resize(models.size());
  pts.shift.resize(models.size());
  return pts;
}

int mlp_activation_node(const Graph& mlp, std::size_t layer) {
  // input, then per layer its linear node and, for a hidden layer, its activation node.
  const auto node = static_cast<std::size_t>(2 + 2 * layer);
  MODECONN_EXPECTS(node < mlp.nodes.size() && mlp.nodes[node].op == Op::activation, "a hidden layer");
  return static_cast<int>(node);
}

GraphPoints model_graph_points(GraphRunner& runner, const GraphModel& model) {
  const double t = 0;
  return graph_points(runner, model_graph_path(model), {&t, 1}, {});
}

std::vector<float> graph_outputs(GraphRunner& runner, const GraphModel& model, const Split& split,
                                 int64_t first, int64_t count) {
  return runner.outputs(model_graph_points(runner, model), split, first, count);
}

}  // namespace modeconn
