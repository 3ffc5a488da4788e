// Backpropagation through an MLP on a minibatch: forward keeps every layer, backward is two SGEMMs a layer.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backend/cpu_ops.hpp"
#include "modeconn/error.hpp"

namespace modeconn::cpu {
namespace {

// Runs fn(first_row, rows) over blocks of rows on the OpenMP threads.
template <typename F>
void parallel_rows(int64_t n, F&& fn) {
  constexpr int64_t kBlock = 64;
#pragma omp parallel for schedule(static)
  for (int64_t r0 = 0; r0 < n; r0 += kBlock) fn(r0, std::min(kBlock, n - r0));
}

}  // namespace

PointMetrics metrics_and_grad(const Architecture& arch, std::span<const float> params, const Split& split,
                              std::span<const int64_t> rows, std::span<float> grad) {
  MODECONN_EXPECTS(params.size() == arch.num_params() && grad.size() == params.size(), "parameter sizes");
  MODECONN_EXPECTS(!rows.empty(), "a minibatch needs rows");
  MODECONN_EXPECTS(split.task == arch.task, "data of the model's task");
  const std::size_t num_layers = arch.layers.size();
  const int64_t n = static_cast<int64_t>(rows.size());
  const int64_t d = arch.input_width();
  // The minibatch's features, gathered once.
  std::vector<float> x(static_cast<std::size_t>(n * d));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(x.data() + i * d, split.x.data() + rows[static_cast<std::size_t>(i)] * d,
                sizeof(float) * static_cast<std::size_t>(d));

  // pre[l]: the affine output of layer l; post[l]: its activation (the logits for the last layer).
  std::vector<std::vector<float>> pre(num_layers), post(num_layers);
  const float* input = x.data();
  for (std::size_t l = 0; l < num_layers; ++l) {
    const auto& layer = arch.layers[l];
    pre[l].resize(static_cast<std::size_t>(n * layer.out));
    parallel_gemm(n, layer.out, layer.in, 1.f, input, false, params.data() + arch.weight_offset(l), true, 0.f,
                  pre[l].data());
    post[l] = pre[l];
    const float* bias = params.data() + arch.bias_offset(l);
    parallel_rows(n, [&](int64_t r0, int64_t count) {
      bias_activation(post[l].data() + r0 * layer.out, count, layer.out, bias, arch.activation,
                      l + 1 < num_layers);
    });
    if (l + 1 < num_layers) {
      // pre must hold z + b too, for the activation's derivative.
      const float* b = params.data() + arch.bias_offset(l);
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < layer.out; ++j) pre[l][static_cast<std::size_t>(i * layer.out + j)] += b[j];
    }
    input = post[l].data();
  }

  // Loss and its gradient with respect to the logits.
  const int64_t c = arch.output_width();
  const std::vector<float>& logits = post.back();
  std::vector<float> delta(static_cast<std::size_t>(n * c));
  std::vector<double> row_loss(static_cast<std::size_t>(n)), row_error(static_cast<std::size_t>(n));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = rows[static_cast<std::size_t>(i)];
    const float* z = logits.data() + i * c;
    float* g = delta.data() + i * c;
    if (arch.task == Task::classification) {
      int64_t best = 0;
      for (int64_t j = 1; j < c; ++j)
        if (z[j] > z[best]) best = j;  // the first maximum, as evaluation takes it
      const double m = z[best];
      double sum = 0;
      for (int64_t j = 0; j < c; ++j) sum += std::exp(z[j] - m);
      const int32_t label = split.labels[static_cast<std::size_t>(row)];
      row_loss[static_cast<std::size_t>(i)] = m + std::log(sum) - z[label];
      row_error[static_cast<std::size_t>(i)] = best == label ? 0.0 : 1.0;
      for (int64_t j = 0; j < c; ++j)
        g[j] = static_cast<float>((std::exp(z[j] - m) / sum - (j == label ? 1.0 : 0.0)) /
                                  static_cast<double>(n));
    } else {
      const float* y = split.targets.data() + row * c;
      double se = 0, ae = 0;
      for (int64_t j = 0; j < c; ++j) {
        const double diff = static_cast<double>(z[j]) - y[j];
        se += diff * diff;
        ae += std::fabs(diff);
        g[j] = static_cast<float>(2.0 * diff / static_cast<double>(n * c));
      }
      row_loss[static_cast<std::size_t>(i)] = se / static_cast<double>(c);
      row_error[static_cast<std::size_t>(i)] = ae / static_cast<double>(c);
    }
  }
  PointMetrics metrics;
  for (std::size_t i = 0; i < row_loss.size(); ++i) {
    metrics.loss += row_loss[i];
    metrics.error += row_error[i];
  }
  metrics.loss /= static_cast<double>(n);
  metrics.error /= static_cast<double>(n);

  // Backward: dW = δᵀ · input, db = Σ_rows δ, δ_prev = (δ · W) ⊙ act'(pre).
  for (std::size_t l = num_layers; l-- > 0;) {
    const auto& layer = arch.layers[l];
    const float* in = l == 0 ? x.data() : post[l - 1].data();
    parallel_gemm(layer.out, layer.in, n, 1.f, delta.data(), true, in, false, 0.f,
                  grad.data() + arch.weight_offset(l));
    float* db = grad.data() + arch.bias_offset(l);
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < layer.out; ++j) {
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += delta[static_cast<std::size_t>(i * layer.out + j)];
      db[j] = static_cast<float>(s);
    }
    if (l == 0) break;
    std::vector<float> prev(static_cast<std::size_t>(n * layer.in));
    parallel_gemm(n, layer.in, layer.out, 1.f, delta.data(), false, params.data() + arch.weight_offset(l),
                  false, 0.f, prev.data());
    const std::vector<float>& z = pre[l - 1];
    const std::vector<float>& h = post[l - 1];
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n * layer.in; ++i) {
      const auto k = static_cast<std::size_t>(i);
      prev[k] *= activate_grad(arch.activation, z[k], h[k]);
    }
    delta.swap(prev);
  }
  return metrics;
}

}  // namespace modeconn::cpu
