// The CUDA backend's graph executor: the only loop over a graph's nodes on the device. Each block of rows
// goes up once and runs through all path points together: every node's output holds the points one after
// another ([points][rows][...]), so each op is one launch for all points (convolutions and linear layers one
// strided-batched cuBLAS GEMM over the points' weights, convolutions as im2col over every output position of
// the block), the other ops the kernels of graph_ops.cu, looked up in a table indexed by the op.
// The first layer is factorised over control points as on the CPU; BatchNorm arrives folded into a
// per-channel scale and shift (host/path/graph_path_eval.cpp computes them for every --bn mode).
#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <vector>

#include "cuda_backend.cuh"
#include "gemm.cuh"
#include "graph_backward.cuh"
#include "graph_kernels.cuh"
#include "graph_shapes.cuh"
#include "kernels.cuh"
#include "modeconn/error.hpp"
#include "modeconn/graph_eval.hpp"
#include "modeconn/graph_plan.hpp"
#include "row_stream.cuh"

namespace modeconn::cuda {
namespace {

struct OpArgs {
  const Context& ctx;
  const Graph& graph;
  const Node& node;
  const float* in0 = nullptr;
  const float* in1 = nullptr;
  float* out = nullptr;
  int64_t rows = 0;    // per point
  int64_t points = 1;  // inputs and output hold this many points' maps, each rows × the node's size
  const float* weight = nullptr;  // the first point's; conv2d: channels-last, [out, kh·kw·C]
  const float* bias = nullptr;
  int64_t param_stride = 0;  // floats from one point's weight and bias to the next one's
  const float* scale = nullptr;
  const float* shift = nullptr;
  int64_t bn_stride = 0;  // floats from one point's folded BatchNorm to the next one's
  Activation then =
      Activation::identity;  // batch_norm, linear, conv2d: an activation fused after it (GraphPlan)
  float* scratch = nullptr;
};

const std::vector<int64_t>& input_shape(const OpArgs& a) {
  return a.graph.nodes[static_cast<std::size_t>(a.node.inputs.front())].shape;
}

void input_forward(const OpArgs& a) {
  const auto& s = a.node.shape;
  if (s.size() == 3)
    transpose_channels(a.in0, a.out, a.rows, s[0], s[1] * s[2], true, a.ctx.stream());
  else
    MODECONN_CUDA_CHECK(cudaMemcpyAsync(a.out, a.in0, static_cast<std::size_t>(a.rows * s[0]) * sizeof(float),
                                        cudaMemcpyDeviceToDevice, a.ctx.stream()));
}

// After a linear layer's or convolution's GEMM (every point's `rows` rows of `cols`): the bias and the
// activation the plan fused after it, in one pass.
void finish_affine(const OpArgs& a, int64_t rows, int64_t cols) {
  const bool activate = a.then != Activation::identity;
  if (a.bias)
    bias_activation(a.out, a.points, rows, cols, a.bias, a.param_stride, a.then, activate, a.ctx.stream());
  else if (activate)
    activation_forward(a.out, a.out, a.points * rows * cols, a.then, a.ctx.stream());
}

void linear_forward(const OpArgs& a) {
  const int64_t in = input_shape(a).front();
  gemm(a.ctx, a.rows, a.node.out, in, 1.f, a.in0, false, a.weight, true, 0.f, a.out,
       {a.points, a.rows * in, a.param_stride, a.rows * a.node.out});
  finish_affine(a, a.rows, a.node.out);
}

void conv_forward(const OpArgs& a) {
  const Node& n = a.node;
  const auto& in = input_shape(a);
  const int64_t m = a.rows * n.shape[1] * n.shape[2], k = in[0] * n.kernel[0] * n.kernel[1];
  // Every point's patches at once (the points' maps are consecutive rows to im2col), then one GEMM per point
  // in one batched call: m × k patches against that point's [out, k] weights.
  const float* patches = a.in0;
  if (!pointwise(n)) {
    im2col(a.in0, a.points * a.rows, window(in, n), a.scratch, a.ctx.stream());
    patches = a.scratch;
  }
  gemm(a.ctx, m, n.out, k, 1.f, patches, false, a.weight, true, 0.f, a.out,
       {a.points, m * k, a.param_stride, m * n.out});
  finish_affine(a, m, n.out);
}

void batch_norm_forward(const OpArgs& a) {
  const int64_t n = a.rows * elements(a.node.shape);
  channel_affine(a.in0, a.out, a.points, n, a.node.shape.front(), a.scale, a.shift, a.bn_stride, a.then,
                 a.ctx.stream());
}

// The ops below treat the points' maps as points × rows rows: they have no parameters of their own.
void activation_op(const OpArgs& a) {
  activation_forward(a.in0, a.out, a.points * a.rows * elements(a.node.shape), a.node.activation,
                     a.ctx.stream());
}

void max_pool_forward(const OpArgs& a) {
  window_pool(a.in0, a.points * a.rows, window(input_shape(a), a.node), true, a.out, a.ctx.stream());
}
void avg_pool_forward(const OpArgs& a) {
  window_pool(a.in0, a.points * a.rows, window(input_shape(a), a.node), false, a.out, a.ctx.stream());
}

void global_avg_pool_forward(const OpArgs& a) {
  const auto& in = input_shape(a);
  global_avg_pool(a.in0, a.points * a.rows, in[1] * in[2], in[0], a.out, a.ctx.stream());
}

// nn.Flatten of a [C, H, W] map: channels-last back to channel-major.
void flatten_forward(const OpArgs& a) {
  const auto& in = input_shape(a);
  if (in.size() == 3)
    transpose_channels(a.in0, a.out, a.points * a.rows, in[0], in[1] * in[2], false, a.ctx.stream());
  else
    MODECONN_CUDA_CHECK(cudaMemcpyAsync(a.out, a.in0,
                                        static_cast<std::size_t>(a.points * a.rows * in[0]) * sizeof(float),
                                        cudaMemcpyDeviceToDevice, a.ctx.stream()));
}

void add_forward(const OpArgs& a) {
  add(a.in0, a.in1, a.out, a.points * a.rows * elements(a.node.shape), a.ctx.stream());
}

using Forward = void (*)(const OpArgs&);
const std::array<Forward, kNumOps>& op_table() {
  static const std::array<Forward, kNumOps> table = [] {
    std::array<Forward, kNumOps> t{};
    t[static_cast<std::size_t>(Op::input)] = input_forward;
    t[static_cast<std::size_t>(Op::linear)] = linear_forward;
    t[static_cast<std::size_t>(Op::conv2d)] = conv_forward;
    t[static_cast<std::size_t>(Op::batch_norm)] = batch_norm_forward;
    t[static_cast<std::size_t>(Op::activation)] = activation_op;
    t[static_cast<std::size_t>(Op::max_pool2d)] = max_pool_forward;
    t[static_cast<std::size_t>(Op::avg_pool2d)] = avg_pool_forward;
    t[static_cast<std::size_t>(Op::global_avg_pool)] = global_avg_pool_forward;
    t[static_cast<std::size_t>(Op::flatten)] = flatten_forward;
    t[static_cast<std::size_t>(Op::add)] = add_forward;
    return t;
  }();
  return table;
}

int64_t scratch_per_row(const Graph& g, const Node& n) {
  if (n.op != Op::conv2d || pointwise(n)) return 0;
  return n.shape[1] * n.shape[2] * n.kernel[0] * n.kernel[1] *
         g.nodes[static_cast<std::size_t>(n.inputs.front())].shape[0];
}

// Called for every block of rows and point with the stop node's output on the device (rows × its size).
using Sink = std::function<void(int64_t r0, int64_t rows, std::size_t point, const float* d_out)>;

class CudaGraphRunner final : public GraphRunner {
 public:
  explicit CudaGraphRunner(CudaBackend& backend) : backend_(backend) {}

  std::vector<std::vector<double>> channel_sums(const GraphPoints& pts, int node, const Split& split,
                                                int64_t rows) override {
    const Graph& g = *pts.graph;
    const auto& shape = g.nodes[static_cast<std::size_t>(node)].shape;
    const int64_t c = shape.front(), per_row = positions_of(shape);
    const std::size_t num = pts.params.size();
    const cudaStream_t s = ctx().stream();
    // Per point: Σ, Σ², max of each channel, in float64, accumulated block by block in order.
    std::vector<double> init(num * 3 * static_cast<std::size_t>(c), 0.0);
    for (std::size_t p = 0; p < num; ++p)
      std::fill_n(init.begin() + static_cast<std::ptrdiff_t>((3 * p + 2) * static_cast<std::size_t>(c)), c,
                  -INFINITY);
    DeviceBuffer<double> d_sums(init.size());
    d_sums.upload(init.data(), init.size(), s);
    DeviceBuffer<double> scratch;
    run(pts, make_plan(g, node), split, 0, rows, [&](int64_t, int64_t n, std::size_t p, const float* out) {
      const int64_t m = n * per_row;
      grow(scratch, column_stats_scratch(m, c));
      double* at = d_sums.data() + 3 * p * static_cast<std::size_t>(c);
      column_stats(out, m, c, at, at + c, at + 2 * c, scratch.data(), s);
    });
    std::vector<double> host(init.size());
    d_sums.download(host.data(), host.size(), s);
    ctx().synchronize();
    std::vector<std::vector<double>> out(num);
    for (std::size_t p = 0; p < num; ++p) {
      const auto from = host.begin() + static_cast<std::ptrdiff_t>(3 * p * static_cast<std::size_t>(c));
      out[p].assign(from, from + 2 * c);
    }
    return out;
  }

  ActivationSums cross_sums(const GraphPoints& pts, int node, const Split& split, int64_t rows) override {
    MODECONN_EXPECTS(pts.params.size() == 2, "two points, A and B");
    const Graph& g = *pts.graph;
    const auto& shape = g.nodes[static_cast<std::size_t>(node)].shape;
    const int64_t c = shape.front(), per_row = positions_of(shape);
    const auto uc = static_cast<std::size_t>(c);
    const cudaStream_t s = ctx().stream();
    std::vector<double> init(6 * uc, 0.0);
    std::fill(init.begin() + 2 * c, init.begin() + 3 * c, -INFINITY);
    std::fill(init.begin() + 5 * c, init.end(), -INFINITY);
    DeviceBuffer<double> d_sums(init.size()), d_cross(uc * uc);
    d_sums.upload(init.data(), init.size(), s);
    d_cross.fill_bytes(0, s);
    DeviceBuffer<double> wide_a, wide_b, scratch;
    run(pts, make_plan(g, node), split, 0, rows, [&](int64_t, int64_t n, std::size_t p, const float* out) {
      const int64_t m = n * per_row;
      DeviceBuffer<double>& wide = p == 0 ? wide_a : wide_b;
      grow(wide, m * c);
      grow(scratch, column_stats_scratch(m, c));
      widen(out, wide.data(), m * c, s);  // for the float64 cross product
      double* at = d_sums.data() + 3 * p * uc;
      column_stats(out, m, c, at, at + c, at + 2 * c, scratch.data(), s);
      if (p == 1)
        gemm_f64(ctx(), c, c, m, 1.0, wide_a.data(), true, wide_b.data(), false, 1.0, d_cross.data());
    });
    ActivationSums out;
    std::vector<double> host(init.size());
    out.cross.resize(uc * uc);
    d_sums.download(host.data(), host.size(), s);
    d_cross.download(out.cross.data(), out.cross.size(), s);
    ctx().synchronize();
    const auto part = [&](std::size_t k) {
      return std::vector<double>(host.begin() + k * uc, host.begin() + (k + 1) * uc);
    };
    out.rows = rows * per_row;
    out.sum_a = part(0);
    out.sq_a = part(1);
    out.max_a = part(2);
    out.sum_b = part(3);
    out.sq_b = part(4);
    out.max_b = part(5);
    return out;
  }

  std::vector<PointMetrics> metrics(const GraphPoints& pts, const Split& split) override {
    const Graph& g = *pts.graph;
    MODECONN_EXPECTS(split.task == pts.task, "data of the model's task");
    const auto num = static_cast<int64_t>(pts.params.size());
    const int64_t width = g.output_size();
    const cudaStream_t s = ctx().stream();
    const ResidentSplit& data = backend_.resident(split);  // the labels or targets stay with the inputs
    DeviceBuffer<double> d_loss = backend_.buffer<double>(static_cast<std::size_t>(num * split.rows));
    DeviceBuffer<double> d_err = backend_.buffer<double>(d_loss.size());
    run(pts, make_plan(g), split, 0, split.rows, [&](int64_t r0, int64_t n, std::size_t p, const float* out) {
      const auto at = static_cast<std::ptrdiff_t>(p) * split.rows;
      row_losses(out, 1, n, width, split.task, data.labels.data(), data.targets.data(), r0,
                 d_loss.data() + at, d_err.data() + at, split.rows, s);
    });
    DeviceBuffer<double> d_sums(static_cast<std::size_t>(2 * num));
    segmented_sum(d_loss.data(), num, split.rows, d_sums.data(), s);
    segmented_sum(d_err.data(), num, split.rows, d_sums.data() + num, s);
    std::vector<double> sums(static_cast<std::size_t>(2 * num));
    d_sums.download(sums.data(), sums.size(), s);
    ctx().synchronize();
    std::vector<PointMetrics> result(static_cast<std::size_t>(num));
    for (int64_t p = 0; p < num; ++p)
      result[static_cast<std::size_t>(p)] = {
          sums[static_cast<std::size_t>(p)] / static_cast<double>(split.rows),
          sums[static_cast<std::size_t>(num + p)] / static_cast<double>(split.rows)};
    return result;
  }

  std::vector<float> outputs(const GraphPoints& pts, const Split& split, int64_t first,
                             int64_t count) override {
    const Graph& g = *pts.graph;
    const int64_t width = g.output_size();
    GraphPoints one = pts;
    one.params.resize(1);
    one.scale.resize(1);
    one.shift.resize(1);
    one.control = nullptr;
    std::vector<float> out(static_cast<std::size_t>(count * width));
    const cudaStream_t s = ctx().stream();
    run(one, make_plan(g), split, first, count, [&](int64_t r0, int64_t n, std::size_t, const float* d) {
      MODECONN_CUDA_CHECK(cudaMemcpyAsync(out.data() + (r0 - first) * width, d,
                                          static_cast<std::size_t>(n * width) * sizeof(float),
                                          cudaMemcpyDeviceToHost, s));
    });
    ctx().synchronize();
    return out;
  }

  PointMetrics metrics_and_grad(const Graph& graph, std::span<const float> params, std::span<float> buffers,
                                bool train_bn, const Split& split, std::span<const int64_t> rows,
                                std::span<float> grad) override {
    MODECONN_EXPECTS(
        params.size() == static_cast<std::size_t>(graph.num_params()) && grad.size() == params.size(),
        "parameter sizes");
    MODECONN_EXPECTS(buffers.size() == static_cast<std::size_t>(graph.num_buffers()), "buffer sizes");
    const cudaStream_t s = ctx().stream();
    grow(d_params_, static_cast<int64_t>(params.size()));
    grow(d_grad_, static_cast<int64_t>(params.size()));
    grow(d_buffers_, static_cast<int64_t>(buffers.size()));
    d_params_.upload(params.data(), params.size(), s);
    d_buffers_.upload(buffers.data(), buffers.size(), s);
    const PointMetrics m = graph_device_metrics_and_grad(backend_, graph, d_params_.data(), d_buffers_.data(),
                                                         train_bn, split, rows, d_grad_.data(), workspace_);
    d_grad_.download(grad.data(), grad.size(), s);
    if (train_bn) d_buffers_.download(buffers.data(), buffers.size(), s);
    ctx().synchronize();
    return m;
  }
  std::unique_ptr<GraphTrainer> make_trainer(const Graph& graph, const Path& points,
                                             std::span<const float> buffers, std::size_t first,
                                             std::size_t last, const Split& split,
                                             const TrainOptions& options) override {
    return make_graph_trainer(backend_, graph, points, buffers, first, last, split, options);
  }

 private:
  const Context& ctx() const { return backend_.context(); }
  // A buffer reused across blocks, replaced by a larger one when a block needs more.
  template <typename T>
  void grow(DeviceBuffer<T>& buffer, int64_t size) {
    if (buffer.size() < static_cast<std::size_t>(size))
      buffer = backend_.buffer<T>(static_cast<std::size_t>(size));
  }

  void run(const GraphPoints& pts, const GraphPlan& plan, const Split& split, int64_t first, int64_t count,
           const Sink& sink);

  CudaBackend& backend_;
  // Training: the parameters, running statistics and gradient of the last step, and the pass's buffers.
  DeviceBuffer<float> d_params_, d_buffers_, d_grad_;
  DeviceBackpropWorkspace workspace_;
};

void CudaGraphRunner::run(const GraphPoints& pts, const GraphPlan& plan, const Split& split, int64_t first,
                          int64_t count, const Sink& sink) {
  const Graph& g = *pts.graph;
  const std::size_t num_pts = pts.params.size();
  MODECONN_EXPECTS(split.features == g.input_size(), "data width matches the graph's input");
  MODECONN_EXPECTS(first >= 0 && first + count <= split.rows, "rows inside the split");
  if (num_pts == 0 || count == 0) return;
  const cudaStream_t s = ctx().stream();
  // The split's inputs stay on the device from one call to the next (a path's evaluation, its BatchNorm
  // passes, the next command on the same split); a split too big for the card goes up block by block.
  const ResidentSplit& data = backend_.resident(split);
  const TensorPlaces places = tensor_places(g);
  int64_t bn_total = 0;
  const std::vector<int64_t> bn_offset = batch_norm_offsets(g, &bn_total);
  const bool factorise = plan.first_layer >= 0 && pts.control && pts.control->points.size() < num_pts;
  const std::size_t num_cp = factorise ? pts.control->points.size() : 0;

  // Every point's parameters in the layouts the ops read, and its folded BatchNorm, uploaded once.
  const auto np = static_cast<std::size_t>(g.num_params());
  DeviceBuffer<float> d_params = backend_.buffer<float>(num_pts * np);
  DeviceBuffer<float> d_scale =
      backend_.buffer<float>(std::max<std::size_t>(1, num_pts * static_cast<std::size_t>(bn_total)));
  DeviceBuffer<float> d_shift = backend_.buffer<float>(d_scale.size());
  for (std::size_t p = 0; p < num_pts; ++p) {
    std::vector<float> prepared = pts.params[p];
    for (std::size_t i = 0; i < g.nodes.size(); ++i)
      if (g.nodes[i].op == Op::conv2d && plan.needed[i])
        conv_weight_channels_last(
            g, g.nodes[i], prepared.data() + places[i][static_cast<std::size_t>(TensorRole::weight)].offset);
    d_params.upload(prepared.data(), np, s, p * np);
    d_scale.upload(pts.scale[p].data(), static_cast<std::size_t>(bn_total), s,
                   p * static_cast<std::size_t>(bn_total));
    d_shift.upload(pts.shift[p].data(), static_cast<std::size_t>(bn_total), s,
                   p * static_cast<std::size_t>(bn_total));
  }
  const std::size_t f = factorise ? static_cast<std::size_t>(plan.first_layer) : 0;
  const TensorPlace& fw = places[f][static_cast<std::size_t>(TensorRole::weight)];
  DeviceBuffer<float> d_first = backend_.buffer<float>(num_cp * static_cast<std::size_t>(fw.size));
  DeviceBuffer<double> d_coef = backend_.buffer<double>(std::max<std::size_t>(1, num_pts * num_cp));
  DeviceBuffer<float> d_zero =
      backend_.buffer<float>(factorise ? static_cast<std::size_t>(g.nodes[f].out) : 0);
  if (factorise) {
    for (std::size_t k = 0; k < num_cp; ++k) {
      std::vector<float> w(pts.control->points[k].begin() + fw.offset,
                           pts.control->points[k].begin() + fw.offset + fw.size);
      if (g.nodes[f].op == Op::conv2d) conv_weight_channels_last(g, g.nodes[f], w.data());
      d_first.upload(w.data(), w.size(), s, k * static_cast<std::size_t>(fw.size));
    }
    std::vector<double> coef;
    for (const auto& c : pts.coef) coef.insert(coef.end(), c.begin(), c.end());
    d_coef.upload(coef.data(), coef.size(), s);
    d_zero.fill_bytes(0, s);
  }

  int64_t scratch = 0;
  for (std::size_t i = 0; i < g.nodes.size(); ++i)
    if (plan.needed[i]) scratch = std::max(scratch, scratch_per_row(g, g.nodes[i]));
  const int64_t first_size = factorise ? plan.size[f] : 0;
  // An op that reads the input reads it as every other operand, one copy per point; the factorised first
  // layer reads one copy for all points, so when it is the input's only reader one copy is all there is.
  const auto pts_count = static_cast<int64_t>(num_pts);
  bool input_per_point = false;
  for (int i = 1; i <= plan.stop; ++i) {
    const Node& n = g.nodes[static_cast<std::size_t>(i)];
    if (plan.needed[static_cast<std::size_t>(i)] && !plan.fused_away[static_cast<std::size_t>(i)] &&
        !(factorise && static_cast<std::size_t>(i) == f))
      input_per_point |= std::find(n.inputs.begin(), n.inputs.end(), 0) != n.inputs.end();
  }
  const int64_t input_copies = input_per_point ? pts_count : 1;
  // Per row of a block: the data, the input copies, every point's patches and slots, the control points'
  // first-layer products.
  int64_t per_point = scratch;
  for (int64_t v : plan.slot_size) per_point += v;
  const int64_t per_row = (data.streamed ? 2 * split.features : 0) + input_copies * plan.size[0] +
                          pts_count * per_point + static_cast<int64_t>(num_cp) * first_size;
  const int64_t budget = static_cast<int64_t>(ctx().free_memory() / 4 / sizeof(float));
  const int64_t block = std::clamp<int64_t>(budget / std::max<int64_t>(per_row, 1), 1,
                                            std::min<int64_t>({count, 8192, backend_.max_chunk_rows()}));
  const auto sized = [&](int64_t per_block_row) { return static_cast<std::size_t>(block * per_block_row); };

  std::unique_ptr<RowStream> stream;
  if (data.streamed)
    stream =
        std::make_unique<RowStream>(split.x.data() + first * split.features, count, split.features, block, s);
  // A flat input that every op reads as one copy needs no copy of its own: the ops read the block where it
  // lies, in the resident split or in the stream's slot.
  const bool input_in_place = g.nodes[0].shape.size() == 1 && input_copies == 1;
  DeviceBuffer<float> d_input =
      backend_.buffer<float>(input_in_place ? 0 : sized(input_copies * plan.size[0]));
  DeviceBuffer<float> d_scratch = backend_.buffer<float>(sized(pts_count * scratch));
  DeviceBuffer<float> d_parts = backend_.buffer<float>(num_cp * sized(first_size));
  std::vector<DeviceBuffer<float>> slots;
  for (int64_t v : plan.slot_size) slots.push_back(backend_.buffer<float>(sized(pts_count * v)));
  const auto output_of = [&](int node) -> float* {
    return slots[static_cast<std::size_t>(plan.slot[static_cast<std::size_t>(node)])].data();
  };
  const float* input = nullptr;  // the input node's output for this block
  const auto input_of = [&](int node) -> const float* { return node == 0 ? input : output_of(node); };

  for (int64_t r0 = first; r0 < first + count; r0 += block) {
    const int64_t rows = std::min(block, first + count - r0);
    const int64_t input_floats = rows * plan.size[0];
    const float* x = stream ? stream->chunk(r0 - first) : data.x.data() + r0 * split.features;
    if (input_in_place) {
      input = x;
    } else {
      op_table()[static_cast<std::size_t>(Op::input)](
          {ctx(), g, g.nodes[0], x, nullptr, d_input.data(), rows});
      for (int64_t p = 1; p < input_copies; ++p)
        MODECONN_CUDA_CHECK(cudaMemcpyAsync(d_input.data() + p * input_floats, d_input.data(),
                                            static_cast<std::size_t>(input_floats) * sizeof(float),
                                            cudaMemcpyDeviceToDevice, s));
      input = d_input.data();
    }
    if (factorise) {
      const Node& n = g.nodes[f];
      for (std::size_t k = 0; k < num_cp; ++k) {
        // Packed at this block's rows, as combine_bias_activation reads them.
        OpArgs args{ctx(), g,       n,
                    input, nullptr, d_parts.data() + k * static_cast<std::size_t>(rows * first_size),
                    rows};
        args.weight = d_first.data() + k * static_cast<std::size_t>(fw.size);
        args.scratch = d_scratch.data();
        op_table()[static_cast<std::size_t>(n.op)](args);
      }
    }
    for (int i = 1; i <= plan.stop; ++i) {
      const auto ui = static_cast<std::size_t>(i);
      if (!plan.needed[ui] || plan.fused_away[ui]) continue;
      const Node& n = g.nodes[ui];
      float* out = output_of(i);
      const TensorPlace& bias = places[ui][static_cast<std::size_t>(TensorRole::bias)];
      if (factorise && ui == f) {
        // Σ_k c_k · part_k + bias over every output position of every point, as rows·positions rows of `out`
        // columns per point.
        combine_bias_activation(
            d_parts.data(), static_cast<int64_t>(num_cp), d_coef.data(), pts_count,
            rows * positions_of(n.shape), n.out, bias.present ? d_params.data() + bias.offset : d_zero.data(),
            bias.present ? static_cast<int64_t>(np) : 0, fused_activation_of(g, plan, i), out, s);
        continue;
      }
      OpArgs args{ctx(), g,   n, input_of(n.inputs[0]), n.inputs.size() > 1 ? input_of(n.inputs[1]) : nullptr,
                  out,   rows};
      args.points = pts_count;
      if (n.op == Op::linear || n.op == Op::conv2d) {
        args.weight = d_params.data() + places[ui][static_cast<std::size_t>(TensorRole::weight)].offset;
        args.bias = bias.present ? d_params.data() + bias.offset : nullptr;
        args.param_stride = static_cast<int64_t>(np);
      }
      if (n.op == Op::batch_norm) {
        args.scale = d_scale.data() + bn_offset[ui];
        args.shift = d_shift.data() + bn_offset[ui];
        args.bn_stride = bn_total;
      }
      args.then = fused_activation_of(g, plan, i);
      args.scratch = d_scratch.data();
      op_table()[static_cast<std::size_t>(n.op)](args);
    }
    const int64_t out_floats = rows * plan.size[static_cast<std::size_t>(plan.stop)];
    for (std::size_t p = 0; p < num_pts; ++p) {
      // Stopping at the input (a BatchNorm right after it): one copy serves every point unless each has its
      // own.
      const auto at = static_cast<int64_t>(p) * out_floats;
      sink(r0, rows, p, plan.stop == 0 ? input + (input_copies > 1 ? at : 0) : output_of(plan.stop) + at);
    }
    if (stream) stream->consumed();  // every op that reads the block is queued
  }
}

}  // namespace

std::unique_ptr<GraphRunner> CudaBackend::graph_runner() { return std::make_unique<CudaGraphRunner>(*this); }

}  // namespace modeconn::cuda
