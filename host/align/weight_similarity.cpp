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

std::vector<float> transposed(const float* m, int64_t rows, int64_t cols) {
  std::vector<float> t(static_cast<std::size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t[static_cast<std::size_t>(c * rows + r)] = m[r * cols + c];
  return t;
}

}  // namespace

WeightSimilarity::WeightSimilarity(const Model& a, const Model& b, Backend& products)
    : a_(a), b_(b), products_(products), in_(a.arch.layers.size() - 1), out_(a.arch.layers.size() - 1) {
  // The outgoing product A_{h+1}ᵀ·B'_{h+1} is the incoming one's form on the transposed weights, so each
  // hidden layer's next weights are kept transposed once.
  for (std::size_t h = 0; h + 1 < a.arch.layers.size(); ++h) {
    const auto& next = a.arch.layers[h + 1];
    a_next_t_.push_back(transposed(a.params.data() + a.arch.weight_offset(h + 1), next.out, next.in));
    b_next_t_.push_back(transposed(b.params.data() + b.arch.weight_offset(h + 1), next.out, next.in));
  }
}

// X · Y'ᵀ, where Y'[j][c] = sign_c · Y[j][perm_c]: Y's columns aligned by `al` (identity when null). X and Y
// are n × width, row-major.
void WeightSimilarity::refresh(Product& p, const float* x, const float* y, int64_t n, int64_t width,
                               const LayerAlignment* al) const {
  auto aligned = [&](const LayerAlignment* by, int64_t j, int64_t c) {
    const auto i = static_cast<std::size_t>(c);
    return by ? by->sign[i] * y[j * width + by->perm[i]] : y[j * width + c];
  };
  const bool first = p.used.perm.empty();
  const std::vector<int64_t> k = first ? std::vector<int64_t>{} : moved(al, p.used, width);
  const auto kn = static_cast<int64_t>(k.size());
  if (first || 2 * kn > width || p.updates >= kMaxUpdates) {
    std::vector<float> ya(static_cast<std::size_t>(n * width));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t c = 0; c < width; ++c) ya[static_cast<std::size_t>(j * width + c)] = aligned(al, j, c);
    p.value.resize(static_cast<std::size_t>(n * n));
    products_.product(false, true, n, n, width, 1.f, x, ya.data(), 0.f, p.value.data());
    p.updates = 0;
  } else if (kn > 0) {
    // Replace the terms of the moved columns: += X[:, K] · (Y'_new[:, K] − Y'_old[:, K])ᵀ.
    std::vector<float> xk(static_cast<std::size_t>(n * kn)), d(static_cast<std::size_t>(n * kn));
    for (int64_t r = 0; r < n; ++r)
      for (int64_t q = 0; q < kn; ++q) {
        const int64_t c = k[static_cast<std::size_t>(q)];
        xk[static_cast<std::size_t>(r * kn + q)] = x[r * width + c];
        d[static_cast<std::size_t>(r * kn + q)] = aligned(al, r, c) - aligned(&p.used, r, c);
      }
    products_.product(false, true, n, n, kn, 1.f, xk.data(), d.data(), 1.f, p.value.data());
    ++p.updates;
  }
  p.used = snapshot(al, width);
}

std::vector<double> WeightSimilarity::operator()(const Alignment& al, std::size_t h) {
  const Architecture& arch = a_.arch;
  const int64_t n = arch.layers[h].out;
  // A_h·B'_hᵀ with B's inputs aligned to the previous layer; A_{h+1}ᵀ·B'_{h+1} with B's outputs aligned to
  // the next one, that is (A_{h+1}ᵀ)·((B_{h+1}ᵀ)')ᵀ.
  refresh(in_[h], a_.params.data() + arch.weight_offset(h), b_.params.data() + arch.weight_offset(h), n,
          arch.layers[h].in, h > 0 ? &al.layers[h - 1] : nullptr);
  refresh(out_[h], a_next_t_[h].data(), b_next_t_[h].data(), n, arch.layers[h + 1].out,
          h + 2 < arch.layers.size() ? &al.layers[h + 1] : nullptr);
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
