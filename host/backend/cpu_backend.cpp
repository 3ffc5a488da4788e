// The CPU backend: all path points in one pass over the data, and backpropagation, on OpenBLAS and OpenMP.
#include <algorithm>
#include <vector>

#include "backend/cpu_ops.hpp"
#include "modeconn/backend.hpp"
#include "modeconn/error.hpp"
#include "modeconn/graph_eval.hpp"

namespace modeconn {
namespace {

// Rows per block: each OpenMP thread pushes a block through every point with single-threaded GEMMs, so the
// block's activations (`buffers` of them, max_width wide) should stay within a few MiB of cache-friendly
// memory.
int64_t block_rows(const Architecture& arch, std::size_t buffers) {
  const int64_t budget_floats = int64_t{1} << 22;  // 16 MiB per thread
  const int64_t per_row = arch.max_width() * static_cast<int64_t>(buffers);
  return std::clamp<int64_t>(budget_floats / std::max<int64_t>(per_row, 1), 32, 512);
}

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }

  std::vector<PointMetrics> evaluate(const Path& path, std::span<const double> ts,
                                     const Split& split) override;
  ActivationStats activation_stats(const Model& a, const Model& b, const Split& split,
                                   std::size_t layer) override {
    return cpu::activation_stats(a, b, split, layer);
  }
  std::vector<float> outputs(const Model& model, const Split& split, int64_t first, int64_t count) override {
    return cpu::outputs(model, split, first, count);
  }
  PointMetrics metrics_and_grad(const Architecture& arch, std::span<const float> params, const Split& split,
                                std::span<const int64_t> rows, std::span<float> grad) override {
    return cpu::metrics_and_grad(arch, params, split, rows, grad);
  }
  std::unique_ptr<GraphRunner> graph_runner() override { return make_cpu_graph_runner(); }
};

std::vector<PointMetrics> CpuBackend::evaluate(const Path& path, std::span<const double> ts,
                                               const Split& split) {
  const Architecture& arch = path.arch;
  const std::size_t num_layers = arch.layers.size();
  const std::size_t num_cp = path.points.size();
  const std::size_t num_pts = ts.size();
  MODECONN_EXPECTS(num_cp >= 1 && num_layers >= 1, "a path with control points and layers");
  MODECONN_EXPECTS(split.features == arch.input_width(), "data width matches the model");
  MODECONN_EXPECTS(split.task == arch.task, "data of the model's task");
  for (const auto& p : path.points) MODECONN_EXPECTS(p.size() == arch.num_params(), "control point size");
  if (num_pts == 0) return {};

  // With fewer control points than path points, the first layer costs one product per control point.
  const bool factorise = num_cp < num_pts;
  const std::size_t tail_begin = factorise ? arch.bias_offset(0) : 0;
  const std::size_t tail_size = arch.num_params() - tail_begin;

  std::vector<std::vector<double>> coef(num_pts);
  std::vector<std::vector<float>> point_params(num_pts, std::vector<float>(tail_size));
  for (std::size_t p = 0; p < num_pts; ++p) {
    coef[p] = path.coefficients(ts[p]);
    path.interpolate(coef[p], tail_begin, arch.num_params(), point_params[p].data());
  }
  const auto param = [&](std::size_t p, std::size_t offset) {
    return point_params[p].data() + (offset - tail_begin);
  };

  const int64_t width0 = arch.layers[0].out;
  const int64_t d = arch.input_width();
  const int64_t block = block_rows(arch, 2 + (factorise ? num_cp : 0));
  const int64_t num_blocks = (split.rows + block - 1) / block;
  // Per-row results, indexed by point then row, summed in row order afterwards: the totals do not depend on
  // how blocks were spread over threads.
  std::vector<double> row_loss(num_pts * static_cast<std::size_t>(split.rows));
  std::vector<double> row_err(row_loss.size());

  // Each thread runs its own GEMMs: OpenBLAS's pool would only contend with OpenMP's for the same cores.
  cpu::BlasThreadsGuard single_threaded_blas(1);
#pragma omp parallel
  {
    std::vector<float> parts(factorise ? num_cp * static_cast<std::size_t>(block * width0) : 0);
    std::vector<float> buf_a(static_cast<std::size_t>(block * arch.max_width()));
    std::vector<float> buf_b(buf_a.size());
    std::vector<const float*> part_ptrs(num_cp);
    for (std::size_t k = 0; k < num_cp && factorise; ++k)
      part_ptrs[k] = parts.data() + k * static_cast<std::size_t>(block * width0);

#pragma omp for schedule(dynamic, 1)
    for (int64_t blk = 0; blk < num_blocks; ++blk) {
      const int64_t r0 = blk * block;
      const int64_t rows = std::min(block, split.rows - r0);
      const float* x = split.x.data() + r0 * d;
      if (factorise)
        for (std::size_t k = 0; k < num_cp; ++k)
          cpu::gemm(rows, width0, d, 1.f, x, false, path.points[k].data(), true, 0.f,
                    parts.data() + k * static_cast<std::size_t>(block * width0));

      for (std::size_t p = 0; p < num_pts; ++p) {
        float* h = buf_a.data();
        float* next = buf_b.data();
        const bool last0 = num_layers == 1;  // a single layer: its affine output is the logits
        if (factorise) {
          cpu::combine_bias_activation(part_ptrs, coef[p], h, rows, width0, param(p, arch.bias_offset(0)),
                                       last0 ? Activation::identity : arch.activation);
        } else {
          cpu::gemm(rows, width0, d, 1.f, x, false, param(p, arch.weight_offset(0)), true, 0.f, h);
          cpu::bias_activation(h, rows, width0, param(p, arch.bias_offset(0)), arch.activation, !last0);
        }
        for (std::size_t l = 1; l < num_layers; ++l) {
          const auto& layer = arch.layers[l];
          cpu::gemm(rows, layer.out, layer.in, 1.f, h, false, param(p, arch.weight_offset(l)), true, 0.f,
                    next);
          cpu::bias_activation(next, rows, layer.out, param(p, arch.bias_offset(l)), arch.activation,
                               l + 1 < num_layers);
          std::swap(h, next);
        }
        const std::size_t at = p * static_cast<std::size_t>(split.rows) + static_cast<std::size_t>(r0);
        cpu::row_losses(h, rows, arch.output_width(), split, r0, row_loss.data() + at, row_err.data() + at);
      }
    }
  }

  std::vector<PointMetrics> out(num_pts);
  for (std::size_t p = 0; p < num_pts; ++p) {
    double ls = 0, es = 0;
    for (int64_t r = 0; r < split.rows; ++r) {
      const std::size_t at = p * static_cast<std::size_t>(split.rows) + static_cast<std::size_t>(r);
      ls += row_loss[at];
      es += row_err[at];
    }
    out[p] = {ls / static_cast<double>(split.rows), es / static_cast<double>(split.rows)};
  }
  return out;
}

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace modeconn
