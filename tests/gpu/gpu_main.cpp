// The GPU tests' main: registers the environment that skips them all when there is no device.
#include <gtest/gtest.h>

#include "gpu/gpu_environment.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new modeconn::test::GpuEnvironment);
  return RUN_ALL_TESTS();
}
