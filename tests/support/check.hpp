// The one tolerance rule of the tests: |a − b| ≤ atol + rtol·|ref|, and a non-finite value always fails.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

namespace modeconn::test {

inline ::testing::AssertionResult close(double actual, double reference, double rtol, double atol = 0.0) {
  if (!std::isfinite(actual) || !std::isfinite(reference))
    return ::testing::AssertionFailure()
           << "non-finite value: actual " << actual << ", reference " << reference;
  const double diff = std::abs(actual - reference);
  if (diff <= atol + rtol * std::abs(reference)) return ::testing::AssertionSuccess();
  std::ostringstream msg;
  msg.precision(17);
  msg << "actual " << actual << " vs reference " << reference << ": |diff| " << diff << " > " << atol << " + "
      << rtol << "·|ref|";
  return ::testing::AssertionFailure() << msg.str();
}

}  // namespace modeconn::test
