// Function-preserving transforms of an MLP (permutations, sign flips, rescaling) and the distances between
// models.
#include <cmath>

#include "modeconn/align.hpp"
#include "modeconn/error.hpp"

namespace modeconn {

Alignment identity_alignment(const Architecture& arch) {
  Alignment al;
  for (std::size_t l = 0; l + 1 < arch.layers.size(); ++l) {
    LayerAlignment layer;
    for (int64_t i = 0; i < arch.layers[l].out; ++i) layer.perm.push_back(i);
    layer.sign.assign(static_cast<std::size_t>(arch.layers[l].out), 1);
    al.layers.push_back(std::move(layer));
  }
  return al;
}

Model apply_alignment(const Model& b, const Alignment& al) {
  const Architecture& arch = b.arch;
  MODECONN_EXPECTS(al.layers.size() + 1 == arch.layers.size(), "one alignment per hidden layer");
  Model out = b;
  for (std::size_t l = 0; l < arch.layers.size(); ++l) {
    const auto& layer = arch.layers[l];
    const LayerAlignment* rows = l + 1 < arch.layers.size() ? &al.layers[l] : nullptr;
    const LayerAlignment* cols = l > 0 ? &al.layers[l - 1] : nullptr;
    const float* w = b.params.data() + arch.weight_offset(l);
    const float* bias = b.params.data() + arch.bias_offset(l);
    float* w_out = out.params.data() + arch.weight_offset(l);
    float* b_out = out.params.data() + arch.bias_offset(l);
    for (int64_t i = 0; i < layer.out; ++i) {
      const int64_t src_row = rows ? rows->perm[static_cast<std::size_t>(i)] : i;
      const float row_sign = rows ? rows->sign[static_cast<std::size_t>(i)] : 1;
      for (int64_t k = 0; k < layer.in; ++k) {
        const int64_t src_col = cols ? cols->perm[static_cast<std::size_t>(k)] : k;
        const float col_sign = cols ? cols->sign[static_cast<std::size_t>(k)] : 1;
        w_out[i * layer.in + k] = row_sign * col_sign * w[src_row * layer.in + src_col];
      }
      b_out[i] = row_sign * bias[src_row];
    }
  }
  return out;
}

Model canonicalize_scale(const Model& model) {
  const Architecture& arch = model.arch;
  Model out = model;
  for (std::size_t l = 0; l + 1 < arch.layers.size(); ++l) {
    const auto& layer = arch.layers[l];
    const auto& next = arch.layers[l + 1];
    float* w = out.params.data() + arch.weight_offset(l);
    float* b = out.params.data() + arch.bias_offset(l);
    float* w_next = out.params.data() + arch.weight_offset(l + 1);
    for (int64_t i = 0; i < layer.out; ++i) {
      double sq = static_cast<double>(b[i]) * b[i];
      for (int64_t k = 0; k < layer.in; ++k)
        sq += static_cast<double>(w[i * layer.in + k]) * w[i * layer.in + k];
      const double norm = std::sqrt(sq);
      if (norm == 0) continue;  // a dead unit has no scale to move
      for (int64_t k = 0; k < layer.in; ++k)
        w[i * layer.in + k] = static_cast<float>(w[i * layer.in + k] / norm);
      b[i] = static_cast<float>(b[i] / norm);
      for (int64_t m = 0; m < next.out; ++m)
        w_next[m * next.in + i] = static_cast<float>(w_next[m * next.in + i] * norm);
    }
  }
  return out;
}

double weight_inner_product(const Model& a, const Model& b) {
  MODECONN_EXPECTS(a.params.size() == b.params.size(), "models of one shape");
  double s = 0;
  for (std::size_t i = 0; i < a.params.size(); ++i) s += static_cast<double>(a.params[i]) * b.params[i];
  return s;
}

double weight_distance(const Model& a, const Model& b) {
  MODECONN_EXPECTS(a.params.size() == b.params.size(), "models of one shape");
  double s = 0;
  for (std::size_t i = 0; i < a.params.size(); ++i) {
    const double d = static_cast<double>(a.params[i]) - b.params[i];
    s += d * d;
  }
  return std::sqrt(s);
}

double fraction_in_place(const Alignment& al) {
  std::size_t total = 0, fixed = 0;
  for (const auto& layer : al.layers)
    for (std::size_t i = 0; i < layer.perm.size(); ++i) {
      ++total;
      fixed += layer.perm[i] == static_cast<int64_t>(i) && layer.sign[i] > 0;
    }
  return total ? static_cast<double>(fixed) / static_cast<double>(total) : 1.0;
}

}  // namespace modeconn
