// Backpropagation through a layer graph on a minibatch: the CPU backend's only training loop over a graph's
// nodes (an MLP is a graph like any other), forward keeping every node's output, then backward through the op
// table in reverse.
//
// One parallel region per minibatch. Each thread carries its own rows through every node with
// single-threaded GEMMs, so most of the pass needs no synchronisation: every op but BatchNorm is row-local.
// The threads meet only where the rows couple: at each BatchNorm (the batch's statistics forward, its
// parameters' gradients backward) and once at the end, after which they share the linear layers' weight
// gradients by output unit (over every row) and add the convolutions', which each thread summed over its own
// rows, in thread order. A minibatch is small (128 rows of 256 units is a few milliseconds of work), so
// waking threads for each GEMM, about twenty times a step, would cost more than the second core gives back;
// waiting threads sleep (OMP_WAIT_POLICY=PASSIVE), so fewer meetings is what makes N threads pay on an idle
// machine and never hurt on a busy one.
#include "backend/cpu/backprop.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backend/cpu/op_table.hpp"
#include "backend/cpu_ops.hpp"
#include "modeconn/error.hpp"
#include "modeconn/graph_model.hpp"
#include "modeconn/graph_plan.hpp"

namespace modeconn::cpu {
namespace {

// This thread's share [begin, end) of `total` items, in contiguous blocks.
struct Share {
  int64_t begin = 0, end = 0;
  Share(int64_t total, int thread, int threads) {
    const int64_t per = (total + threads - 1) / threads;
    begin = std::min(total, per * thread);
    end = std::min(total, begin + per);
  }
  int64_t size() const { return end - begin; }
};

// PyTorch's BatchNorm default: running = (1 − momentum)·running + momentum·batch.
constexpr double kBnMomentum = 0.1;

// One BatchNorm's statistics for the pass: per channel the mean, the (biased) variance and 1/√(var + eps) it
// normalised with.
struct BnState {
  std::vector<double> mean, var, inv;
};

}  // namespace

PointMetrics graph_metrics_and_grad(const Graph& g, std::span<const float> params, std::span<float> buffers,
                                    bool train_bn, const Split& split, std::span<const int64_t> rows,
                                    std::span<float> grad, BackpropWorkspace& workspace) {
  MODECONN_EXPECTS(params.size() == static_cast<std::size_t>(g.num_params()) && grad.size() == params.size(),
                   "parameter sizes");
  MODECONN_EXPECTS(buffers.size() == static_cast<std::size_t>(g.num_buffers()), "buffer sizes");
  MODECONN_EXPECTS(!rows.empty(), "a minibatch needs rows");
  MODECONN_EXPECTS(split.features == g.input_size(), "data width matches the graph's input");
  for (int64_t r : rows) MODECONN_EXPECTS(r >= 0 && r < split.rows, "rows inside the split");
  const std::size_t num_nodes = g.nodes.size();
  const int64_t n = static_cast<int64_t>(rows.size());
  const int64_t d = g.input_size(), classes = g.output_size();
  const TensorPlaces places = tensor_places(g);
  // The nodes the output needs, their sizes, and the activations fused after BatchNorms (the other fusions
  // are for inference: training keeps each linear layer's and convolution's output for its activation's
  // backward).
  const GraphPlan plan = make_plan(g);

  // The parameters in the layouts the ops read (convolution weights channels-last).
  std::vector<float> prepared;
  const float* w = params.data();
  for (std::size_t i = 0; i < num_nodes; ++i)
    if (const auto prep = op_kernels(g.nodes[i].op).prepare; prep && plan.needed[i]) {
      if (prepared.empty()) prepared.assign(params.begin(), params.end());
      prep(g, g.nodes[i], prepared.data() + places[i][static_cast<std::size_t>(TensorRole::weight)].offset);
      w = prepared.data();
    }
  const auto tensor = [&](std::size_t node, TensorRole role, const float* base) -> const float* {
    const TensorPlace& p = places[node][static_cast<std::size_t>(role)];
    return p.present ? base + p.offset : nullptr;
  };

  // A BatchNorm and the activation that alone reads it run as one pass, in the BatchNorm's buffers.
  const TrainingLayout layout = training_layout(g, plan);
  const std::vector<std::size_t>& held = layout.held;
  const std::vector<Activation>& then = layout.then;

  // Every node's output and its gradient, for all rows.
  auto& value = workspace.value;
  auto& dvalue = workspace.dvalue;
  value.resize(num_nodes);
  dvalue.resize(num_nodes);
  for (std::size_t i = 0; i < num_nodes; ++i)
    if (plan.needed[i] && held[i] == i) {
      value[i].resize(static_cast<std::size_t>(n * plan.size[i]));
      if (i > 0) dvalue[i].resize(value[i].size());  // nothing flows into the data
    }
  std::vector<BnState> bn(num_nodes);
  std::vector<double> losses(static_cast<std::size_t>(n)), errors(static_cast<std::size_t>(n));

  // Rows per thread: a few for small graphs (an MLP), where splitting costs more than it saves; one for
  // feature maps.
  int64_t per_row = 0;
  for (std::size_t i = 0; i < num_nodes; ++i) per_row += plan.needed[i] ? plan.size[i] : 0;
  const int64_t min_rows = std::clamp<int64_t>((int64_t{1} << 15) / std::max<int64_t>(per_row, 1), 1, 8);
  const int team =
      static_cast<int>(std::clamp<int64_t>((n + min_rows - 1) / min_rows, 1, omp_get_max_threads()));
  // Where each parameter's gradient comes from: ops with param_grad write theirs over every row after the
  // backward, threads sharing the output units (linear); BatchNorm's are its totals, written by one thread;
  // the rest (conv2d) add each thread's rows into the thread's partial sums, packed (`packed[i]`: where node
  // i's tensors start in them), added in thread order at the end. Parameters of nodes the output does not
  // need get 0.
  struct Packed {
    int64_t grad_offset, at, size;
  };
  std::vector<Packed> packed;
  std::vector<int64_t> packed_at(num_nodes, -1);
  int64_t packed_size = 0;
  for (std::size_t i = 0; i < num_nodes; ++i) {
    for (TensorRole role : {TensorRole::weight, TensorRole::bias}) {
      const TensorPlace& p = places[i][static_cast<std::size_t>(role)];
      if (!p.present || p.buffer) continue;
      if (!plan.needed[i]) {
        std::fill_n(grad.begin() + p.offset, p.size, 0.f);
      } else if (const OpKernels& k = op_kernels(g.nodes[i].op); k.backward && !k.param_grad) {
        if (packed_at[i] < 0) packed_at[i] = packed_size;
        packed.push_back({p.offset, packed_size, p.size});
        packed_size += p.size;
      }
    }
  }
  // Per thread: its packed partial sums and its share of each BatchNorm's sums (2 per channel).
  std::vector<std::vector<float>> partial(static_cast<std::size_t>(team));
  int64_t max_channels = 0;
  for (std::size_t i = 0; i < num_nodes; ++i)
    if (g.nodes[i].op == Op::batch_norm) max_channels = std::max(max_channels, channels_of(g.nodes[i].shape));
  std::vector<std::vector<double>> bn_sums(static_cast<std::size_t>(team),
                                           std::vector<double>(static_cast<std::size_t>(2 * max_channels)));
  // The sums of every thread, in thread order (the same totals on every thread).
  const auto totals = [&](int64_t c) {
    std::vector<double> t(static_cast<std::size_t>(2 * c), 0.0);
    for (const auto& s : bn_sums)
      for (std::size_t k = 0; k < t.size(); ++k) t[k] += s[k];
    return t;
  };

  BlasThreadsGuard single_threaded_blas(1);
#pragma omp parallel num_threads(team)
  {
    const int thread = omp_get_thread_num(), threads = omp_get_num_threads();
    const Share mine(n, thread, threads);
    std::vector<float>& my_grad = partial[static_cast<std::size_t>(thread)];
    my_grad.assign(static_cast<std::size_t>(packed_size), 0.f);
    std::vector<double>& my_sums = bn_sums[static_cast<std::size_t>(thread)];
    std::vector<float> x(static_cast<std::size_t>(mine.size() * d));
    for (int64_t i = mine.begin; i < mine.end; ++i)
      std::memcpy(x.data() + (i - mine.begin) * d, split.x.data() + rows[static_cast<std::size_t>(i)] * d,
                  sizeof(float) * static_cast<std::size_t>(d));
    // This thread's rows of a node's output and of its gradient.
    const auto val = [&](std::size_t node) {
      return value[held[node]].data() + mine.begin * plan.size[node];
    };
    const auto grad_of = [&](std::size_t node) {
      return dvalue[held[node]].data() + mine.begin * plan.size[node];
    };
    std::vector<float> scratch;

    // Forward, this thread's rows.
    op_kernels(Op::input).forward({g.nodes[0], g, x.data(), nullptr, val(0), mine.size()});
    for (std::size_t i = 1; i < num_nodes; ++i) {
      if (!plan.needed[i] || held[i] != i) continue;  // an activation its BatchNorm applies
      const Node& node = g.nodes[i];
      const auto in0 = static_cast<std::size_t>(node.inputs[0]);
      OpArgs args{node, g, val(in0), nullptr, val(i), mine.size()};
      if (node.inputs.size() > 1) args.in1 = val(static_cast<std::size_t>(node.inputs[1]));
      args.weight = tensor(i, TensorRole::weight, w);
      args.bias = tensor(i, TensorRole::bias, w);
      if (const auto s = op_kernels(node.op).scratch_per_row) {
        scratch.resize(static_cast<std::size_t>(mine.size() * s(g, node)));
        args.scratch = scratch.data();
      }
      if (node.op == Op::batch_norm) {
        const int64_t c = channels_of(node.shape), m = positions_of(node.shape);
        if (train_bn) {
          std::fill(my_sums.begin(), my_sums.begin() + 2 * c, 0.0);
          batch_norm_value_sums(args.in0, mine.size() * m, c, my_sums.data());
#pragma omp barrier
        }
        // Every thread folds the same statistics; one keeps them for the backward and the running update.
        BnState s;
        s.mean.resize(static_cast<std::size_t>(c));
        s.var.resize(s.mean.size());
        s.inv.resize(s.mean.size());
        const float* rm = tensor(i, TensorRole::running_mean, buffers.data());
        const float* rv = tensor(i, TensorRole::running_var, buffers.data());
        std::vector<double> t;
        if (train_bn) t = totals(c);
        const double count = static_cast<double>(n * m);
        for (int64_t ch = 0; ch < c; ++ch) {
          const auto u = static_cast<std::size_t>(ch);
          const double mean = train_bn ? t[u] / count : rm[ch];
          const double var =
              train_bn ? std::max(0.0, t[static_cast<std::size_t>(c + ch)] / count - mean * mean) : rv[ch];
          s.mean[u] = mean;
          s.var[u] = var;
          s.inv[u] = 1.0 / std::sqrt(var + node.eps);
        }
        const BnPass pass{mine.size() * m,
                          c,
                          s.mean.data(),
                          s.inv.data(),
                          tensor(i, TensorRole::weight, w),
                          tensor(i, TensorRole::bias, w),
                          then[i]};
        batch_norm_train_forward(pass, args.in0, args.out);
        if (thread == 0) {
          if (train_bn) {
            // The running statistics as PyTorch updates them: the variance unbiased (count − 1).
            float* run_mean =
                buffers.data() + places[i][static_cast<std::size_t>(TensorRole::running_mean)].offset;
            float* run_var =
                buffers.data() + places[i][static_cast<std::size_t>(TensorRole::running_var)].offset;
            for (int64_t ch = 0; ch < c; ++ch) {
              const auto u = static_cast<std::size_t>(ch);
              const double unbiased = count > 1 ? s.var[u] * count / (count - 1) : s.var[u];
              run_mean[ch] = static_cast<float>((1 - kBnMomentum) * run_mean[ch] + kBnMomentum * s.mean[u]);
              run_var[ch] = static_cast<float>((1 - kBnMomentum) * run_var[ch] + kBnMomentum * unbiased);
            }
          }
          bn[i] = std::move(s);
        }
        // Every thread has read the sums before any overwrites them for the next BatchNorm, and bn[i] is
        // kept.
#pragma omp barrier
        continue;
      }
      op_kernels(node.op).forward(args);
    }

    // The loss and its gradient with respect to the output, this thread's rows.
    const std::size_t last = num_nodes - 1;
    for (int64_t i = mine.begin; i < mine.end; ++i) {
      const auto u = static_cast<std::size_t>(i);
      row_loss(value[held[last]].data() + i * classes, classes, split, rows[u], &losses[u], &errors[u],
               dvalue[held[last]].data() + i * classes, n);
    }
    // Backward in reverse node order.
    GradientArrivals arrivals(layout);
    for (std::size_t i = last; i > 0; --i) {
      if (!plan.needed[i] || held[i] != i) continue;
      const Node& node = g.nodes[i];
      const auto in0 = static_cast<std::size_t>(node.inputs[0]);
      float* din0 = in0 == 0 ? nullptr : grad_of(in0);
      const bool add0 = !arrivals.first(in0);
      if (node.op == Op::batch_norm) {
        const int64_t c = channels_of(node.shape), m = positions_of(node.shape);
        // Thread 0 wrote bn[i] before the forward's barrier after it; read-only from here on.
        const BnState* s = &bn[i];
        std::fill(my_sums.begin(), my_sums.begin() + 2 * c, 0.0);
        const BnPass pass{mine.size() * m,
                          c,
                          s->mean.data(),
                          s->inv.data(),
                          tensor(i, TensorRole::weight, w),
                          tensor(i, TensorRole::bias, w),
                          then[i]};
        batch_norm_grad_sums(pass, val(in0), val(i), grad_of(i), my_sums.data());
#pragma omp barrier
        const std::vector<double> t = totals(c);
        const float* gamma = tensor(i, TensorRole::weight, w);
        if (din0)
          batch_norm_input_grad(pass, val(in0), val(i), grad_of(i), t.data(), train_bn,
                                static_cast<double>(n * m), din0, add0);
        if (thread == 0 && gamma) {
          float* dgamma = grad.data() + places[i][static_cast<std::size_t>(TensorRole::weight)].offset;
          float* dbeta = grad.data() + places[i][static_cast<std::size_t>(TensorRole::bias)].offset;
          for (int64_t ch = 0; ch < c; ++ch) {
            dgamma[ch] = static_cast<float>(t[static_cast<std::size_t>(c + ch)]);
            dbeta[ch] = static_cast<float>(t[static_cast<std::size_t>(ch)]);
          }
        }
        // Every thread has its totals before the next BatchNorm overwrites the sums.
#pragma omp barrier
        continue;
      }
      GradArgs args{node, g, val(in0), nullptr, val(i), grad_of(i), din0, nullptr, mine.size()};
      args.add0 = add0;
      if (node.inputs.size() > 1) {
        const auto in1 = static_cast<std::size_t>(node.inputs[1]);
        args.in1 = val(in1);
        args.din1 = in1 == 0 ? nullptr : grad_of(in1);
        args.add1 = !arrivals.first(in1);
      }
      args.weight = tensor(i, TensorRole::weight, w);
      if (packed_at[i] >= 0) {
        args.dweight = my_grad.data() + packed_at[i];
        if (places[i][static_cast<std::size_t>(TensorRole::bias)].present)
          args.dbias = args.dweight + places[i][static_cast<std::size_t>(TensorRole::weight)].size;
      }
      if (mine.size() > 0) op_kernels(node.op).backward(args);
    }

    // Every row's gradient is in; the parameter gradients that need all rows.
#pragma omp barrier
    for (std::size_t i = 1; i < num_nodes; ++i) {
      const auto param_grad = op_kernels(g.nodes[i].op).param_grad;
      if (!param_grad || !plan.needed[i]) continue;
      const Node& node = g.nodes[i];
      const auto in0 = static_cast<std::size_t>(node.inputs[0]);
      GradArgs args{node,
                    g,
                    value[held[in0]].data(),
                    nullptr,
                    value[held[i]].data(),
                    dvalue[held[i]].data(),
                    nullptr,
                    nullptr,
                    n};
      args.dweight = grad.data() + places[i][static_cast<std::size_t>(TensorRole::weight)].offset;
      if (const TensorPlace& p = places[i][static_cast<std::size_t>(TensorRole::bias)]; p.present)
        args.dbias = grad.data() + p.offset;
      const Share units(node.out, thread, threads);
      if (units.size() > 0) param_grad(args, units.begin, units.end);
    }
    // Each thread's partial sums, added in thread order.
    for (const Packed& range : packed) {
      const Share share(range.size, thread, threads);
      for (int64_t k = share.begin; k < share.end; ++k) {
        float s = 0.f;
        for (const auto& p : partial)
          if (!p.empty()) s += p[static_cast<std::size_t>(range.at + k)];  // empty: a thread never started
        grad[static_cast<std::size_t>(range.grad_offset + k)] = s;
      }
    }
  }

  // Convolution weight gradients, computed in the channels-last layout the forward reads, back to PyTorch's.
  for (std::size_t i = 0; i < num_nodes; ++i)
    if (g.nodes[i].op == Op::conv2d && plan.needed[i])
      conv_weight_channels_first(
          g, g.nodes[i], grad.data() + places[i][static_cast<std::size_t>(TensorRole::weight)].offset);

  PointMetrics metrics;
  for (std::size_t i = 0; i < losses.size(); ++i) {
    metrics.loss += losses[i];
    metrics.error += errors[i];
  }
  metrics.loss /= static_cast<double>(n);
  metrics.error /= static_cast<double>(n);
  return metrics;
}

}  // namespace modeconn::cpu
