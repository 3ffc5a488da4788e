// Weight matching over the permutation groups of a layer graph: the MLP algorithm of weight_matching.cpp with
// layers replaced by groups, so that residual streams, BatchNorm and flattened convolutions need no special
// case. Similarities are float64 products of the tensors' slices (OpenBLAS DGEMM).
#include <cblas.h>

#include <map>
#include <numeric>

#include "align/assignment.hpp"
#include "modeconn/error.hpp"
#include "modeconn/perm_spec.hpp"
#include "modeconn/rng.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn {
namespace {

// A tensor the groups move: A's and B's copies, and each (group, axis) that moves it.
struct Touched {
  const NamedTensor* a = nullptr;
  const NamedTensor* b = nullptr;
  std::vector<std::pair<std::size_t, PermAxis>> axes;
};

// [outer, dim, inner] of a tensor around `axis`.
std::array<int64_t, 3> around(const std::vector<int64_t>& shape, int axis) {
  std::array<int64_t, 3> s{1, shape[static_cast<std::size_t>(axis)], 1};
  for (int k = 0; k < axis; ++k) s[0] *= shape[static_cast<std::size_t>(k)];
  for (std::size_t k = static_cast<std::size_t>(axis) + 1; k < shape.size(); ++k) s[2] *= shape[k];
  return s;
}

// B's values with every axis of `t` permuted as `perms` says, except axes[skip].
std::vector<float> permuted_b(const Touched& t, const std::vector<std::vector<int64_t>>& perms,
                              std::size_t skip) {
  std::vector<float> v = t.b->values;
  for (std::size_t k = 0; k < t.axes.size(); ++k)
    if (k != skip) permute_axis(v, t.b->shape, t.axes[k].second, perms[t.axes[k].first]);
  return v;
}

// s[i][j] += <A's channel i, B's channel j> along `axis`, each channel the block·outer·inner values it spans.
void add_similarity(const std::vector<float>& a, const std::vector<float>& b,
                    const std::vector<int64_t>& shape, const PermAxis& axis, int64_t n,
                    std::vector<double>& s) {
  const auto [outer, dim, inner] = around(shape, axis.axis);
  const int64_t m = outer * axis.block * inner;
  std::vector<double> am(static_cast<std::size_t>(n * m)), bm(am.size());
  for (int64_t c = 0; c < n; ++c) {
    int64_t k = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t blk = 0; blk < axis.block; ++blk)
        for (int64_t i = 0; i < inner; ++i, ++k) {
          const auto from = static_cast<std::size_t>((o * dim + c * axis.block + blk) * inner + i);
          am[static_cast<std::size_t>(c * m + k)] = a[from];
          bm[static_cast<std::size_t>(c * m + k)] = b[from];
        }
  }
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(n), static_cast<blasint>(n),
              static_cast<blasint>(m), 1.0, am.data(), static_cast<blasint>(m), bm.data(),
              static_cast<blasint>(m), 1.0, s.data(), static_cast<blasint>(n));
}

double objective(const std::map<std::string, Touched>& touched,
                 const std::vector<std::vector<int64_t>>& perms) {
  double total = 0;
  for (const auto& [name, t] : touched) {
    const std::vector<float> b = permuted_b(t, perms, t.axes.size());
    for (std::size_t i = 0; i < b.size(); ++i) total += static_cast<double>(t.a->values[i]) * b[i];
  }
  return total;
}

}  // namespace

GraphMatching graph_weight_matching(const PermSpec& spec, const TensorFile& a, const TensorFile& b,
                                    int max_sweeps, uint64_t seed) {
  std::map<std::string, Touched> touched;
  for (std::size_t g = 0; g < spec.groups.size(); ++g)
    for (const PermAxis& axis : spec.groups[g].axes) {
      Touched& t = touched[axis.tensor];
      t.a = a.find(axis.tensor);
      t.b = b.find(axis.tensor);
      MODECONN_EXPECTS(t.a && t.b && t.a->shape == t.b->shape, "both models hold the group's tensors");
      t.axes.emplace_back(g, axis);
    }
  GraphMatching r;
  for (const PermGroup& group : spec.groups) {
    r.perms.emplace_back(static_cast<std::size_t>(group.size));
    std::iota(r.perms.back().begin(), r.perms.back().end(), int64_t{0});
  }
  r.objective_before = objective(touched, r.perms);
  std::vector<std::size_t> order(spec.groups.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(seed);
  for (int sweep = 0; sweep < max_sweeps && !order.empty(); ++sweep) {
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    bool improved = false;
    for (std::size_t g : order) {
      const int64_t n = spec.groups[g].size;
      std::vector<double> s(static_cast<std::size_t>(n * n), 0.0);
      for (const auto& [name, t] : touched)
        for (std::size_t k = 0; k < t.axes.size(); ++k)
          if (t.axes[k].first == g)
            add_similarity(t.a->values, permuted_b(t, r.perms, k), t.a->shape, t.axes[k].second, n, s);
      double old_value = 0;
      for (int64_t i = 0; i < n; ++i)
        old_value += s[static_cast<std::size_t>(i * n + r.perms[g][static_cast<std::size_t>(i)])];
      double value = 0;
      LayerAlignment best = best_assignment(s, n, false, &value);
      if (value > old_value + 1e-12 * std::max(1.0, std::abs(old_value))) {
        r.perms[g] = std::move(best.perm);
        improved = true;
      }
    }
    r.sweeps = sweep + 1;
    if (!improved) break;
  }
  r.objective_after = objective(touched, r.perms);
  return r;
}

}  // namespace modeconn
