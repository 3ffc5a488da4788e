// Comparisons the GPU tests share: a CUDA result against the CPU backend's on the same inputs.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "modeconn/backend.hpp"
#include "support/check.hpp"

namespace modeconn::test {

// Path metrics at every t: losses to rtol, errors to rtol or two rows' worth of misclassification (float32
// logits that differ in the last bit can flip an argmax between near-equal classes).
inline void expect_same_metrics(const std::vector<PointMetrics>& got, const std::vector<PointMetrics>& want,
                                std::span<const double> ts, const Split& split, double rtol,
                                const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double error_atol =
      split.task == Task::classification ? 2.01 / static_cast<double>(split.rows) : 1e-6;
  for (std::size_t p = 0; p < want.size(); ++p) {
    EXPECT_TRUE(close(got[p].loss, want[p].loss, rtol, 1e-7)) << what << ", loss at t = " << ts[p];
    EXPECT_TRUE(close(got[p].error, want[p].error, rtol, error_atol)) << what << ", error at t = " << ts[p];
  }
}

// Two vectors elementwise, to rtol and atol_scale times the largest magnitude of the reference.
template <typename T>
void expect_close_vectors(const std::vector<T>& got, const std::vector<T>& want, double rtol,
                          double atol_scale, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0;
  for (T v : want) scale = std::max(scale, std::abs(static_cast<double>(v)));
  for (std::size_t i = 0; i < want.size(); ++i)
    ASSERT_TRUE(close(static_cast<double>(got[i]), static_cast<double>(want[i]), rtol, atol_scale * scale))
        << what << " element " << i;
}

}  // namespace modeconn::test
