// Training graphs and fitting curves between them through the runner's trainer (the host's loop over its
// backward at φ(t), or the CUDA backend's, which keeps everything on the device), as train() and fit_curve()
// do for MLPs.
#include "modeconn/graph_train.hpp"

#include <cmath>

#include "modeconn/error.hpp"
#include "modeconn/rng.hpp"
#include "train/minibatches.hpp"

namespace modeconn {

GraphModel init_graph_model(const Graph& graph, Task task, uint64_t seed) {
  GraphModel m;
  m.graph = graph;
  m.task = task;
  m.task_known = true;
  m.params.assign(static_cast<std::size_t>(graph.num_params()), 0.f);
  m.buffers.assign(static_cast<std::size_t>(graph.num_buffers()), 0.f);
  const TensorPlaces places = tensor_places(graph);
  Rng rng(seed);
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    const auto place = [&](TensorRole role) { return places[i][static_cast<std::size_t>(role)]; };
    const auto fill = [&](const TensorPlace& p, std::vector<float>& v, auto value) {
      if (p.present)
        for (int64_t k = 0; k < p.size; ++k) v[static_cast<std::size_t>(p.offset + k)] = value();
    };
    if (n.op == Op::linear || n.op == Op::conv2d) {
      const auto& w = graph.tensor_shape(n, TensorRole::weight);
      int64_t fan_in = 1;
      for (std::size_t d = 1; d < w.size(); ++d) fan_in *= w[d];
      const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
      const auto uniform = [&] { return static_cast<float>((2.0 * rng.uniform() - 1.0) * bound); };
      fill(place(TensorRole::weight), m.params, uniform);
      fill(place(TensorRole::bias), m.params, uniform);
    } else if (n.op == Op::batch_norm) {
      fill(place(TensorRole::weight), m.params, [] { return 1.f; });
      fill(place(TensorRole::running_var), m.buffers, [] { return 1.f; });
    }
  }
  return m;
}

void train_graph(GraphRunner& runner, GraphModel& model, const Split& split, const TrainOptions& o,
                 const std::function<void(const EpochReport&)>& progress) {
  MODECONN_EXPECTS(split.task == model.task, "data of the model's task");
  Path point{PathKind::linear, {}, {model.params}};  // a model is a one-point path
  const auto trainer = runner.make_trainer(model.graph, point, model.buffers, 0, 1, split, o);
  const double one = 1.0;
  run_minibatches(split.rows, o, progress, [&](std::span<const int64_t> rows) {
    return trainer->step({&one, 1}, rows);
  });
  trainer->read(point);
  model.params = std::move(point.points.front());
  trainer->read_buffers(model.buffers);
}

GraphPath init_graph_curve(const GraphModel& a, const GraphModel& b, PathKind kind, int bends) {
  if (kind == PathKind::linear) throw usage_error("a fitted curve is bezier or polychain, not linear");
  if (bends < 1) throw usage_error("a curve needs at least 1 bend, not " + std::to_string(bends));
  GraphPath curve;
  curve.graph = &a.graph;
  curve.task = a.task;
  curve.params.kind = kind;
  const int k = bends + 1;
  const auto on_line = [](const std::vector<float>& x, const std::vector<float>& y, double t) {
    std::vector<float> p(x.size());
    for (std::size_t j = 0; j < p.size(); ++j)
      p[j] = static_cast<float>((1 - t) * x[j] + t * static_cast<double>(y[j]));
    return p;
  };
  for (int i = 0; i <= k; ++i) {
    const double t = static_cast<double>(i) / k;  // for a Bézier curve this makes φ(t) the straight line
    curve.params.points.push_back(i == 0 ? a.params : i == k ? b.params : on_line(a.params, b.params, t));
    curve.buffers.push_back(i == 0 ? a.buffers : i == k ? b.buffers : on_line(a.buffers, b.buffers, t));
  }
  return curve;
}

void fit_graph_curve(GraphRunner& runner, GraphPath& curve, const Split& split, const TrainOptions& o,
                     const std::function<void(const EpochReport&)>& progress) {
  const std::size_t num_cp = curve.params.points.size();
  MODECONN_EXPECTS(num_cp >= 3, "a curve with at least one bend");
  MODECONN_EXPECTS(split.task == curve.task, "data of the model's task");
  // The bends are trained; the endpoints stay fixed. Training mode never reads the running statistics; the
  // updates land in a scratch copy.
  const auto trainer =
      runner.make_trainer(*curve.graph, curve.params, curve.buffers.front(), 1, num_cp - 1, split, o);
  Rng t_rng(o.seed ^ 0xC3A5C85C97CB3127ull);  // the stream MLP curve fitting draws t from
  run_minibatches(split.rows, o, progress, [&](std::span<const int64_t> rows) {
    return trainer->step(curve.params.coefficients(t_rng.uniform()), rows);
  });
  trainer->read(curve.params);
}

}  // namespace modeconn
