// Finds and loads the CUDA backend module on first use. It sits beside the core library (build/lib, or the
// lib/ folder of a shipped build); the driver is probed first, so a machine without one never loads cuBLAS.
#include "modeconn/cuda_module.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <mutex>

#include "modeconn/backend.hpp"
#include "modeconn/error.hpp"

namespace modeconn {
namespace {

#ifdef MODECONN_HAVE_CUDA

// Loaded once per process and never unloaded: backends it made may live until exit.
struct CudaModule {
  std::string error;  // why it could not be loaded; empty when it was
  modeconn_cuda_make_backend_fn* make_backend = nullptr;
  modeconn_cuda_set_poison_fn* set_poison = nullptr;
  int devices = 0;        // what the CUDA runtime found, asked once
  std::string no_device;  // the runtime's reason when it found none
};

std::filesystem::path core_library_folder() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&cuda_device_count), &info) == 0 || info.dli_fname == nullptr) return {};
  return std::filesystem::path(info.dli_fname).parent_path();
}

CudaModule load_module() {
  CudaModule m;
  const std::filesystem::path beside = core_library_folder() / MODECONN_CUDA_MODULE_FILE;
  void* handle = dlopen(beside.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr)
    handle = dlopen(MODECONN_CUDA_MODULE_FILE, RTLD_NOW | RTLD_LOCAL);  // the loader's path
  if (handle == nullptr) {
    const char* why = dlerror();
    m.error = why ? why : "cannot load " MODECONN_CUDA_MODULE_FILE;
    return m;
  }
  auto* device_count =
      reinterpret_cast<modeconn_cuda_device_count_fn*>(dlsym(handle, "modeconn_cuda_device_count"));
  m.make_backend =
      reinterpret_cast<modeconn_cuda_make_backend_fn*>(dlsym(handle, "modeconn_cuda_make_backend"));
  m.set_poison = reinterpret_cast<modeconn_cuda_set_poison_fn*>(dlsym(handle, "modeconn_cuda_set_poison"));
  if (!device_count || !m.make_backend || !m.set_poison) {
    m.error = beside.string() + ": not a modeconn CUDA module (entry points missing)";
    return m;
  }
  char why[512] = "";
  m.devices = device_count(why, sizeof why);
  if (m.devices == 0) m.no_device = why[0] ? why : "no CUDA device";
  return m;
}

const CudaModule& module() {
  static std::once_flag once;
  static CudaModule m;
  std::call_once(once, [] { m = load_module(); });
  return m;
}

// Without the CUDA driver library there can be no device; checking costs a failed dlopen, not cuBLAS's load.
// The emulated build needs no driver.
bool driver_present() {
#ifdef MODECONN_CUDA_EMULATION
  return true;
#endif
  static const bool present = [] {
    void* h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (h == nullptr) return false;
    dlclose(h);
    return true;
  }();
  return present;
}

#endif

}  // namespace

#ifdef MODECONN_HAVE_CUDA

int cuda_device_count() {
  if (!driver_present()) return 0;
  const CudaModule& m = module();
  return m.error.empty() ? m.devices : 0;
}

std::string cuda_unusable_reason() {
  if (!driver_present()) return "no CUDA driver: libcuda.so.1 not found";
  const CudaModule& m = module();
  if (!m.error.empty()) return "the CUDA backend could not be loaded: " + m.error;
  return m.no_device;
}

std::unique_ptr<Backend> make_cuda_backend(bool tf32) {
  const CudaModule& m = module();
  if (!m.error.empty()) throw usage_error("the CUDA backend could not be loaded: " + m.error);
  return std::unique_ptr<Backend>(m.make_backend(tf32));
}

void set_cuda_poison(Backend& backend, bool on) {
  const CudaModule& m = module();
  if (m.error.empty()) m.set_poison(&backend, on);
}

#else

int cuda_device_count() { return 0; }
std::string cuda_unusable_reason() { return "this build of modeconn has no CUDA backend"; }
std::unique_ptr<Backend> make_cuda_backend(bool) {
  throw usage_error("this build of modeconn has no CUDA backend (the CPU backend is the one there is)");
}
void set_cuda_poison(Backend&, bool) {}

#endif

}  // namespace modeconn
