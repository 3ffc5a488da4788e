// How the emulation reports: misuse aborts with a message and the stack; API errors are kept for
// cudaGetLastError; error codes have their CUDA names.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "emulation.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

namespace cuda_emulation {
namespace {
thread_local cudaError_t last_error = cudaSuccess;
}

void fail(const std::string& message) {
  std::fprintf(stderr, "modeconn CUDA emulation: %s\n", message.c_str());
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_print_stack_trace();
#endif
  std::fflush(stderr);
  std::abort();
}

std::string kernel_name(const void* kernel) {
#if defined(__SANITIZE_ADDRESS__)
  // The sanitizer's symbolizer reads the symbol table, so it names kernels in anonymous namespaces too.
  char name[512] = {};
  // It symbolizes the instruction before a return address, so it is given one byte into the function.
  __sanitizer_symbolize_pc(static_cast<char*>(const_cast<void*>(kernel)) + 1, "%f", name, sizeof name);
  if (name[0] != '\0' && std::string(name) != "<null>") return name;
#endif
  Dl_info info{};
  if (dladdr(kernel, &info) != 0 && info.dli_sname != nullptr && info.dli_saddr == kernel)
    return info.dli_sname;
  std::ostringstream s;
  s << "kernel at " << kernel;
  return s.str();
}

std::string describe(const void* p) {
  std::ostringstream s;
  s << p;
  return s.str();
}

std::recursive_mutex& api_mutex() {
  static std::recursive_mutex m;
  return m;
}

cudaError_t record(cudaError_t e) {
  if (e != cudaSuccess) last_error = e;
  return e;
}

}  // namespace cuda_emulation

extern "C" {

cudaError_t cudaGetLastError(void) {
  const cudaError_t e = cuda_emulation::last_error;
  cuda_emulation::last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError(void) { return cuda_emulation::last_error; }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError:
      return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer:
      return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection:
      return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInsufficientDriver:
      return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice:
      return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice:
      return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle:
      return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady:
      return "cudaErrorNotReady";
    case cudaErrorIllegalAddress:
      return "cudaErrorIllegalAddress";
    case cudaErrorLaunchFailure:
      return "cudaErrorLaunchFailure";
    case cudaErrorNotSupported:
      return "cudaErrorNotSupported";
    case cudaErrorUnknown:
      return "cudaErrorUnknown";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInitializationError:
      return "initialization error";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer:
      return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection:
      return "invalid copy direction for memcpy";
    case cudaErrorInsufficientDriver:
      return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice:
      return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice:
      return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle:
      return "invalid resource handle";
    case cudaErrorNotReady:
      return "device not ready";
    case cudaErrorIllegalAddress:
      return "an illegal memory access was encountered";
    case cudaErrorLaunchFailure:
      return "unspecified launch failure";
    case cudaErrorNotSupported:
      return "operation not supported";
    case cudaErrorUnknown:
      return "unknown error";
  }
  return "unknown error";
}

}  // extern "C"
