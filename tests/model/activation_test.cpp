// MODECONN_HD activation math on the host: values against float64 formulas, derivatives against differences.
#include "modeconn/activation.hpp"

#include <gtest/gtest.h>

#include "support/check.hpp"
#include "support/reference_mlp.hpp"

namespace modeconn {
namespace {

TEST(HdMath, ActivationsAndDerivativesOnTheHost) {
  for (Activation act : {Activation::relu, Activation::leaky_relu, Activation::tanh, Activation::sigmoid,
                         Activation::gelu, Activation::softplus, Activation::identity}) {
    for (int i = -300; i <= 300; ++i) {
      const double x = i * 0.0913 + 0.005;  // never exactly on a kink
      const float y = activate(act, static_cast<float>(x));
      EXPECT_TRUE(test::close(y, test::ref_activate(act, static_cast<float>(x)), 3e-6, 1e-7))
          << activation_name(act) << " " << x;
      const double h = 1e-5;
      const double fd = (test::ref_activate(act, x + h) - test::ref_activate(act, x - h)) / (2 * h);
      EXPECT_TRUE(test::close(activate_grad(act, static_cast<float>(x), y), fd, 1e-4, 1e-5))
          << activation_name(act) << " " << x;
    }
  }
}

}  // namespace
}  // namespace modeconn
