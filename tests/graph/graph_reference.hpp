// An independent float64 forward pass of a layer graph, written the plain way (PyTorch's [C, H, W] layout,
// one sample at a time, loops straight from the op definitions), for the executors to be checked against.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "modeconn/graph_model.hpp"

namespace modeconn::test {

// The activations in float64 from their definitions (PyTorch's: leaky slope 0.01, softplus linear above 20,
// the exact erf GELU), so that finite differences of the reference are accurate.
inline double reference_activate(Activation a, double x) {
  switch (a) {
    case Activation::relu:
      return x > 0 ? x : 0.0;
    case Activation::leaky_relu:
      return x > 0 ? x : 0.01 * x;
    case Activation::tanh:
      return std::tanh(x);
    case Activation::sigmoid:
      return 1 / (1 + std::exp(-x));
    case Activation::gelu:
      return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case Activation::softplus:
      return x > 20 ? x : std::log1p(std::exp(x));
    case Activation::identity:
      return x;
  }
  return x;
}

// Per BatchNorm node: the statistics to normalise with (the running ones, or recomputed ones).
struct BnStats {
  std::vector<double> mean, var;
};

// The output of every node for one sample (x: the sample, [C, H, W] or [D]) at float64 parameters and
// buffers (the GraphModel's flat layouts). `stats[i]`, when given for a batch_norm node i, replaces its
// running statistics.
inline std::vector<std::vector<double>> reference_forward(const Graph& g, const double* params,
                                                          const double* buffers, const float* x,
                                                          const std::vector<BnStats>* stats = nullptr) {
  const TensorPlaces places = tensor_places(g);
  const auto tensor = [&](std::size_t node, TensorRole role) -> const double* {
    const TensorPlace& p = places[node][static_cast<std::size_t>(role)];
    if (!p.present) return nullptr;
    return (p.buffer ? buffers : params) + p.offset;
  };
  std::vector<std::vector<double>> out(g.nodes.size());
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const auto& s = n.shape;
    int64_t size = 1;
    for (int64_t d : s) size *= d;
    std::vector<double>& y = out[i];
    y.assign(static_cast<std::size_t>(size), 0.0);
    const std::vector<double>* in = n.inputs.empty() ? nullptr : &out[static_cast<std::size_t>(n.inputs[0])];
    const auto& is = n.inputs.empty() ? s : g.nodes[static_cast<std::size_t>(n.inputs[0])].shape;
    switch (n.op) {
      case Op::input:
        for (int64_t k = 0; k < size; ++k) y[static_cast<std::size_t>(k)] = x[k];
        break;
      case Op::linear: {
        const double* w = tensor(i, TensorRole::weight);
        const double* b = tensor(i, TensorRole::bias);
        for (int64_t o = 0; o < n.out; ++o) {
          double v = b ? b[o] : 0.0;
          for (int64_t k = 0; k < is[0]; ++k)
            v += double{w[o * is[0] + k]} * (*in)[static_cast<std::size_t>(k)];
          y[static_cast<std::size_t>(o)] = v;
        }
        break;
      }
      case Op::conv2d: {
        const double* w = tensor(i, TensorRole::weight);
        const double* b = tensor(i, TensorRole::bias);
        const int64_t c = is[0], h = is[1], wd = is[2], kh = n.kernel[0], kw = n.kernel[1];
        for (int64_t o = 0; o < n.out; ++o)
          for (int64_t oy = 0; oy < s[1]; ++oy)
            for (int64_t ox = 0; ox < s[2]; ++ox) {
              double v = b ? b[o] : 0.0;
              for (int64_t ci = 0; ci < c; ++ci)
                for (int64_t a = 0; a < kh; ++a)
                  for (int64_t bb = 0; bb < kw; ++bb) {
                    const int64_t yy = oy * n.stride[0] - n.padding[0] + a * n.dilation[0];
                    const int64_t xx = ox * n.stride[1] - n.padding[1] + bb * n.dilation[1];
                    if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                    v += double{w[((o * c + ci) * kh + a) * kw + bb]} *
                         (*in)[static_cast<std::size_t>((ci * h + yy) * wd + xx)];
                  }
              y[static_cast<std::size_t>((o * s[1] + oy) * s[2] + ox)] = v;
            }
        break;
      }
      case Op::batch_norm: {
        const double* gamma = tensor(i, TensorRole::weight);
        const double* beta = tensor(i, TensorRole::bias);
        const double* rm = tensor(i, TensorRole::running_mean);
        const double* rv = tensor(i, TensorRole::running_var);
        const int64_t per = size / s[0];
        for (int64_t c = 0; c < s[0]; ++c) {
          const bool given = stats && !(*stats)[i].mean.empty();
          const double mean = given ? (*stats)[i].mean[static_cast<std::size_t>(c)] : rm[c];
          const double var = given ? (*stats)[i].var[static_cast<std::size_t>(c)] : rv[c];
          for (int64_t k = 0; k < per; ++k) {
            const auto at = static_cast<std::size_t>(c * per + k);
            y[at] = ((*in)[at] - mean) / std::sqrt(var + n.eps) * (gamma ? gamma[c] : 1.0) +
                    (beta ? beta[c] : 0.0);
          }
        }
        break;
      }
      case Op::activation:
        for (int64_t k = 0; k < size; ++k)
          y[static_cast<std::size_t>(k)] =
              reference_activate(n.activation, (*in)[static_cast<std::size_t>(k)]);
        break;
      case Op::max_pool2d:
      case Op::avg_pool2d: {
        const bool max = n.op == Op::max_pool2d;
        for (int64_t c = 0; c < s[0]; ++c)
          for (int64_t oy = 0; oy < s[1]; ++oy)
            for (int64_t ox = 0; ox < s[2]; ++ox) {
              double v = max ? -std::numeric_limits<double>::infinity() : 0.0;
              for (int64_t a = 0; a < n.kernel[0]; ++a)
                for (int64_t bb = 0; bb < n.kernel[1]; ++bb) {
                  const int64_t yy = oy * n.stride[0] - n.padding[0] + a,
                                xx = ox * n.stride[1] - n.padding[1] + bb;
                  if (yy < 0 || yy >= is[1] || xx < 0 || xx >= is[2]) continue;
                  const double u = (*in)[static_cast<std::size_t>((c * is[1] + yy) * is[2] + xx)];
                  v = max ? std::max(v, u) : v + u;
                }
              y[static_cast<std::size_t>((c * s[1] + oy) * s[2] + ox)] =
                  max ? v : v / static_cast<double>(n.kernel[0] * n.kernel[1]);
            }
        break;
      }
      case Op::global_avg_pool:
        for (int64_t c = 0; c < s[0]; ++c) {
          double v = 0;
          for (int64_t k = 0; k < is[1] * is[2]; ++k)
            v += (*in)[static_cast<std::size_t>(c * is[1] * is[2] + k)];
          y[static_cast<std::size_t>(c)] = v / static_cast<double>(is[1] * is[2]);
        }
        break;
      case Op::flatten:
        y = *in;
        break;
      case Op::add: {
        const auto& other = out[static_cast<std::size_t>(n.inputs[1])];
        for (int64_t k = 0; k < size; ++k)
          y[static_cast<std::size_t>(k)] =
              (*in)[static_cast<std::size_t>(k)] + other[static_cast<std::size_t>(k)];
        break;
      }
    }
  }
  return out;
}

// The same at a model's own (float) values.
inline std::vector<std::vector<double>> reference_forward(const GraphModel& m, const float* x,
                                                          const std::vector<BnStats>* stats = nullptr) {
  const std::vector<double> params(m.params.begin(), m.params.end()),
      buffers(m.buffers.begin(), m.buffers.end());
  return reference_forward(m.graph, params.data(), buffers.data(), x, stats);
}

}  // namespace modeconn::test
