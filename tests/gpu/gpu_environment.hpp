// Without a usable CUDA device every GPU test is reported as skipped, not passed.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>

#include "modeconn/backend.hpp"

namespace modeconn::test {

// Says once, up front, whether the GPU tests will run. (It does not skip them itself: GoogleTest 1.12 counts
// tests skipped by an environment as passed; the GpuTest fixture below skips each one.)
class GpuEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const int n = cuda_device_count();
    std::printf(n ? "GPU tests: %d CUDA device(s)\n"
                  : "GPU tests: no usable CUDA device, every GPU test is skipped\n",
                n);
  }
};

// Every GPU test derives from this: without a device it is skipped (ctest then reports it as skipped).
class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no usable CUDA device";
  }
};

template <typename T>
class GpuTestWithParam : public GpuTest, public ::testing::WithParamInterface<T> {};

}  // namespace modeconn::test
