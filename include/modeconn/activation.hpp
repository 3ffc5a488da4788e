// Hidden-unit activations and their derivatives, written once for host and device.
#pragma once

#include <math.h>

#include <string>
#include <string_view>

#include "modeconn/hd.hpp"

namespace modeconn {

enum class Activation { relu, leaky_relu, tanh, sigmoid, gelu, softplus, identity };

// Parses an activation name; throws a usage error naming `where` for an unknown one.
Activation parse_activation(std::string_view name, const std::string& where);
std::string_view activation_name(Activation a);

// Odd activations (f(-x) = -f(x)) give each hidden unit a sign symmetry.
constexpr bool is_odd(Activation a) { return a == Activation::tanh || a == Activation::identity; }

inline constexpr float kLeakyReluSlope = 0.01f;    // PyTorch's default negative_slope
inline constexpr float kSoftplusThreshold = 20.f;  // PyTorch's default: linear above it

MODECONN_HD float activate(Activation a, float x) {
  switch (a) {
    case Activation::relu:
      return x > 0.f ? x : 0.f;
    case Activation::leaky_relu:
      return x > 0.f ? x : kLeakyReluSlope * x;
    case Activation::tanh:
      return tanhf(x);
    case Activation::sigmoid:
      return 1.f / (1.f + expf(-x));
    case Activation::gelu:
      return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    case Activation::softplus:
      return x > kSoftplusThreshold ? x : log1pf(expf(x));
    case Activation::identity:
      return x;
  }
  return x;
}

// d activate / dx at pre-activation x, given y = activate(x) (saves recomputing it).
MODECONN_HD float activate_grad(Activation a, float x, float y) {
  switch (a) {
    case Activation::relu:
      return x > 0.f ? 1.f : 0.f;
    case Activation::leaky_relu:
      return x > 0.f ? 1.f : kLeakyReluSlope;
    case Activation::tanh:
      return 1.f - y * y;
    case Activation::sigmoid:
      return y * (1.f - y);
    case Activation::gelu: {
      const float cdf = 0.5f * (1.f + erff(x * 0.70710678118654752f));
      const float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
      return cdf + x * pdf;
    }
    case Activation::softplus:
      return x > kSoftplusThreshold ? 1.f : 1.f / (1.f + expf(-x));
    case Activation::identity:
      return 1.f;
  }
  return 1.f;
}

}  // namespace modeconn
