// An independent float64 MLP for the tests: naive loops, its own activation formulas, no shared code paths.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "modeconn/dataset.hpp"
#include "modeconn/model.hpp"

namespace modeconn::test {

inline double ref_activate(Activation a, double x) {
  switch (a) {
    case Activation::relu:
      return std::max(x, 0.0);
    case Activation::leaky_relu:
      return x >= 0 ? x : 0.01 * x;
    case Activation::tanh:
      return std::tanh(x);
    case Activation::sigmoid:
      return 1.0 / (1.0 + std::exp(-x));
    case Activation::gelu:
      return x * 0.5 * std::erfc(-x / std::sqrt(2.0));
    case Activation::softplus:
      return x > 20 ? x : std::log(1.0 + std::exp(x));
    case Activation::identity:
      return x;
  }
  return x;
}

struct RefMetrics {
  double loss = 0, error = 0;
};

// Loss and error of an MLP with float64 parameters on the rows of a split (all rows when `rows` is empty).
inline RefMetrics ref_metrics(const Architecture& arch, const std::vector<double>& params, const Split& s,
                              const std::vector<int64_t>& rows = {}) {
  RefMetrics m;
  const int64_t n = rows.empty() ? s.rows : static_cast<int64_t>(rows.size());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = rows.empty() ? i : rows[static_cast<std::size_t>(i)];
    std::vector<double> h(s.x.begin() + r * s.features, s.x.begin() + (r + 1) * s.features);
    std::size_t off = 0;
    for (std::size_t l = 0; l < arch.layers.size(); ++l) {
      const auto& L = arch.layers[l];
      std::vector<double> z(static_cast<std::size_t>(L.out));
      for (int64_t o = 0; o < L.out; ++o) {
        double acc = params[off + static_cast<std::size_t>(L.out * L.in + o)];
        for (int64_t k = 0; k < L.in; ++k)
          acc += params[off + static_cast<std::size_t>(o * L.in + k)] * h[static_cast<std::size_t>(k)];
        z[static_cast<std::size_t>(o)] =
            l + 1 < arch.layers.size() ? ref_activate(arch.activation, acc) : acc;
      }
      off += static_cast<std::size_t>(L.out * L.in + L.out);
      h = std::move(z);
    }
    if (s.task == Task::classification) {
      const int32_t y = s.labels[static_cast<std::size_t>(r)];
      double mx = *std::max_element(h.begin(), h.end());
      double sum = 0;
      for (double v : h) sum += std::exp(v - mx);
      m.loss += std::log(sum) + mx - h[static_cast<std::size_t>(y)];
      const auto best = std::max_element(h.begin(), h.end()) - h.begin();
      m.error += best == y ? 0 : 1;
    } else {
      double se = 0, ae = 0;
      for (std::size_t j = 0; j < h.size(); ++j) {
        const double d = h[j] - s.targets[static_cast<std::size_t>(r) * h.size() + j];
        se += d * d;
        ae += std::abs(d);
      }
      m.loss += se / static_cast<double>(h.size());
      m.error += ae / static_cast<double>(h.size());
    }
  }
  m.loss /= static_cast<double>(n);
  m.error /= static_cast<double>(n);
  return m;
}

}  // namespace modeconn::test
