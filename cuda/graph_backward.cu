// Backpropagation through a layer graph on a minibatch, on the device: the CUDA backend's only training loop
// over a graph's nodes (an MLP is a graph like any other). Forward keeps every node's output, then backward
// runs the nodes in reverse, each op's gradient beside its forward in one switch: GEMMs through cuBLAS
// (a convolution's weight gradient against its patches, recomputed by im2col rather than kept; its input
// gradient as patch gradients folded back by col2im), BatchNorm's batch statistics and backward sums as
// per-channel float64 column sums, the rest the gather kernels of graph_backward_ops.cu. Everything runs in
// order on the backend's one stream, and the host waits once, for the loss and error.
#include <algorithm>
#include <vector>

#include "gemm.cuh"
#include "graph_backward.cuh"
#include "graph_kernels.cuh"
#include "graph_shapes.cuh"
#include "kernels.cuh"
#include "modeconn/error.hpp"
#include "modeconn/graph_model.hpp"
#include "modeconn/graph_plan.hpp"

namespace modeconn::cuda {
namespace {

// A workspace buffer at least `size` long, replaced by a larger one when a step needs more.
template <typename T>
T* grow(CudaBackend& backend, DeviceBuffer<T>& buffer, int64_t size) {
  if (buffer.size() < static_cast<std::size_t>(std::max<int64_t>(size, 1)))
    buffer = backend.buffer<T>(static_cast<std::size_t>(std::max<int64_t>(size, 1)));
  return buffer.data();
}

}  // namespace

PointMetrics graph_device_metrics_and_grad(CudaBackend& backend, const Graph& g, const float* d_params,
                                           float* d_buffers, bool train_bn, const Split& split,
                                           std::span<const int64_t> rows, float* d_grad,
                                           DeviceBackpropWorkspace& ws) {
  MODECONN_EXPECTS(!rows.empty(), "a minibatch needs rows");
  MODECONN_EXPECTS(split.features == g.input_size(), "data width matches the graph's input");
  MODECONN_EXPECTS(d_buffers || g.num_buffers() == 0, "running statistics for the graph's BatchNorms");
  for (int64_t r : rows) MODECONN_EXPECTS(r >= 0 && r < split.rows, "rows inside the split");
  const Context& ctx = backend.context();
  const cudaStream_t s = ctx.stream();
  const std::size_t num_nodes = g.nodes.size();
  const int64_t n = static_cast<int64_t>(rows.size());
  const int64_t d = g.input_size(), classes = g.output_size();
  const TensorPlaces places = tensor_places(g);
  const GraphPlan plan = make_plan(g);
  const ResidentSplit& data = backend.resident(split);

  // The minibatch's rows: gathered on the device, or on the host when the split is streamed.
  int64_t* d_rows = grow(backend, ws.rows, n);
  MODECONN_CUDA_CHECK(
      cudaMemcpyAsync(d_rows, rows.data(), rows.size() * sizeof(int64_t), cudaMemcpyHostToDevice, s));
  float* d_x = grow(backend, ws.x, n * d);
  std::vector<float> host_rows;
  if (data.streamed) {
    host_rows.resize(static_cast<std::size_t>(n * d));
    for (std::size_t r = 0; r < rows.size(); ++r)
      std::copy_n(split.x.data() + rows[r] * d, d, host_rows.data() + static_cast<int64_t>(r) * d);
    MODECONN_CUDA_CHECK(
        cudaMemcpyAsync(d_x, host_rows.data(), host_rows.size() * sizeof(float), cudaMemcpyHostToDevice, s));
  } else {
    gather_rows(data.x.data(), d, d_rows, n, d_x, s);
  }

  // The parameters in the layouts the ops read: convolution weights channels-last.
  const float* w = d_params;
  const auto conv_taps = [&](const Node& node) { return node.kernel[0] * node.kernel[1]; };
  const auto in_channels = [&](const Node& node) {
    return g.nodes[static_cast<std::size_t>(node.inputs.front())].shape.front();
  };
  for (std::size_t i = 0; i < num_nodes; ++i) {
    const Node& node = g.nodes[i];
    if (node.op != Op::conv2d || !plan.needed[i] || conv_taps(node) == 1) continue;
    if (w == d_params) {
      float* prepared = grow(backend, ws.prepared, g.num_params());
      MODECONN_CUDA_CHECK(cudaMemcpyAsync(prepared, d_params,
                                          static_cast<std::size_t>(g.num_params()) * sizeof(float),
                                          cudaMemcpyDeviceToDevice, s));
      w = prepared;
    }
    const int64_t off = places[i][static_cast<std::size_t>(TensorRole::weight)].offset;
    transpose_channels(d_params + off, ws.prepared.data() + off, node.out, in_channels(node), conv_taps(node),
                       true, s);
  }
  const auto tensor = [&](std::size_t node, TensorRole role, const float* base) -> const float* {
    const TensorPlace& p = places[node][static_cast<std::size_t>(role)];
    return p.present ? base + p.offset : nullptr;
  };
  const auto mutable_tensor = [&](std::size_t node, TensorRole role, float* base) -> float* {
    const TensorPlace& p = places[node][static_cast<std::size_t>(role)];
    return p.present ? base + p.offset : nullptr;
  };

  // A BatchNorm and the activation that alone reads it run as one pass, in the BatchNorm's buffers.
  const TrainingLayout layout = training_layout(g, plan);
  const std::vector<std::size_t>& held = layout.held;
  const std::vector<Activation>& then = layout.then;

  // Buffers: every node's output and gradient; per BatchNorm its mean and 1/√(var + eps), kept from forward
  // to backward; scratch sized for the largest op.
  ws.value.resize(num_nodes);
  ws.dvalue.resize(num_nodes);
  std::vector<int64_t> bn_at(num_nodes, -1);
  int64_t bn_total = 0, max_patches = 0, max_dweight = 0, max_positions = 0, max_bn_map = 0, max_sums = 1,
          max_bn_channels = 0;
  for (std::size_t i = 0; i < num_nodes; ++i) {
    if (!plan.needed[i]) continue;
    const Node& node = g.nodes[i];
    const int64_t size = n * plan.size[i];
    if (held[i] == i) {
      grow(backend, ws.value[i], size);
      if (i > 0) grow(backend, ws.dvalue[i], size);
    }
    const int64_t m = n * positions_of(node.shape);
    if (node.op == Op::batch_norm) {
      bn_at[i] = bn_total;
      bn_total += 2 * node.shape.front();
      max_bn_map = std::max(max_bn_map, size);
      max_bn_channels = std::max(max_bn_channels, node.shape.front());
      max_sums = std::max(max_sums, column_sums_scratch(m, node.shape.front()));
    }
    if (node.op == Op::conv2d) {
      const int64_t k = in_channels(node) * conv_taps(node);
      if (!pointwise(node)) max_patches = std::max(max_patches, m * k);
      if (conv_taps(node) > 1) max_dweight = std::max(max_dweight, node.out * k);
    }
    if (node.op == Op::conv2d || node.op == Op::linear) max_positions = std::max(max_positions, m);
  }
  double* bn_stats = grow(backend, ws.bn_stats, bn_total);
  // A BatchNorm's two sums per channel ([Σx | Σx²] forward, [Σ∂z | Σ∂z·(x − μ)] backward) are read by the
  // kernels right after the ones that write them, in stream order: one buffer serves every BatchNorm.
  double* sums = grow(backend, ws.sums, 2 * max_bn_channels);
  double* scratch = grow(backend, ws.scratch, max_sums);
  float* patches = grow(backend, ws.patches, max_patches);
  float* dpatches = grow(backend, ws.dpatches, max_patches);
  float* dweight = grow(backend, ws.dweight, max_dweight);
  float* dz = grow(backend, ws.dz, max_bn_map);
  if (ws.ones.size() < static_cast<std::size_t>(std::max<int64_t>(max_positions, 1))) {
    const std::vector<float> ones(static_cast<std::size_t>(std::max<int64_t>(max_positions, 1)), 1.f);
    ws.ones = backend.buffer<float>(ones.size());
    ws.ones.upload(ones.data(), ones.size(), s);
  }
  const float* ones = ws.ones.data();
  const auto val = [&](std::size_t node) { return ws.value[held[node]].data(); };
  const auto grad_of = [&](std::size_t node) { return ws.dvalue[held[node]].data(); };
  const auto in_shape = [&](const Node& node) -> const std::vector<int64_t>& {
    return g.nodes[static_cast<std::size_t>(node.inputs.front())].shape;
  };

  // Parameters of nodes the output does not need get 0.
  for (std::size_t i = 0; i < num_nodes; ++i)
    if (!plan.needed[i])
      for (TensorRole role : {TensorRole::weight, TensorRole::bias})
        if (const TensorPlace& p = places[i][static_cast<std::size_t>(role)]; p.present && !p.buffer)
          MODECONN_CUDA_CHECK(
              cudaMemsetAsync(d_grad + p.offset, 0, static_cast<std::size_t>(p.size) * sizeof(float), s));

  // Forward.
  {
    const auto& shape = g.nodes[0].shape;
    if (shape.size() == 3)
      transpose_channels(d_x, val(0), n, shape[0], shape[1] * shape[2], true, s);
    else
      MODECONN_CUDA_CHECK(cudaMemcpyAsync(val(0), d_x, static_cast<std::size_t>(n * d) * sizeof(float),
                                          cudaMemcpyDeviceToDevice, s));
  }
  for (std::size_t i = 1; i < num_nodes; ++i) {
    if (!plan.needed[i] || held[i] != i) continue;  // an activation its BatchNorm applies
    const Node& node = g.nodes[i];
    const auto in0 = static_cast<std::size_t>(node.inputs[0]);
    const float* x = val(in0);
    float* y = val(i);
    const int64_t size = n * plan.size[i];
    switch (node.op) {
      case Op::linear: {
        const int64_t in = in_shape(node).front();
        gemm(ctx, n, node.out, in, 1.f, x, false, tensor(i, TensorRole::weight, w), true, 0.f, y);
        if (const float* b = tensor(i, TensorRole::bias, w))
          bias_activation(y, 1, n, node.out, b, 0, Activation::identity, false, s);
        break;
      }
      case Op::conv2d: {
        const int64_t m = n * positions_of(node.shape), k = in_channels(node) * conv_taps(node);
        const float* p = x;
        if (!pointwise(node)) {
          im2col(x, n, window(in_shape(node), node), patches, s);
          p = patches;
        }
        gemm(ctx, m, node.out, k, 1.f, p, false, tensor(i, TensorRole::weight, w), true, 0.f, y);
        if (const float* b = tensor(i, TensorRole::bias, w))
          bias_activation(y, 1, m, node.out, b, 0, Activation::identity, false, s);
        break;
      }
      case Op::batch_norm: {
        const int64_t c = node.shape.front(), m = n * positions_of(node.shape);
        double* mean = bn_stats + bn_at[i];
        double* inv = mean + c;
        if (train_bn) column_sums(x, nullptr, nullptr, m, c, sums, scratch, s);
        batch_norm_statistics(sums, c, static_cast<double>(m), node.eps, train_bn,
                              mutable_tensor(i, TensorRole::running_mean, d_buffers),
                              mutable_tensor(i, TensorRole::running_var, d_buffers), mean, inv, s);
        batch_norm_normalise(x, y, m, c, mean, inv, tensor(i, TensorRole::weight, w),
                             tensor(i, TensorRole::bias, w), then[i], s);
        break;
      }
      case Op::activation:
        activation_forward(x, y, size, node.activation, s);
        break;
      case Op::max_pool2d:
      case Op::avg_pool2d:
        window_pool(x, n, window(in_shape(node), node), node.op == Op::max_pool2d, y, s);
        break;
      case Op::global_avg_pool: {
        const auto& in = in_shape(node);
        global_avg_pool(x, n, in[1] * in[2], in[0], y, s);
        break;
      }
      case Op::flatten: {
        const auto& in = in_shape(node);
        if (in.size() == 3)
          transpose_channels(x, y, n, in[0], in[1] * in[2], false, s);
        else
          accumulate(x, y, size, false, s);
        break;
      }
      case Op::add:
        add(x, val(static_cast<std::size_t>(node.inputs[1])), y, size, s);
        break;
      case Op::input:
        MODECONN_EXPECTS(false, "one input node, the first");
    }
  }

  // The loss and its gradient with respect to the output.
  const std::size_t last = num_nodes - 1;
  double* row_metrics = grow(backend, ws.row_metrics, 2 * n);
  loss_gradient(val(last), n, classes, split.task, data.labels.data(), data.targets.data(), d_rows,
                grad_of(last), row_metrics, row_metrics + n, s);
  double* totals = grow(backend, ws.totals, 2);
  segmented_sum(row_metrics, 2, n, totals, s);

  // Backward in reverse node order.
  GradientArrivals arrivals(layout);
  for (std::size_t i = last; i > 0; --i) {
    if (!plan.needed[i] || held[i] != i) continue;
    const Node& node = g.nodes[i];
    const auto in0 = static_cast<std::size_t>(node.inputs[0]);
    float* din0 = in0 == 0 ? nullptr : grad_of(in0);
    const bool add0 = !arrivals.first(in0);
    const float* x = val(in0);
    const float* y = val(i);
    const float* dy = grad_of(i);
    const int64_t size = n * plan.size[i];
    float* dw = mutable_tensor(i, TensorRole::weight, d_grad);
    float* db = mutable_tensor(i, TensorRole::bias, d_grad);
    switch (node.op) {
      case Op::linear: {
        const int64_t in = in_shape(node).front();
        gemm(ctx, node.out, in, n, 1.f, dy, true, x, false, 0.f, dw);
        if (db) gemm(ctx, 1, node.out, n, 1.f, ones, false, dy, false, 0.f, db);
        if (din0)
          gemm(ctx, n, in, node.out, 1.f, dy, false, tensor(i, TensorRole::weight, w), false,
               add0 ? 1.f : 0.f, din0);
        break;
      }
      case Op::conv2d: {
        const int64_t m = n * positions_of(node.shape), c = in_channels(node), taps = conv_taps(node),
                      k = c * taps;
        const float* p = x;
        const Window win = window(in_shape(node), node);
        if (!pointwise(node)) {
          im2col(x, n, win, patches, s);
          p = patches;
        }
        // The weight gradient channels-last, then back to PyTorch's layout (the same for 1×1 kernels).
        gemm(ctx, node.out, k, m, 1.f, dy, true, p, false, 0.f, taps == 1 ? dw : dweight);
        if (taps > 1) transpose_channels(dweight, dw, node.out, c, taps, false, s);
        if (db) gemm(ctx, 1, node.out, m, 1.f, ones, false, dy, false, 0.f, db);
        if (!din0) break;
        const float* weight = tensor(i, TensorRole::weight, w);
        if (pointwise(node)) {
          gemm(ctx, m, c, node.out, 1.f, dy, false, weight, false, add0 ? 1.f : 0.f, din0);
        } else {
          gemm(ctx, m, k, node.out, 1.f, dy, false, weight, false, 0.f, dpatches);
          col2im(dpatches, n, win, din0, add0, s);
        }
        break;
      }
      case Op::batch_norm: {
        const int64_t c = node.shape.front(), m = n * positions_of(node.shape);
        const double* mean = bn_stats + bn_at[i];
        const double* inv = mean + c;
        const float* gamma = tensor(i, TensorRole::weight, w);
        const float* beta = tensor(i, TensorRole::bias, w);
        batch_norm_dz(x, y, dy, m, c, mean, inv, gamma, beta, then[i], dz, s);
        column_sums(dz, x, mean, m, c, sums, scratch, s);
        if (din0)
          batch_norm_input_grad(x, dz, m, c, mean, inv, gamma, sums, train_bn, static_cast<double>(m), din0,
                                add0, s);
        if (dw && db) batch_norm_param_grad(sums, inv, c, dw, db, s);
        break;
      }
      case Op::activation:
        if (din0) activation_grad(x, y, dy, size, node.activation, din0, add0, s);
        break;
      case Op::max_pool2d:
      case Op::avg_pool2d:
        if (din0)
          window_pool_backward(x, dy, n, window(in_shape(node), node), node.op == Op::max_pool2d, din0, add0,
                               s);
        break;
      case Op::global_avg_pool: {
        const auto& in = in_shape(node);
        if (din0) global_avg_pool_backward(dy, n, in[1] * in[2], in[0], din0, add0, s);
        break;
      }
      case Op::flatten: {
        const auto& in = in_shape(node);
        if (!din0) break;
        if (in.size() != 3) {
          accumulate(dy, din0, size, add0, s);
        } else if (!add0) {
          transpose_channels(dy, din0, n, in[0], in[1] * in[2], true, s);
        } else {
          float* transposed = grow(backend, ws.transposed, size);  // only a flattened map read twice
          transpose_channels(dy, transposed, n, in[0], in[1] * in[2], true, s);
          accumulate(transposed, din0, size, true, s);
        }
        break;
      }
      case Op::add: {
        const auto in1 = static_cast<std::size_t>(node.inputs[1]);
        if (din0) accumulate(dy, din0, size, add0, s);
        const bool add1 = !arrivals.first(in1);
        if (in1 != 0) accumulate(dy, grad_of(in1), size, add1, s);
        break;
      }
      case Op::input:
        break;
    }
  }

  double host_totals[2] = {0, 0};
  MODECONN_CUDA_CHECK(cudaMemcpyAsync(host_totals, totals, sizeof(host_totals), cudaMemcpyDeviceToHost, s));
  ctx.synchronize();
  return {host_totals[0] / static_cast<double>(n), host_totals[1] / static_cast<double>(n)};
}

}  // namespace modeconn::cuda
