// Spectra from matrix-vector products alone: Lanczos with full reorthogonalisation for the extremal
// eigenvalues, Hutchinson's estimator for the trace, and a Jacobi eigensolver for the small tridiagonal
// matrices Lanczos builds.
#include <algorithm>
#include <cmath>

#include "modeconn/error.hpp"
#include "modeconn/hessian.hpp"
#include "modeconn/rng.hpp"

namespace modeconn {
namespace {

double dot(std::span<const double> x, std::span<const double> y) {
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

}  // namespace

void symmetric_eigen(std::vector<double> a, int n, std::vector<double>& values,
                     std::vector<double>& vectors) {
  MODECONN_EXPECTS(n >= 0 && a.size() == static_cast<std::size_t>(n) * static_cast<std::size_t>(n),
                   "a square matrix");
  const auto at = [n](int i, int j) {
    return static_cast<std::size_t>(i) * static_cast<std::size_t>(n) + static_cast<std::size_t>(j);
  };
  vectors.assign(a.size(), 0.0);
  for (int i = 0; i < n; ++i) vectors[at(i, i)] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, scale = 0;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) (i == j ? scale : off) += a[at(i, j)] * a[at(i, j)];
    if (off <= 1e-30 * std::max(scale, 1e-300)) break;
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) {
        const double apq = a[at(p, q)];
        if (apq == 0) continue;
        // The rotation that zeroes a[p][q] (Golub and Van Loan's symmetric Schur decomposition).
        const double tau = (a[at(q, q)] - a[at(p, p)]) / (2 * apq);
        const double t = (tau >= 0 ? 1.0 : -1.0) / (std::abs(tau) + std::sqrt(1 + tau * tau));
        const double c = 1 / std::sqrt(1 + t * t), s = t * c;
        for (int k = 0; k < n; ++k) {  // columns p and q
          const double akp = a[at(k, p)], akq = a[at(k, q)];
          a[at(k, p)] = c * akp - s * akq;
          a[at(k, q)] = s * akp + c * akq;
        }
        for (int k = 0; k < n; ++k) {  // rows p and q
          const double apk = a[at(p, k)], aqk = a[at(q, k)];
          a[at(p, k)] = c * apk - s * aqk;
          a[at(q, k)] = s * apk + c * aqk;
        }
        for (int k = 0; k < n; ++k) {
          const double vkp = vectors[at(k, p)], vkq = vectors[at(k, q)];
          vectors[at(k, p)] = c * vkp - s * vkq;
          vectors[at(k, q)] = s * vkp + c * vkq;
        }
      }
  }
  // Ascending, the vectors' columns in the same order.
  std::vector<int> order(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  std::sort(order.begin(), order.end(), [&](int x, int y) { return a[at(x, x)] < a[at(y, y)]; });
  values.resize(static_cast<std::size_t>(n));
  std::vector<double> sorted(vectors.size());
  for (int j = 0; j < n; ++j) {
    values[static_cast<std::size_t>(j)] =
        a[at(order[static_cast<std::size_t>(j)], order[static_cast<std::size_t>(j)])];
    for (int i = 0; i < n; ++i) sorted[at(i, j)] = vectors[at(i, order[static_cast<std::size_t>(j)])];
  }
  vectors = std::move(sorted);
}

LanczosResult lanczos_extremes(const Operator& h, int64_t n, int top, int bottom, int max_steps,
                               double tolerance, uint64_t seed) {
  MODECONN_EXPECTS(n >= 1 && top >= 0 && bottom >= 0 && top <= n && bottom <= n,
                   "as many eigenvalues as there are");
  MODECONN_EXPECTS(max_steps >= 1, "at least one step");
  const int limit = static_cast<int>(std::min<int64_t>(n, max_steps));
  Rng rng(seed);
  std::vector<std::vector<double>> basis;
  std::vector<double> alpha, beta;  // T's diagonal and off-diagonal
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& x : v) x = rng.uniform() - 0.5;
  const double norm0 = std::sqrt(dot(v, v));
  for (double& x : v) x /= norm0;
  LanczosResult result;
  double last_beta = 0;
  for (int step = 0; step < limit; ++step) {
    basis.push_back(v);
    std::vector<double> w = h(v);
    const double a = dot(w, v);
    alpha.push_back(a);
    // Full reorthogonalisation, twice ("twice is enough"): every earlier vector removed, not only the last
    // two.
    for (int pass = 0; pass < 2; ++pass)
      for (const auto& q : basis) {
        const double c = dot(w, q);
        for (std::size_t i = 0; i < w.size(); ++i) w[i] -= c * q[i];
      }
    last_beta = std::sqrt(dot(w, w));
    const int m = static_cast<int>(alpha.size());
    // An invariant subspace: its eigenvalues are exact, and a repeated eigenvalue has only one copy in it. A
    // fresh random vector orthogonal to the basis continues in the rest of the space (T gets a zero
    // off-diagonal there), so that multiplicities come out too.
    const bool invariant = last_beta <= 1e-10 * std::max(1.0, std::abs(a));
    const bool exhausted = m == limit;
    const bool check = exhausted || m >= top + bottom + 2;
    if (check) {
      // Ritz values of T_m, each with its residual |β_m·s_{m,i}|.
      std::vector<double> t(static_cast<std::size_t>(m) * static_cast<std::size_t>(m), 0.0), values, vectors;
      for (int i = 0; i < m; ++i) {
        t[static_cast<std::size_t>(i * m + i)] = alpha[static_cast<std::size_t>(i)];
        if (i + 1 < m)
          t[static_cast<std::size_t>(i * m + i + 1)] = t[static_cast<std::size_t>((i + 1) * m + i)] =
              beta[static_cast<std::size_t>(i)];
      }
      symmetric_eigen(t, m, values, vectors);
      const auto residual = [&](int j) {
        return invariant ? 0.0 : std::abs(last_beta * vectors[static_cast<std::size_t>((m - 1) * m + j)]);
      };
      const int k_top = std::min(top, m), k_bottom = std::min(bottom, m);
      result.top.clear();
      result.top_residual.clear();
      result.bottom.clear();
      result.bottom_residual.clear();
      for (int j = 0; j < k_top; ++j) {
        result.top.push_back(values[static_cast<std::size_t>(m - 1 - j)]);
        result.top_residual.push_back(residual(m - 1 - j));
      }
      for (int j = 0; j < k_bottom; ++j) {
        result.bottom.push_back(values[static_cast<std::size_t>(j)]);
        result.bottom_residual.push_back(residual(j));
      }
      const double scale = std::max(std::abs(values.front()), std::abs(values.back()));
      bool done = k_top == top && k_bottom == bottom;
      for (double r : result.top_residual) done = done && r <= tolerance * scale;
      for (double r : result.bottom_residual) done = done && r <= tolerance * scale;
      result.steps = m;
      result.converged = done || m == n;
      if (done || exhausted) break;
    }
    if (invariant) {
      for (double& x : w) x = rng.uniform() - 0.5;
      for (int pass = 0; pass < 2; ++pass)
        for (const auto& q : basis) {
          const double c = dot(w, q);
          for (std::size_t i = 0; i < w.size(); ++i) w[i] -= c * q[i];
        }
      const double norm = std::sqrt(dot(w, w));
      for (double& x : w) x /= norm;
      beta.push_back(0.0);
      v = std::move(w);
      continue;
    }
    beta.push_back(last_beta);
    for (std::size_t i = 0; i < w.size(); ++i) v[i] = w[i] / last_beta;
  }
  return result;
}

TraceEstimate hutchinson_trace(const Operator& h, int64_t n, int probes, uint64_t seed) {
  MODECONN_EXPECTS(probes >= 1, "at least one probe");
  Rng rng(seed);
  std::vector<double> samples;
  std::vector<double> z(static_cast<std::size_t>(n));
  for (int p = 0; p < probes; ++p) {
    for (double& x : z) x = rng.uniform() < 0.5 ? -1.0 : 1.0;
    samples.push_back(dot(z, h(z)));
  }
  TraceEstimate t;
  t.probes = probes;
  for (double s : samples) t.mean += s;
  t.mean /= probes;
  if (probes > 1) {
    double var = 0;
    for (double s : samples) var += (s - t.mean) * (s - t.mean);
    t.standard_error = std::sqrt(var / (probes - 1) / probes);
  }
  return t;
}

int HessianPoint::negative() const {
  return static_cast<int>(std::count_if(bottom.begin(), bottom.end(), [](double v) { return v < 0; }));
}

}  // namespace modeconn
