// Backpropagation through an MLP on a minibatch: forward keeps every layer, backward is two SGEMMs a layer.
//
// One parallel region per minibatch. Each thread carries its own rows through every layer and the loss with
// single-threaded GEMMs, so the forward pass needs no synchronisation at all; backward meets once per layer,
// where a weight gradient needs every row's δ. A minibatch is small (128 rows of 256 units is a few
// milliseconds of work), so waking threads for each GEMM and elementwise pass, about twenty times a step,
// cost more than the second core gave back; waiting threads sleep (OMP_WAIT_POLICY=PASSIVE), so fewer
// meetings is what makes N threads pay on an idle machine and never hurt on a busy one.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "backend/cpu_ops.hpp"
#include "modeconn/error.hpp"

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

}  // namespace

PointMetrics metrics_and_grad(const Architecture& arch, std::span<const float> params, const Split& split,
                              std::span<const int64_t> rows, std::span<float> grad) {
  MODECONN_EXPECTS(params.size() == arch.num_params() && grad.size() == params.size(), "parameter sizes");
  MODECONN_EXPECTS(!rows.empty(), "a minibatch needs rows");
  MODECONN_EXPECTS(split.task == arch.task, "data of the model's task");
  const std::size_t num_layers = arch.layers.size();
  const int64_t n = static_cast<int64_t>(rows.size());
  const int64_t d = arch.input_width();
  const int64_t c = arch.output_width();
  const float* w = params.data();

  std::vector<float> x(static_cast<std::size_t>(n * d));
  // pre[l]: layer l's affine output plus bias (for the activation's derivative); post[l]: its activation,
  // the logits for the last layer.
  std::vector<std::vector<float>> pre(num_layers), post(num_layers);
  for (std::size_t l = 0; l < num_layers; ++l) {
    const auto size = static_cast<std::size_t>(n * arch.layers[l].out);
    post[l].resize(size);
    if (l + 1 < num_layers) pre[l].resize(size);
  }
  // δ of the layer being differentiated and of the one below it, alternating.
  std::vector<float> delta_a(static_cast<std::size_t>(n * arch.max_width()));
  std::vector<float> delta_b(delta_a.size());
  std::vector<double> losses(static_cast<std::size_t>(n)), errors(static_cast<std::size_t>(n));

  // Below eight rows a thread, splitting costs more than it saves.
  const int team = static_cast<int>(std::clamp<int64_t>((n + 7) / 8, 1, omp_get_max_threads()));
  BlasThreadsGuard single_threaded_blas(1);
#pragma omp parallel num_threads(team)
  {
    const int thread = omp_get_thread_num(), threads = omp_get_num_threads();
    const Share mine(n, thread, threads);
    for (int64_t i = mine.begin; i < mine.end; ++i)
      std::memcpy(x.data() + i * d, split.x.data() + rows[static_cast<std::size_t>(i)] * d,
                  sizeof(float) * static_cast<std::size_t>(d));

    // Forward, this thread's rows only.
    const float* input = x.data();
    for (std::size_t l = 0; l < num_layers; ++l) {
      const auto& layer = arch.layers[l];
      const bool hidden = l + 1 < num_layers;
      float* out = post[l].data() + mine.begin * layer.out;
      gemm(mine.size(), layer.out, layer.in, 1.f, input + mine.begin * layer.in, false,
           w + arch.weight_offset(l), true, 0.f, out);
      const float* bias = w + arch.bias_offset(l);
      if (hidden) {
        float* z = pre[l].data() + mine.begin * layer.out;
        for (int64_t i = 0; i < mine.size(); ++i)
          for (int64_t j = 0; j < layer.out; ++j) z[i * layer.out + j] = out[i * layer.out + j] + bias[j];
      }
      bias_activation(out, mine.size(), layer.out, bias, arch.activation, hidden);
      input = post[l].data();
    }

    // The loss and its gradient with respect to the logits, this thread's rows.
    for (int64_t i = mine.begin; i < mine.end; ++i) {
      const auto u = static_cast<std::size_t>(i);
      row_loss(post.back().data() + i * c, c, split, rows[u], &losses[u], &errors[u], delta_a.data() + i * c,
               n);
    }

    // Backward: dW = δᵀ · input and db = Σ_rows δ need every row's δ, shared over output units; δ_prev =
    // (δ · W) ⊙ act'(pre) needs only this thread's rows.
    float* delta = delta_a.data();
    float* below = delta_b.data();
    for (std::size_t l = num_layers; l-- > 0;) {
      const auto& layer = arch.layers[l];
      // Every row's δ is written, and every thread is done reading the buffer `below` is about to overwrite.
#pragma omp barrier
      const float* in = l == 0 ? x.data() : post[l - 1].data();
      const Share units(layer.out, thread, threads);
      gemm_row_block(layer.out, units.begin, units.end, layer.in, n, 1.f, delta, true, in, false, 0.f,
                     grad.data() + arch.weight_offset(l));
      float* db = grad.data() + arch.bias_offset(l);
      for (int64_t j = units.begin; j < units.end; ++j) {
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += delta[i * layer.out + j];
        db[j] = static_cast<float>(s);
      }
      if (l == 0) break;
      float* prev = below + mine.begin * layer.in;
      gemm(mine.size(), layer.in, layer.out, 1.f, delta + mine.begin * layer.out, false,
           w + arch.weight_offset(l), false, 0.f, prev);
      const float* z = pre[l - 1].data() + mine.begin * layer.in;
      const float* h = post[l - 1].data() + mine.begin * layer.in;
      for (int64_t k = 0; k < mine.size() * layer.in; ++k)
        prev[k] *= activate_grad(arch.activation, z[k], h[k]);
      std::swap(delta, below);
    }
  }

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
