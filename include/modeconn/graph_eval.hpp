// Evaluating a layer graph along a path, with BatchNorm's statistics handled as the --bn mode says (DESIGN:
// "Networks beyond MLPs"). The modes are computed here, once for every backend; a backend supplies a
// GraphRunner that pushes rows through the graph at many points at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "modeconn/backend.hpp"
#include "modeconn/dataset.hpp"
#include "modeconn/graph_model.hpp"

namespace modeconn {

// keep: the running statistics interpolated like the parameters; recompute: each point's exact statistics
// over the first N training rows, layer by layer (Garipov et al. 2018); repair: each channel's output
// statistics at every point reset to the interpolation of the endpoints' (Jordan et al. 2023, REPAIR).
enum class BnMode { keep, recompute, repair };
BnMode parse_bn_mode(std::string_view name);
std::string_view bn_mode_name(BnMode mode);

struct BnOptions {
  BnMode mode = BnMode::keep;
  const Split* split = nullptr;  // recompute, repair: the rows the statistics are measured on
  int64_t rows = 0;              // the first `rows` rows of `split`
};

// Per node, the offset of a batch_norm's channels in the folded scale and shift vectors (-1 for other nodes),
// and their total.
std::vector<int64_t> batch_norm_offsets(const Graph& graph, int64_t* total = nullptr);

// The points a runner evaluates: each point's parameters (PyTorch layouts, the GraphModel's flat vector) and
// each BatchNorm folded to y = scale·x + shift per channel. With `control`, the first layer (GraphPlan's
// first_layer) may instead be computed from the control points' products and `coef`, one row per point.
struct GraphPoints {
  const Graph* graph = nullptr;
  Task task = Task::classification;
  std::vector<std::vector<float>> params;
  std::vector<std::vector<float>> scale, shift;
  const Path* control = nullptr;
  std::vector<std::vector<double>> coef;
};

// A trainer of a graph's parameters that also keeps the BatchNorm running statistics its training updates.
class GraphTrainer : public Trainer {
 public:
  // Copies the running statistics back into `buffers`.
  virtual void read_buffers(std::span<float> buffers) = 0;
};

// What a backend implements to run graphs: every point in one pass over the rows.
class GraphRunner {
 public:
  virtual ~GraphRunner() = default;
  // Per point, Σx then Σx² (float64) of each channel of node `node`'s output over every row in [0, rows) of
  // `split` and every position: 2·channels values per point.
  virtual std::vector<std::vector<double>> channel_sums(const GraphPoints& points, int node,
                                                        const Split& split, int64_t rows) = 0;
  // Two points (0: A, 1: B): the float64 sums of node `node`'s channels over rows [0, rows) of `split` and
  // every position (`rows` of the result counts values per channel: rows × positions), with A's and B's cross
  // products, for activation matching.
  virtual ActivationSums cross_sums(const GraphPoints& points, int node, const Split& split,
                                    int64_t rows) = 0;
  // Mean loss and error at each point over the whole split.
  virtual std::vector<PointMetrics> metrics(const GraphPoints& points, const Split& split) = 0;
  // The output (logits) at point 0 for split rows [first, first + count), row-major.
  virtual std::vector<float> outputs(const GraphPoints& points, const Split& split, int64_t first,
                                     int64_t count) = 0;
  // Mean loss and error over split rows `rows` (a minibatch) at one model's `params` (the GraphModel's flat
  // vector), and the loss's gradient, written to `grad`. BatchNorm normalises with the running statistics in
  // `buffers`, or with `train_bn` with the minibatch's own as PyTorch's train mode does, `buffers` then
  // updated as it updates them (momentum 0.1, the variance unbiased).
  virtual PointMetrics metrics_and_grad(const Graph& graph, std::span<const float> params,
                                        std::span<float> buffers, bool train_bn, const Split& split,
                                        std::span<const int64_t> rows, std::span<float> grad) = 0;
  // A trainer of `points`, the graph's parameters (one point: a model; or a curve's control points, [first,
  // last) trained), with BatchNorm in train mode and `buffers` updated (a curve's fitting passes a scratch
  // copy: train mode only writes them). As Backend::make_trainer for MLPs, the default is the host's loop
  // over metrics_and_grad; a device's runner keeps the points, the optimizer's state, the gradient and the
  // running statistics on the device.
  virtual std::unique_ptr<GraphTrainer> make_trainer(const Graph& graph, const Path& points,
                                                     std::span<const float> buffers, std::size_t first,
                                                     std::size_t last, const Split& split,
                                                     const TrainOptions& options);
};

std::unique_ptr<GraphRunner> make_cpu_graph_runner();

// The folded BatchNorm of every point of `path` at `ts`, as `bn` says; the statistics passes run on `runner`.
GraphPoints graph_points(GraphRunner& runner, const GraphPath& path, std::span<const double> ts,
                         const BnOptions& bn);

// The same at points given by their coefficients over the path's control points (a plane's points); BatchNorm
// kept or recomputed (REPAIR's targets interpolate a path's endpoints along t).
GraphPoints graph_points_at(GraphRunner& runner, const GraphPath& path,
                            std::span<const std::vector<double>> coefs, const BnOptions& bn);

// Loss and error at every t of the path on `split`.
std::vector<PointMetrics> evaluate_graph_path(GraphRunner& runner, const GraphPath& path,
                                              std::span<const double> ts, const Split& split,
                                              const BnOptions& bn);

// A single graph model's points: one point, its BatchNorm with the running statistics as trained.
GraphPoints model_graph_points(GraphRunner& runner, const GraphModel& model);

// An MLP's path as the executor's points: `mlp` is mlp_graph(path.arch), whose tensors lie in the order of
// the MLP's parameters, so each point's parameters are the path's interpolation as they are; no BatchNorm.
GraphPoints mlp_graph_points(const Graph& mlp, const Path& path, std::span<const double> ts);
GraphPoints mlp_graph_points(const Graph& mlp, const Path& path, std::span<const std::vector<double>> coefs);
// Models of `mlp`'s shape as points 0, 1, ... (not a path: nothing to factorise).
GraphPoints mlp_model_points(const Graph& mlp, std::span<const Model* const> models);
// The node of `mlp` whose output is hidden layer `layer`'s activations.
int mlp_activation_node(const Graph& mlp, std::size_t layer);

// A single graph model's outputs for split rows [first, first + count), its BatchNorm as trained.
std::vector<float> graph_outputs(GraphRunner& runner, const GraphModel& model, const Split& split,
                                 int64_t first, int64_t count);

}  // namespace modeconn
