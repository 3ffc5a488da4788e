// Exact Hessian-vector products of an MLP's mean loss by Pearlmutter's R-operator. With z_l = h_{l−1}·W_lᵀ +
// b_l and h_l = σ(z_l), a direction v = (V_l, c_l) moves every quantity of the forward and backward pass
// linearly; R{·} is that first-order change:
//   R{z_l} = h_{l−1}·V_lᵀ + c_l + R{h_{l−1}}·W_lᵀ,   R{h_l} = σ'(z_l)⊙R{z_l}                 (R-forward)
//   g_L = ∂loss/∂z_L,  R{g_L}: the loss's second derivative applied to R{z_L}
//   R{∂W_l} = R{g_l}ᵀ·h_{l−1} + g_lᵀ·R{h_{l−1}},   R{∂b_l} = Σ_rows R{g_l}
//   R{g_{l−1}} = σ'(z_{l−1})⊙(R{g_l}·W_l + g_l·V_l) + σ''(z_{l−1})⊙R{z_{l−1}}⊙(g_l·W_l)  (R-backward)
// and H·v = (R{∂W_l}, R{∂b_l}). The pass at θ (z_l, h_l, g_l and g_l·W_l) is kept from construction.
#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>

#include "backend/cpu_ops.hpp"
#include "modeconn/error.hpp"
#include "modeconn/hessian.hpp"

namespace modeconn {
namespace {

// σ' and σ'' at pre-activation z (y = σ(z)): float64 from the float32 forward's values.
struct Derivatives {
  double first, second;
};
Derivatives derivatives(Activation a, double z, double y) {
  switch (a) {
    case Activation::relu:
      return {z > 0 ? 1.0 : 0.0, 0.0};
    case Activation::leaky_relu:
      return {z > 0 ? 1.0 : static_cast<double>(kLeakyReluSlope), 0.0};
    case Activation::tanh:
      return {1 - y * y, -2 * y * (1 - y * y)};
    case Activation::sigmoid:
      return {y * (1 - y), y * (1 - y) * (1 - 2 * y)};
    case Activation::gelu: {
      const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2 * std::numbers::pi);
      return {0.5 * (1 + std::erf(z / std::numbers::sqrt2)) + z * pdf, pdf * (2 - z * z)};
    }
    case Activation::softplus: {
      if (z > kSoftplusThreshold) return {1.0, 0.0};  // linear there, as the forward
      const double s = 1 / (1 + std::exp(-z));
      return {s, s * (1 - s)};
    }
    case Activation::identity:
      return {1.0, 0.0};
  }
  return {1.0, 0.0};
}

}  // namespace

struct MlpHessian::State {
  Architecture arch;
  std::vector<float> params;
  int64_t n = 0;                         // rows
  std::vector<float> x;                  // n × input
  std::vector<int32_t> labels;           // classification
  std::vector<float> targets;            // regression, n × outputs
  std::vector<std::vector<float>> z, h;  // per layer, n × out (h: σ(z); the last layer's h unused)
  std::vector<std::vector<float>> g, d;  // g_l = ∂loss/∂z_l; d_l = g_l·W_l (n × in), l ≥ 1
  std::vector<std::vector<float>> p;     // classification: softmax of the logits (the last layer only)
  std::vector<std::vector<float>> sigma1, sigma2;  // σ'(z_l), σ''(z_l) of hidden layers
  double loss = 0;
  std::vector<double> grad;

  const float* W(std::size_t l) const { return params.data() + arch.weight_offset(l); }
  const float* b(std::size_t l) const { return params.data() + arch.bias_offset(l); }
  const float* input(std::size_t l) const { return l == 0 ? x.data() : h[l - 1].data(); }
};

MlpHessian::MlpHessian(const Architecture& arch, std::span<const float> params, const Split& split,
                       int64_t rows)
    : s_(std::make_unique<State>()), w_(std::make_unique<Workspace>()) {
  State* s = s_.get();
  MODECONN_EXPECTS(params.size() == arch.num_params(), "parameters of the architecture");
  MODECONN_EXPECTS(rows >= 1 && rows <= split.rows && split.features == arch.input_width(),
                   "rows of the split");
  s->arch = arch;
  s->params.assign(params.begin(), params.end());
  s->n = rows;
  const int64_t n = rows, d0 = arch.input_width();
  s->x.assign(split.x.begin(), split.x.begin() + n * d0);
  if (arch.task == Task::classification)
    s->labels.assign(split.labels.begin(), split.labels.begin() + n);
  else
    s->targets.assign(split.targets.begin(), split.targets.begin() + n * split.target_width);
  const std::size_t L = arch.layers.size();
  s->z.resize(L);
  s->h.resize(L);
  s->g.resize(L);
  s->d.resize(L);
  s->sigma1.resize(L);
  s->sigma2.resize(L);
  for (std::size_t l = 0; l < L; ++l) {
    const LayerShape& ls = arch.layers[l];
    s->z[l].resize(static_cast<std::size_t>(n * ls.out));
    cpu::parallel_gemm(n, ls.out, ls.in, 1.f, s->input(l), false, s->W(l), true, 0.f, s->z[l].data());
    cpu::add_bias(s->z[l].data(), n, ls.out, s->b(l));
    if (l + 1 < L) {
      s->h[l].resize(s->z[l].size());
      s->sigma1[l].resize(s->z[l].size());
      s->sigma2[l].resize(s->z[l].size());
      for (std::size_t i = 0; i < s->z[l].size(); ++i) {
        const float y = activate(arch.activation, s->z[l][i]);
        s->h[l][i] = y;
        const Derivatives dv = derivatives(arch.activation, s->z[l][i], y);
        s->sigma1[l][i] = static_cast<float>(dv.first);
        s->sigma2[l][i] = static_cast<float>(dv.second);
      }
    }
  }
  // The loss and g at the output: cross-entropy over softmax, or the mean squared error over every element.
  const int64_t k = arch.layers.back().out;
  std::vector<float>& logits = s->z.back();
  s->g.back().resize(logits.size());
  double loss = 0;
  if (arch.task == Task::classification) {
    s->p.resize(1);
    s->p[0].resize(logits.size());
    for (int64_t r = 0; r < n; ++r) {
      const float* zr = logits.data() + r * k;
      double mx = zr[0];
      for (int64_t j = 1; j < k; ++j) mx = std::max(mx, static_cast<double>(zr[j]));
      double sum = 0;
      for (int64_t j = 0; j < k; ++j) sum += std::exp(zr[j] - mx);
      const int32_t y = s->labels[static_cast<std::size_t>(r)];
      loss += std::log(sum) + mx - zr[y];
      for (int64_t j = 0; j < k; ++j) {
        const double pj = std::exp(zr[j] - mx) / sum;
        s->p[0][static_cast<std::size_t>(r * k + j)] = static_cast<float>(pj);
        s->g.back()[static_cast<std::size_t>(r * k + j)] =
            static_cast<float>((pj - (j == y)) / static_cast<double>(n));
      }
    }
    loss /= static_cast<double>(n);
  } else {
    for (std::size_t i = 0; i < logits.size(); ++i) {
      const double e = static_cast<double>(logits[i]) - s->targets[i];
      loss += e * e;
      s->g.back()[i] = static_cast<float>(2 * e / static_cast<double>(n * k));
    }
    loss /= static_cast<double>(n * k);
  }
  s->loss = loss;
  // Backward: g_{l−1} = σ'(z_{l−1})⊙(g_l·W_l), keeping d_l = g_l·W_l; and the gradient.
  s->grad.assign(arch.num_params(), 0.0);
  std::vector<float> dw;
  for (std::size_t l = L; l-- > 0;) {
    const LayerShape& ls = arch.layers[l];
    dw.assign(static_cast<std::size_t>(ls.out * ls.in), 0.f);
    cpu::parallel_gemm(ls.out, ls.in, n, 1.f, s->g[l].data(), true, s->input(l), false, 0.f, dw.data());
    for (std::size_t i = 0; i < dw.size(); ++i) s->grad[arch.weight_offset(l) + i] = dw[i];
    for (int64_t r = 0; r < n; ++r)
      for (int64_t o = 0; o < ls.out; ++o)
        s->grad[arch.bias_offset(l) + static_cast<std::size_t>(o)] +=
            s->g[l][static_cast<std::size_t>(r * ls.out + o)];
    if (l == 0) break;
    s->d[l].resize(static_cast<std::size_t>(n * ls.in));
    cpu::parallel_gemm(n, ls.in, ls.out, 1.f, s->g[l].data(), false, s->W(l), false, 0.f, s->d[l].data());
    s->g[l - 1].resize(s->d[l].size());
    for (std::size_t i = 0; i < s->d[l].size(); ++i) s->g[l - 1][i] = s->sigma1[l - 1][i] * s->d[l][i];
  }
}

// apply()'s buffers, kept from one product to the next (a Lanczos run makes dozens of products).
struct MlpHessian::Workspace {
  std::vector<float> vf, rg, dw, rd, next;
  std::vector<std::vector<float>> rz, rh;
};

MlpHessian::~MlpHessian() = default;

int64_t MlpHessian::size() const { return static_cast<int64_t>(s_->arch.num_params()); }
double MlpHessian::loss() const { return s_->loss; }
std::vector<double> MlpHessian::gradient() const { return s_->grad; }

namespace {

// Σ over rows of each column of a rows × cols matrix, in float64: columns in blocks of 16 across the threads,
// each block's rows summed in order, so the sums do not depend on the thread count.
void column_sums(const float* m, int64_t rows, int64_t cols, double* out) {
  constexpr int64_t kBlock = 16;
  const int64_t blocks = (cols + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t c0 = b * kBlock, width = std::min(kBlock, cols - c0);
    double acc[kBlock] = {};
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < width; ++j) acc[j] += m[r * cols + c0 + j];
    for (int64_t j = 0; j < width; ++j) out[c0 + j] = acc[j];
  }
}

}  // namespace

std::vector<double> MlpHessian::apply(std::span<const double> v) const {
  const State& s = *s_;
  Workspace& w = *w_;
  const Architecture& arch = s.arch;
  MODECONN_EXPECTS(v.size() == arch.num_params(), "a vector of the parameters' size");
  const std::size_t L = arch.layers.size();
  const int64_t n = s.n;
  const auto np = static_cast<int64_t>(v.size());
  w.vf.resize(v.size());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < np; ++i)
    w.vf[static_cast<std::size_t>(i)] = static_cast<float>(v[static_cast<std::size_t>(i)]);
  const auto V = [&](std::size_t l) { return w.vf.data() + arch.weight_offset(l); };
  const auto c = [&](std::size_t l) { return w.vf.data() + arch.bias_offset(l); };

  // R-forward. The elementwise passes run on every thread between the GEMMs (the GEMMs thread themselves).
  std::vector<std::vector<float>>& rz = w.rz;
  std::vector<std::vector<float>>& rh = w.rh;
  rz.resize(L);
  rh.resize(L);
  for (std::size_t l = 0; l < L; ++l) {
    const LayerShape& ls = arch.layers[l];
    rz[l].resize(static_cast<std::size_t>(n * ls.out));
    cpu::parallel_gemm(n, ls.out, ls.in, 1.f, s.input(l), false, V(l), true, 0.f, rz[l].data());
    if (l > 0)
      cpu::parallel_gemm(n, ls.out, ls.in, 1.f, rh[l - 1].data(), false, s.W(l), true, 1.f, rz[l].data());
    cpu::add_bias(rz[l].data(), n, ls.out, c(l));
    if (l + 1 < L) {
      rh[l].resize(rz[l].size());
      const auto count = static_cast<int64_t>(rz[l].size());
      const float* s1 = s.sigma1[l].data();
      const float* in = rz[l].data();
      float* out = rh[l].data();
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < count; ++i) out[i] = s1[i] * in[i];
    }
  }
  // R{g} at the output.
  const int64_t k = arch.layers.back().out;
  std::vector<float>& rg = w.rg;
  rg.resize(rz.back().size());
  if (arch.task == Task::classification) {
    // R{p} = p⊙(R{z} − Σ_j p_j R{z_j}), R{g} = R{p}/n.
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n; ++r) {
      const float* pr = s.p[0].data() + r * k;
      const float* rzr = rz.back().data() + r * k;
      double dot = 0;
      for (int64_t j = 0; j < k; ++j) dot += static_cast<double>(pr[j]) * rzr[j];
      for (int64_t j = 0; j < k; ++j)
        rg[static_cast<std::size_t>(r * k + j)] =
            static_cast<float>(pr[j] * (rzr[j] - dot) / static_cast<double>(n));
    }
  } else {
    const auto count = static_cast<int64_t>(rg.size());
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i)
      rg[static_cast<std::size_t>(i)] =
          static_cast<float>(2.0 * rz.back()[static_cast<std::size_t>(i)] / static_cast<double>(n * k));
  }
  // R-backward.
  std::vector<double> out(arch.num_params());
  std::vector<float>& dw = w.dw;
  std::vector<float>& rd = w.rd;
  std::vector<float>& next = w.next;
  for (std::size_t l = L; l-- > 0;) {
    const LayerShape& ls = arch.layers[l];
    dw.resize(static_cast<std::size_t>(ls.out * ls.in));
    cpu::parallel_gemm(ls.out, ls.in, n, 1.f, rg.data(), true, s.input(l), false, 0.f, dw.data());
    if (l > 0)
      cpu::parallel_gemm(ls.out, ls.in, n, 1.f, s.g[l].data(), true, rh[l - 1].data(), false, 1.f, dw.data());
    const auto weights = static_cast<int64_t>(dw.size());
    double* ow = out.data() + arch.weight_offset(l);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < weights; ++i) ow[i] = dw[static_cast<std::size_t>(i)];
    column_sums(rg.data(), n, ls.out, out.data() + arch.bias_offset(l));
    if (l == 0) break;
    rd.resize(static_cast<std::size_t>(n * ls.in));
    cpu::parallel_gemm(n, ls.in, ls.out, 1.f, rg.data(), false, s.W(l), false, 0.f, rd.data());
    cpu::parallel_gemm(n, ls.in, ls.out, 1.f, s.g[l].data(), false, V(l), false, 1.f, rd.data());
    next.resize(rd.size());
    const auto count = static_cast<int64_t>(rd.size());
    const float* s1 = s.sigma1[l - 1].data();
    const float* s2 = s.sigma2[l - 1].data();
    const float* z1 = rz[l - 1].data();
    const float* d = s.d[l].data();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i)
      next[static_cast<std::size_t>(i)] = s1[i] * rd[static_cast<std::size_t>(i)] + s2[i] * z1[i] * d[i];
    std::swap(rg, next);
  }
  return out;
}

}  // namespace modeconn
