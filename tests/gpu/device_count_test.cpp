// What the CUDA runtime says about devices reaches the user: the count, and with none, the runtime's own
// reason (a driver too old for the toolkit must not read as "no device"). Needs no device itself.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <string>

#include "modeconn/backend.hpp"

namespace modeconn {
namespace {

TEST(CudaDevices, CountAndReasonAreTheRuntimes) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  (void)cudaGetLastError();
  if (e == cudaSuccess && n > 0) {
    EXPECT_EQ(cuda_device_count(), n);
    EXPECT_EQ(cuda_unusable_reason(), "");
    return;
  }
  EXPECT_EQ(cuda_device_count(), 0);
  const std::string why = cuda_unusable_reason();
  EXPECT_FALSE(why.empty());
  // Without the driver library the module is never loaded (that check comes first and says so).
  if (e != cudaSuccess && e != cudaErrorNoDevice && why.find("libcuda.so.1 not found") == std::string::npos) {
    EXPECT_NE(why.find(cudaGetErrorName(e)), std::string::npos) << why;
  }
}

}  // namespace
}  // namespace modeconn
