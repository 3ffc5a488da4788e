// The CPU backend's graph executor: the only loop over a graph's nodes. Each OpenMP thread takes a block of
// rows, reads it once (the input node and the factorised first layer's control-point products are shared by
// every point) and pushes it through every path point, node by node, with single-threaded SGEMMs.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "backend/cpu/backprop.hpp"
#include "backend/cpu/op_table.hpp"
#include "backend/cpu_ops.hpp"
#include "modeconn/error.hpp"
#include "modeconn/graph_eval.hpp"
#include "modeconn/graph_plan.hpp"

namespace modeconn::cpu {
namespace {

// Called for every block of rows and every point with the plan's stop node output (rows × its size).
using Sink =
    std::function<void(int64_t block, int64_t r0, int64_t rows, std::size_t point, const float* out)>;

// The points' parameters in the layouts the ops read (conv2d weights reordered), and the factorised first
// layer's control-point weights likewise.
struct Prepared {
  // The points' own parameters when no op rewrites its weights (an MLP), else `rewritten`.
  const std::vector<std::vector<float>>* params = nullptr;
  std::vector<std::vector<float>> rewritten;
  std::vector<std::vector<float>> first_weights;  // per control point, when factorising
  std::vector<float> zero_bias;
};

Prepared prepare(const GraphPoints& pts, const GraphPlan& plan, const TensorPlaces& places, bool factorise) {
  const Graph& g = *pts.graph;
  Prepared out;
  out.params = &pts.params;
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const auto prep = op_kernels(g.nodes[i].op).prepare;
    if (!prep || !plan.needed[i]) continue;
    if (out.params == &pts.params) {
      out.rewritten = pts.params;
      out.params = &out.rewritten;
    }
    const int64_t at = places[i][static_cast<std::size_t>(TensorRole::weight)].offset;
    for (auto& p : out.rewritten) prep(g, g.nodes[i], p.data() + at);
  }
  if (factorise) {
    const std::size_t f = static_cast<std::size_t>(plan.first_layer);
    const TensorPlace& w = places[f][static_cast<std::size_t>(TensorRole::weight)];
    for (const auto& cp : pts.control->points) {
      out.first_weights.emplace_back(cp.begin() + w.offset, cp.begin() + w.offset + w.size);
      if (const auto prep = op_kernels(g.nodes[f].op).prepare)
        prep(g, g.nodes[f], out.first_weights.back().data());
    }
    out.zero_bias.assign(static_cast<std::size_t>(g.nodes[f].out), 0.f);
  }
  return out;
}

void run(const GraphPoints& pts, const GraphPlan& plan, const Split& split, int64_t first, int64_t count,
         const Sink& sink) {
  const Graph& g = *pts.graph;
  const std::size_t num_pts = pts.params.size();
  MODECONN_EXPECTS(split.features == g.input_size(), "data width matches the graph's input");
  MODECONN_EXPECTS(first >= 0 && first + count <= split.rows, "rows inside the split");
  if (num_pts == 0 || count == 0) return;
  const TensorPlaces places = tensor_places(g);
  const std::vector<int64_t> bn_offset = batch_norm_offsets(g);
  const bool factorise = plan.first_layer >= 0 && pts.control && pts.control->points.size() < num_pts;
  const std::size_t num_cp = factorise ? pts.control->points.size() : 0;
  const Prepared prep = prepare(pts, plan, places, factorise);

  int64_t scratch = 0;
  for (std::size_t i = 0; i < g.nodes.size(); ++i)
    if (plan.needed[i])
      if (const auto s = op_kernels(g.nodes[i].op).scratch_per_row)
        scratch = std::max(scratch, s(g, g.nodes[i]));
  const int64_t first_size = factorise ? plan.size[static_cast<std::size_t>(plan.first_layer)] : 0;
  int64_t per_row = plan.size[0] + scratch + static_cast<int64_t>(num_cp) * first_size;
  for (int64_t s : plan.slot_size) per_row += s;
  // A block's activations within 16 MiB per thread (an MLP of width 1024 gets 512 rows, a small ResNet a
  // dozen: the GEMMs are long enough either way), and no more rows than there are to share.
  const int64_t block = std::clamp<int64_t>((int64_t{1} << 22) / std::max<int64_t>(per_row, 1), 1, 512);
  const int64_t num_blocks = (count + block - 1) / block;

  BlasThreadsGuard single_threaded_blas(1);
#pragma omp parallel
  {
    std::vector<float> input(static_cast<std::size_t>(block * plan.size[0]));
    std::vector<float> work(static_cast<std::size_t>(block * scratch));
    std::vector<std::vector<float>> slots;
    for (int64_t s : plan.slot_size) slots.emplace_back(static_cast<std::size_t>(block * s));
    std::vector<float> parts(num_cp * static_cast<std::size_t>(block * first_size));
    std::vector<const float*> part_ptrs(num_cp);
    for (std::size_t k = 0; k < num_cp; ++k)
      part_ptrs[k] = parts.data() + k * static_cast<std::size_t>(block * first_size);
    const auto output_of = [&](int node) -> float* {
      return node == 0 ? input.data()
                       : slots[static_cast<std::size_t>(plan.slot[static_cast<std::size_t>(node)])].data();
    };

#pragma omp for schedule(dynamic, 1)
    for (int64_t blk = 0; blk < num_blocks; ++blk) {
      const int64_t r0 = first + blk * block;
      const int64_t rows = std::min(block, first + count - r0);
      op_kernels(Op::input).forward(
          {g.nodes[0], g, split.x.data() + r0 * split.features, nullptr, input.data(), rows});
      if (factorise) {
        const Node& f = g.nodes[static_cast<std::size_t>(plan.first_layer)];
        for (std::size_t k = 0; k < num_cp; ++k) {
          OpArgs args{
              f,   g, input.data(), nullptr, parts.data() + k * static_cast<std::size_t>(block * first_size),
              rows};
          args.weight = prep.first_weights[k].data();
          args.scratch = work.data();
          op_kernels(f.op).forward(args);
        }
      }
      for (std::size_t p = 0; p < num_pts; ++p) {
        for (int i = 1; i <= plan.stop; ++i) {
          const std::size_t ui = static_cast<std::size_t>(i);
          if (!plan.needed[ui] || plan.fused_away[ui]) continue;
          const Node& n = g.nodes[ui];
          float* out = output_of(i);
          const TensorPlace& bias = places[ui][static_cast<std::size_t>(TensorRole::bias)];
          if (i == plan.first_layer && factorise) {
            const float* b = bias.present ? (*prep.params)[p].data() + bias.offset : prep.zero_bias.data();
            const int64_t positions = rows * positions_of(n.shape);
            combine_bias_activation(part_ptrs, pts.coef[p], out, positions, n.out, b,
                                    fused_activation_of(g, plan, i));
            continue;
          }
          OpArgs args{
              n,   g,   output_of(n.inputs[0]), n.inputs.size() > 1 ? output_of(n.inputs[1]) : nullptr,
              out, rows};
          const TensorPlace& weight = places[ui][static_cast<std::size_t>(TensorRole::weight)];
          if (n.op == Op::linear || n.op == Op::conv2d) {
            args.weight = (*prep.params)[p].data() + weight.offset;
            args.bias = bias.present ? (*prep.params)[p].data() + bias.offset : nullptr;
          }
          if (n.op == Op::batch_norm) {
            args.scale = pts.scale[p].data() + bn_offset[ui];
            args.shift = pts.shift[p].data() + bn_offset[ui];
          }
          args.then = fused_activation_of(g, plan, i);
          args.scratch = work.data();
          op_kernels(n.op).forward(args);
        }
        sink(blk, r0, rows, p, output_of(plan.stop));
      }
    }
  }
}

class CpuGraphRunner final : public GraphRunner {
 public:
  std::vector<std::vector<double>> channel_sums(const GraphPoints& pts, int node, const Split& split,
                                                int64_t rows) override {
    const Graph& g = *pts.graph;
    const GraphPlan plan = make_plan(g, node);
    const auto& shape = g.nodes[static_cast<std::size_t>(node)].shape;
    const int64_t c = channels_of(shape), positions = positions_of(shape);
    const std::size_t num_pts = pts.params.size();
    // Per block (a block holds at least one row), then summed in block order: the totals do not depend on how
    // blocks met threads.
    std::vector<std::vector<std::vector<double>>> blocks(
        static_cast<std::size_t>(std::max<int64_t>(rows, 0)));
    run(pts, plan, split, 0, rows, [&](int64_t blk, int64_t, int64_t n, std::size_t p, const float* out) {
      auto& sums = blocks[static_cast<std::size_t>(blk)];
      if (sums.empty()) sums.assign(num_pts, std::vector<double>(static_cast<std::size_t>(2 * c), 0.0));
      std::vector<double>& s = sums[p];
      for (int64_t i = 0; i < n * positions; ++i) {
        const float* v = out + i * c;
        for (int64_t ch = 0; ch < c; ++ch) {
          s[static_cast<std::size_t>(ch)] += v[ch];
          s[static_cast<std::size_t>(c + ch)] += static_cast<double>(v[ch]) * v[ch];
        }
      }
    });
    std::vector<std::vector<double>> total(num_pts,
                                           std::vector<double>(static_cast<std::size_t>(2 * c), 0.0));
    for (const auto& b : blocks)
      for (std::size_t p = 0; p < b.size(); ++p)
        for (std::size_t k = 0; k < total[p].size(); ++k) total[p][k] += b[p][k];
    return total;
  }

  ActivationSums cross_sums(const GraphPoints& pts, int node, const Split& split, int64_t rows) override {
    MODECONN_EXPECTS(pts.params.size() == 2, "two points, A and B");
    const Graph& g = *pts.graph;
    const auto& shape = g.nodes[static_cast<std::size_t>(node)].shape;
    const int64_t c = channels_of(shape), positions = positions_of(shape);
    const auto uc = static_cast<std::size_t>(c);
    // A's output of a block waits in `held` until B's of the same block arrives (the run takes the points of
    // a block one after the other on one thread); each block's sums are kept apart and added in block order.
    std::vector<std::vector<double>> held(static_cast<std::size_t>(std::max<int64_t>(rows, 0)));
    std::vector<ActivationSums> blocks(held.size());
    run(pts, make_plan(g, node), split, 0, rows,
        [&](int64_t blk, int64_t, int64_t n, std::size_t p, const float* out) {
          const int64_t m = n * positions;
          std::vector<double> v(out, out + m * c);
          if (p == 0) {
            held[static_cast<std::size_t>(blk)] = std::move(v);
            return;
          }
          const std::vector<double> a = std::move(held[static_cast<std::size_t>(blk)]);
          ActivationSums& s = blocks[static_cast<std::size_t>(blk)];
          s.rows = m;
          for (auto* x : {&s.sum_a, &s.sq_a, &s.sum_b, &s.sq_b}) x->assign(uc, 0.0);
          s.max_a.assign(uc, -HUGE_VAL);
          s.max_b.assign(uc, -HUGE_VAL);
          s.cross.assign(uc * uc, 0.0);
          for (int64_t i = 0; i < m; ++i)
            for (std::size_t ch = 0; ch < uc; ++ch) {
              const double x = a[static_cast<std::size_t>(i) * uc + ch],
                           y = v[static_cast<std::size_t>(i) * uc + ch];
              s.sum_a[ch] += x;
              s.sq_a[ch] += x * x;
              s.max_a[ch] = std::max(s.max_a[ch], x);
              s.sum_b[ch] += y;
              s.sq_b[ch] += y * y;
              s.max_b[ch] = std::max(s.max_b[ch], y);
            }
          cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<blasint>(c),
                      static_cast<blasint>(c), static_cast<blasint>(m), 1.0, a.data(),
                      static_cast<blasint>(c), v.data(), static_cast<blasint>(c), 0.0, s.cross.data(),
                      static_cast<blasint>(c));
        });
    ActivationSums total;
    for (auto* x : {&total.sum_a, &total.sq_a, &total.sum_b, &total.sq_b}) x->assign(uc, 0.0);
    total.max_a.assign(uc, -HUGE_VAL);
    total.max_b.assign(uc, -HUGE_VAL);
    total.cross.assign(uc * uc, 0.0);
    for (const ActivationSums& s : blocks) {
      if (s.rows == 0) continue;
      total.rows += s.rows;
      for (std::size_t ch = 0; ch < uc; ++ch) {
        total.sum_a[ch] += s.sum_a[ch];
        total.sq_a[ch] += s.sq_a[ch];
        total.sum_b[ch] += s.sum_b[ch];
        total.sq_b[ch] += s.sq_b[ch];
        total.max_a[ch] = std::max(total.max_a[ch], s.max_a[ch]);
        total.max_b[ch] = std::max(total.max_b[ch], s.max_b[ch]);
      }
      for (std::size_t k = 0; k < total.cross.size(); ++k) total.cross[k] += s.cross[k];
    }
    return total;
  }

  std::vector<PointMetrics> metrics(const GraphPoints& pts, const Split& split) override {
    const Graph& g = *pts.graph;
    MODECONN_EXPECTS(split.task == pts.task, "data of the model's task");
    const GraphPlan plan = make_plan(g);
    const std::size_t num_pts = pts.params.size();
    const int64_t width = g.output_size();
    std::vector<double> loss(num_pts * static_cast<std::size_t>(split.rows)), err(loss.size());
    run(pts, plan, split, 0, split.rows,
        [&](int64_t, int64_t r0, int64_t n, std::size_t p, const float* out) {
          const std::size_t at = p * static_cast<std::size_t>(split.rows) + static_cast<std::size_t>(r0);
          row_losses(out, n, width, split, r0, loss.data() + at, err.data() + at);
        });
    std::vector<PointMetrics> result(num_pts);
    for (std::size_t p = 0; p < num_pts; ++p) {
      double ls = 0, es = 0;
      for (int64_t r = 0; r < split.rows; ++r) {
        ls += loss[p * static_cast<std::size_t>(split.rows) + static_cast<std::size_t>(r)];
        es += err[p * static_cast<std::size_t>(split.rows) + static_cast<std::size_t>(r)];
      }
      // No rows: NaN, the mean of nothing, as the CUDA executor gives.
      result[p] = {ls / static_cast<double>(split.rows), es / static_cast<double>(split.rows)};
    }
    return result;
  }

  PointMetrics metrics_and_grad(const Graph& graph, std::span<const float> params, std::span<float> buffers,
                                bool train_bn, const Split& split, std::span<const int64_t> rows,
                                std::span<float> grad) override {
    return graph_metrics_and_grad(graph, params, buffers, train_bn, split, rows, grad, workspace_);
  }

  std::vector<float> outputs(const GraphPoints& pts, const Split& split, int64_t first,
                             int64_t count) override {
    const Graph& g = *pts.graph;
    const int64_t width = g.output_size();
    std::vector<float> out(static_cast<std::size_t>(count * width));
    GraphPoints one = pts;
    one.params.resize(1);
    one.scale.resize(1);
    one.shift.resize(1);
    one.control = nullptr;
    run(one, make_plan(g), split, first, count,
        [&](int64_t, int64_t r0, int64_t n, std::size_t, const float* o) {
          std::copy(o, o + n * width, out.begin() + (r0 - first) * width);
        });
    return out;
  }

 private:
  BackpropWorkspace workspace_;  // kept from one training step to the next
};

}  // namespace
}  // namespace modeconn::cpu

namespace modeconn {
std::unique_ptr<GraphRunner> make_cpu_graph_runner() { return std::make_unique<cpu::CpuGraphRunner>(); }
}  // namespace modeconn
