// Kernel launches and the device they run on: launch shapes checked against the hardware's limits, pointer
// arguments against device memory, then the grid queued on its stream. One device, with the properties of a
// data-centre GPU and the memory MODECONN_EMULATE_MEMORY gives it.
#include <cstdlib>
#include <cstring>
#include <string>

#include "emulation.hpp"

namespace cuda_emulation {
namespace {

constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr unsigned kMaxBlockDim[3] = {1024, 1024, 64};
constexpr unsigned kMaxGridDim[3] = {2147483647u, 65535, 65535};

bool valid_shape(dim3 grid, dim3 block) {
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x == 0 || block.y == 0 || block.z == 0) return false;
  if (block.x > kMaxBlockDim[0] || block.y > kMaxBlockDim[1] || block.z > kMaxBlockDim[2]) return false;
  if (uint64_t{block.x} * block.y * block.z > kMaxThreadsPerBlock) return false;
  return grid.x <= kMaxGridDim[0] && grid.y <= kMaxGridDim[1] && grid.z <= kMaxGridDim[2];
}

// MODECONN_EMULATE_DEVICE_ERROR names the error cudaGetDeviceCount and cudaSetDevice return, as a machine
// without a device or with a driver too old for the runtime would.
cudaError_t device_error() {
  static const cudaError_t e = [] {
    const char* v = std::getenv("MODECONN_EMULATE_DEVICE_ERROR");
    if (v == nullptr || *v == '\0') return cudaSuccess;
    for (cudaError_t c : {cudaErrorNoDevice, cudaErrorInsufficientDriver, cudaErrorInitializationError})
      if (std::strcmp(v, cudaGetErrorName(c)) == 0) return c;
    fail(std::string("MODECONN_EMULATE_DEVICE_ERROR='") + v +
         "': expected cudaErrorNoDevice, cudaErrorInsufficientDriver or cudaErrorInitializationError");
  }();
  return e;
}

}  // namespace

cudaError_t enqueue_kernel(const void* kernel, dim3 grid, dim3 block, std::size_t shared_bytes,
                           cudaStream_t stream, std::vector<PointerArgument> pointers,
                           std::function<void()> thread) {
  std::lock_guard lock(api_mutex());
  Stream* s = stream_of(stream);
  if (s == nullptr) return record(cudaErrorInvalidResourceHandle);
  if (!valid_shape(grid, block)) return record(cudaErrorInvalidConfiguration);
  if (shared_bytes != 0)
    fail("kernel " + kernel_name(kernel) +
         ": dynamic shared memory is not modelled; declare __shared__ arrays of fixed size");
  std::vector<const void*> addresses;
  for (const PointerArgument& p : pointers) {
    if (p.address != nullptr && find_allocation(p.address) == nullptr)
      fail("kernel " + kernel_name(kernel) + ": argument " + std::to_string(p.index) + " is " +
           describe(p.address) +
           ", which is not device memory (a host pointer, or device memory already freed)");
    addresses.push_back(p.address);
  }
  enqueue(s, Op{OpKind::kernel, [kernel, grid, block, addresses, thread = std::move(thread)] {
                  DeviceAccess access(addresses, [kernel] { return "kernel " + kernel_name(kernel); });
                  run_grid(grid, block, thread);
                }});
  return cudaSuccess;
}

}  // namespace cuda_emulation

using namespace cuda_emulation;

extern "C" {

cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return record(cudaErrorInvalidValue);
  *count = 0;
  if (device_error() != cudaSuccess) return record(device_error());
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (device_error() != cudaSuccess) return record(device_error());
  return device == 0 ? cudaSuccess : record(cudaErrorInvalidDevice);
}

cudaError_t cudaGetDevice(int* device) {
  if (device == nullptr) return record(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (prop == nullptr) return record(cudaErrorInvalidValue);
  if (device != 0) return record(cudaErrorInvalidDevice);
  *prop = cudaDeviceProp{};
  std::strncpy(prop->name, "modeconn CUDA emulation on the CPU", sizeof prop->name - 1);
  prop->totalGlobalMem = device_memory_total();
  prop->sharedMemPerBlock = 48 * 1024;
  prop->regsPerBlock = 65536;
  prop->warpSize = warpSize;
  prop->maxThreadsPerBlock = static_cast<int>(kMaxThreadsPerBlock);
  for (int i = 0; i < 3; ++i) {
    prop->maxThreadsDim[i] = static_cast<int>(kMaxBlockDim[i]);
    prop->maxGridSize[i] = static_cast<int>(kMaxGridDim[i]);
  }
  prop->totalConstMem = 64 * 1024;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 1;
  prop->memoryBusWidth = 64;
  prop->l2CacheSize = 0;
  prop->maxThreadsPerMultiProcessor = 2048;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
  if (version == nullptr) return record(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (version == nullptr) return record(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}

}  // extern "C"
