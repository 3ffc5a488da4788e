// Training graphs and fitting curves between them: on the runner's own trainer where it has one (the CUDA
// backend keeps everything on the device), otherwise on the host, the parameters (or the bends) in one flat
// vector the optimizer updates, every step a call of the runner's backward at φ(t).
#include "modeconn/graph_train.hpp"

#include <algorithm>
#include <cmath>

#include "modeconn/error.hpp"
#include "modeconn/rng.hpp"
#include "train/minibatches.hpp"
#include "train/optimizer.hpp"

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
  Path point;
  point.points.push_back(model.params);
  if (auto trainer = runner.make_trainer(model.graph, point, model.buffers, 0, 1, split, o)) {
    const double coef[] = {1.0};
    run_minibatches(split.rows, o, progress,
                    [&](std::span<const int64_t> rows) { return trainer->step(coef, rows); });
    trainer->read(point);
    model.params = std::move(point.points.front());
    trainer->read_buffers(model.buffers);
    return;
  }
  std::vector<float> grad(model.params.size());
  OptimizerState optimizer(o, model.params.size());
  run_minibatches(split.rows, o, progress, [&](std::span<const int64_t> rows) {
    const PointMetrics m =
        runner.metrics_and_grad(model.graph, model.params, model.buffers, true, split, rows, grad);
    optimizer.step(model.params, grad, model.params);
    return m;
  });
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
  const Graph& g = *curve.graph;
  const std::size_t num_cp = curve.params.points.size(), np = curve.params.points.front().size();
  MODECONN_EXPECTS(num_cp >= 3, "a curve with at least one bend");
  MODECONN_EXPECTS(split.task == curve.task, "data of the model's task");
  Rng t_rng(o.seed ^ 0xC3A5C85C97CB3127ull);  // the stream MLP curve fitting draws t from
  // Training mode never reads the running statistics; the updates land in a scratch copy.
  std::vector<float> scratch_buffers = curve.buffers.front();
  if (auto trainer = runner.make_trainer(g, curve.params, scratch_buffers, 1, num_cp - 1, split, o)) {
    run_minibatches(split.rows, o, progress, [&](std::span<const int64_t> rows) {
      return trainer->step(curve.params.coefficients(t_rng.uniform()), rows);
    });
    trainer->read(curve.params);
    return;
  }
  // The bends, trained; the endpoints stay fixed.
  std::vector<float> flat((num_cp - 2) * np), grad(flat.size()), decay_at(flat.size());
  for (std::size_t k = 1; k + 1 < num_cp; ++k)
    std::copy(curve.params.points[k].begin(), curve.params.points[k].end(),
              flat.begin() + static_cast<std::ptrdiff_t>((k - 1) * np));
  std::vector<float> phi(np), g_phi(np);
  OptimizerState optimizer(o, flat.size());
  run_minibatches(split.rows, o, progress, [&](std::span<const int64_t> rows) {
    const std::vector<double> coef = curve.params.coefficients(t_rng.uniform());
    curve.params.interpolate(coef, 0, np, phi.data());
    const PointMetrics m = runner.metrics_and_grad(g, phi, scratch_buffers, true, split, rows, g_phi);
    // ∂L(φ(t))/∂θ_k = c_k(t)·∇L(φ(t)); the decay term c_k(t)·φ(t) is the gradient of ½‖φ(t)‖² in θ_k.
    for (std::size_t k = 1; k + 1 < num_cp; ++k) {
      const float ck = static_cast<float>(coef[k]);
      float* gk = grad.data() + (k - 1) * np;
      float* dk = decay_at.data() + (k - 1) * np;
      for (std::size_t i = 0; i < np; ++i) {
        gk[i] = ck * g_phi[i];
        dk[i] = ck * phi[i];
      }
    }
    optimizer.step(flat, grad, decay_at);
    for (std::size_t k = 1; k + 1 < num_cp; ++k)
      std::copy(flat.begin() + static_cast<std::ptrdiff_t>((k - 1) * np),
                flat.begin() + static_cast<std::ptrdiff_t>(k * np), curve.params.points[k].begin());
    return m;
  });
}

}  // namespace modeconn
