// Each similarity is the sum of rank-one terms, one per neighbouring unit, so when a neighbouring permutation
// changes in a few places only those terms are replaced: a GEMM of inner size (units moved) instead of the
// layer's full fan-in or fan-out. In the later sweeps of weight matching few units move, and a layer next to
// the input or output never sees its fixed side change at all, so that product is computed once.
#include "align/weight_similarity.hpp"

namespace modeconn {
namespace {

// Recomputing whole every so often keeps the float32 rounding of repeated updates from accumulating.
constexpr int kMaxUpdates = 8;

// The neighbouring units whose source or sign differs between two alignments (identity when null).
std::vector<int64_t> moved(const LayerAlignment* now, const LayerAlignment& before, int64_t count) {
  std::vector<int64_t> k;
  for (int64_t u = 0; u < count; ++u) {
    const auto i = static_cast<std::size_t>(u);
    const int64_t src = now ? now->perm[i] : u;
    const int8_t sign = now ? now->sign[i] : int8_t{1};
    if (src != before.perm[i] || sign != before.sign[i]) k.push_back(u);
  }
  return k;
}

LayerAlignment snapshot(const LayerAlignment* al, int64_t count) {
  if (al) return *al;
  LayerAlignment id;
  id.perm.resize(static_cast<std::size_t>(count));
  for (int64_t u = 0; u < count; ++u) id.perm[static_cast<std::size_t>(u)] = u;
  id.sign.assign(static_cast<std::size_t>(count), 1);
  return id;
}

}  // namespace

WeightSimilarity::WeightSimilarity(const Model& a, const Model& b, Backend& products)
    : a_(a), b_(b), products_(products), in_(a.arch.layers.size() - 1), out_(a.arch.layers.size() - 1) {}

// A_h · B'_h^T, where B'_h[j][k] = sign_k · B_h[j][perm_k] (B's inputs aligned to the previous layer).
void WeightSimilarity::incoming(std::size_t h, const LayerAlignment* prev, Product& p) const {
  const auto& layer = a_.arch.layers[h];
  const int64_t n = layer.out, in = layer.in;
  const float* aw = a_.params.data() + a_.arch.weight_offset(h);
  const float* bw = b_.params.data() + b_.arch.weight_offset(h);
  auto column = [&](const LayerAlignment* al, int64_t k, int64_t j) {
    const auto i = static_cast<std::size_t>(k);
    return al ? al->sign[i] * bw[j * in + al->perm[i]] : bw[j * in + k];
  };
  const std::vector<int64_t> k = p.used.perm.empty() ? std::vector<int64_t>{} : moved(prev, p.used, in);
  const auto kn = static_cast<int64_t>(k.size());
  if (p.used.perm.empty() || 2 * kn > in || p.updates >= kMaxUpdates) {
    std::vector<float> wb(static_cast<std::size_t>(n * in));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t c = 0; c < in; ++c) wb[static_cast<std::size_t>(j * in + c)] = column(prev, c, j);
    p.value.resize(static_cast<std::size_t>(n * n));
    products_.product(false, true, n, n, in, 1.f, aw, wb.data(), 0.f, p.value.data());
    p.updates = 0;
  } else if (kn > 0) {
    // Replace the terms of the moved inputs: += A_h[:, K] · (B'_new[:, K] − B'_old[:, K])^T.
    std::vector<float> ak(static_cast<std::size_t>(n * kn)), d(static_cast<std::size_t>(n * kn));
    for (int64_t r = 0; r < n; ++r)
      for (int64_t q = 0; q < kn; ++q) {
        const int64_t c = k[static_cast<std::size_t>(q)];
        ak[static_cast<std::size_t>(r * kn + q)] = aw[r * in + c];
        d[static_cast<std::size_t>(r * kn + q)] = column(prev, c, r) - column(&p.used, c, r);
      }
    products_.product(false, true, n, n, kn, 1.f, ak.data(), d.data(), 1.f, p.value.data());
    ++p.updates;
  }
  p.used = snapshot(prev, in);
}

// A_{h+1}^T · B'_{h+1}, where B'_{h+1}[m][j] = sign_m · B_{h+1}[perm_m][j] (B's outputs aligned to the next layer).
void WeightSimilarity::outgoing(std::size_t h, const LayerAlignment* after, Product& p) const {
  const auto& next = a_.arch.layers[h + 1];
  const int64_t n = next.in, out = next.out;
  const float* ao = a_.params.data() + a_.arch.weight_offset(h + 1);
  const float* bo = b_.params.data() + b_.arch.weight_offset(h + 1);
  auto row = [&](const LayerAlignment* al, int64_t m, int64_t j) {
    const auto i = static_cast<std::size_t>(m);
    return al ? al->sign[i] * bo[al->perm[i] * n + j] : bo[m * n + j];
  };
  const std::vector<int64_t> k = p.used.perm.empty() ? std::vector<int64_t>{} : moved(after, p.used, out);
  const auto kn = static_cast<int64_t>(k.size());
  if (p.used.perm.empty() || 2 * kn > out || p.updates >= kMaxUpdates) {
    std::vector<float> ob(static_cast<std::size_t>(out * n));
    for (int64_t m = 0; m < out; ++m)
      for (int64_t j = 0; j < n; ++j) ob[static_cast<std::size_t>(m * n + j)] = row(after, m, j);
    p.value.resize(static_cast<std::size_t>(n * n));
    products_.product(true, false, n, n, out, 1.f, ao, ob.data(), 0.f, p.value.data());
    p.updates = 0;
  } else if (kn > 0) {
    // += A_{h+1}[K, :]^T · (B'_new[K, :] − B'_old[K, :]).
    std::vector<float> ak(static_cast<std::size_t>(kn * n)), d(static_cast<std::size_t>(kn * n));
    for (int64_t q = 0; q < kn; ++q) {
      const int64_t m = k[static_cast<std::size_t>(q)];
      for (int64_t j = 0; j < n; ++j) {
        ak[static_cast<std::size_t>(q * n + j)] = ao[m * n + j];
        d[static_cast<std::size_t>(q * n + j)] = row(after, m, j) - row(&p.used, m, j);
      }
    }
    products_.product(true, false, n, n, kn, 1.f, ak.data(), d.data(), 1.f, p.value.data());
    ++p.updates;
  }
  p.used = snapshot(after, out);
}

std::vector<double> WeightSimilarity::operator()(const Alignment& al, std::size_t h) {
  const Architecture& arch = a_.arch;
  const int64_t n = arch.layers[h].out;
  incoming(h, h > 0 ? &al.layers[h - 1] : nullptr, in_[h]);
  outgoing(h, h + 2 < arch.layers.size() ? &al.layers[h + 1] : nullptr, out_[h]);
  const float* a_b = a_.params.data() + arch.bias_offset(h);
  const float* b_b = b_.params.data() + arch.bias_offset(h);
  const std::vector<float>& ti = in_[h].value;
  const std::vector<float>& to = out_[h].value;
  std::vector<double> s(static_cast<std::size_t>(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const auto e = static_cast<std::size_t>(i * n + j);
      s[e] = static_cast<double>(ti[e]) + static_cast<double>(to[e]) + static_cast<double>(a_b[i]) * b_b[j];
    }
  return s;
}

}  // namespace modeconn
