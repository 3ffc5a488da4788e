// Device choice and the CUDA module: loaded only on demand, found beside the core library, and its errors
// arrive as modeconn errors.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "modeconn/backend.hpp"
#include "modeconn/cuda_module.hpp"
#include "modeconn/error.hpp"

namespace modeconn {
namespace {

bool mapped(const std::string& library) {
  std::ifstream maps("/proc/self/maps");
  std::stringstream ss;
  ss << maps.rdbuf();
  return ss.str().find(library) != std::string::npos;
}

TEST(Device, ParsesChoicesAndRefusesOthers) {
  EXPECT_EQ(parse_device("auto"), DeviceChoice::automatic);
  EXPECT_EQ(parse_device("cpu"), DeviceChoice::cpu);
  EXPECT_EQ(parse_device("cuda"), DeviceChoice::cuda);
  EXPECT_THROW(parse_device("gpu"), Error);
  std::string announce;
  EXPECT_NE(make_backend(DeviceChoice::cpu, false, &announce), nullptr);
  EXPECT_EQ(announce.rfind("device: cpu", 0), 0u) << announce;
}

TEST(CudaModule, IsLoadedOnlyWhenAskedFor) {
  // A process that never asks for CUDA does not carry cuBLAS: that was most of every command's start-up.
  auto cpu = make_cpu_backend();
  EXPECT_FALSE(mapped("libcublas")) << "cuBLAS loaded by a CPU-only process";
  if (!built_with_cuda()) {
    EXPECT_EQ(cuda_device_count(), 0);
    EXPECT_THROW(make_cuda_backend(false), Error);
    return;
  }
  Dl_info info{};
  ASSERT_NE(dladdr(reinterpret_cast<void*>(&cuda_device_count), &info), 0);
  const auto module = std::filesystem::path(info.dli_fname).parent_path() / MODECONN_CUDA_MODULE_FILE;
  EXPECT_TRUE(std::filesystem::exists(module)) << module;

  // Asking for the backend loads the module and runs its code: a backend on a GPU machine, and elsewhere an
  // error raised inside the module (no device), not a failure to load it.
  try {
    auto gpu = make_cuda_backend(false);
    EXPECT_GT(cuda_device_count(), 0);
    EXPECT_EQ(gpu->name().rfind("cuda", 0), 0u) << gpu->name();
  } catch (const Error& e) {
    EXPECT_EQ(cuda_device_count(), 0) << e.what();
    EXPECT_EQ(std::string(e.what()).find("could not be loaded"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(mapped(MODECONN_CUDA_MODULE_FILE));
  EXPECT_EQ(cuda_unusable_reason().empty(), cuda_device_count() > 0) << cuda_unusable_reason();
}

}  // namespace
}  // namespace modeconn
