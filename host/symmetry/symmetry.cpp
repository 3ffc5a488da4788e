// Symmetry diagnostics: counting equivalent networks, finding dead and near-duplicate units, and measuring
// the loss barrier of the permutation saddle (Simsek et al. 2021; Brea et al. 2019).
#include "modeconn/symmetry.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "modeconn/align.hpp"
#include "modeconn/error.hpp"
#include "symmetry/closest_pairs.hpp"

namespace modeconn {
namespace {

// The most similar pair of units of a hidden layer and every pair above `threshold`, by cosine of the
// incoming vectors [w_i, b_i].
std::vector<UnitPair> similar_pairs(const Model& m, std::size_t layer, bool odd, double threshold,
                                    std::size_t limit, int64_t* count_above) {
  const auto& L = m.arch.layers[layer];
  const int64_t n = L.out, d = L.in + 1;
  const float* w = m.params.data() + m.arch.weight_offset(layer);
  const float* b = m.params.data() + m.arch.bias_offset(layer);
  std::vector<double> u(static_cast<std::size_t>(n * d));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k)
      u[static_cast<std::size_t>(i * d + k)] = k < L.in ? w[i * L.in + k] : b[i];
  return closest_pairs(std::move(u), n, d, odd, threshold, limit, count_above);
}

}  // namespace

Path swap_path(const Model& model, std::size_t layer, int64_t i, int64_t j) {
  const Architecture& arch = model.arch;
  MODECONN_EXPECTS(layer + 1 < arch.layers.size(), "a hidden layer");
  const auto& L = arch.layers[layer];
  const auto& next = arch.layers[layer + 1];
  Model merged = model;
  float* w = merged.params.data() + arch.weight_offset(layer);
  float* b = merged.params.data() + arch.bias_offset(layer);
  for (int64_t k = 0; k < L.in; ++k) {
    const float mean = 0.5f * (w[i * L.in + k] + w[j * L.in + k]);
    w[i * L.in + k] = w[j * L.in + k] = mean;
  }
  b[i] = b[j] = 0.5f * (b[i] + b[j]);
  Model exchanged = merged;
  float* o = exchanged.params.data() + arch.weight_offset(layer + 1);
  for (int64_t m = 0; m < next.out; ++m) std::swap(o[m * next.in + i], o[m * next.in + j]);
  Alignment swap = identity_alignment(arch);
  std::swap(swap.layers[layer].perm[static_cast<std::size_t>(i)],
            swap.layers[layer].perm[static_cast<std::size_t>(j)]);
  const Model swapped = apply_alignment(model, swap);
  return Path{PathKind::polychain, arch, {model.params, merged.params, exchanged.params, swapped.params}};
}

SymmetryReport analyse_symmetry(Backend& backend, const Model& model, const Split* data,
                                const SymmetryOptions& options) {
  const Architecture& arch = model.arch;
  SymmetryReport r;
  r.sign_symmetry = is_odd(arch.activation);
  r.has_data = data != nullptr;
  if (data) r.split = data->name;
  const std::vector<double> ts = path_grid(options.saddle_points);
  for (std::size_t l = 0; l + 1 < arch.layers.size(); ++l) {
    LayerSymmetry ls;
    ls.name = arch.layers[l].weight_name;
    ls.units = arch.layers[l].out;
    ls.log10_permutations =
        log10_factorial(ls.units) + (r.sign_symmetry ? static_cast<double>(ls.units) * std::log10(2.0) : 0.0);
    r.log10_equivalent += ls.log10_permutations;
    // The first pair returned is always the closest; the others are the near-duplicates.
    const std::vector<UnitPair> pairs =
        similar_pairs(model, l, r.sign_symmetry, options.duplicate_cosine, options.max_duplicates_listed,
                      &ls.near_duplicate_pairs);
    if (!pairs.empty()) ls.closest = pairs.front();
    for (const auto& p : pairs)
      if (p.cosine >= options.duplicate_cosine) ls.near_duplicates.push_back(p);
    if (data) {
      const ActivationStats st = backend.activation_stats(model, model, *data, l);
      const bool relu_like = arch.activation == Activation::relu || arch.activation == Activation::leaky_relu;
      for (int64_t i = 0; i < ls.units; ++i) {
        const auto k = static_cast<std::size_t>(i);
        const bool dead =
            relu_like ? st.max_a[k] <= 0.0 : st.std_a[k] <= 1e-12 * (1.0 + std::abs(st.mean_a[k]));
        if (dead) ls.dead_units.push_back(i);
      }
      if (!pairs.empty()) {
        const Path path = swap_path(model, l, ls.closest.i, ls.closest.j);
        ls.saddle.pair = ls.closest;
        ls.saddle.ts = ts;
        for (const PointMetrics& m : backend.evaluate(path, ts, *data)) ls.saddle.loss.push_back(m.loss);
        ls.saddle.barrier = compute_barrier(ts, ls.saddle.loss);
      }
    }
    r.layers.push_back(std::move(ls));
  }
  return r;
}

}  // namespace modeconn
