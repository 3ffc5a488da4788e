// Picks the backend for --device and sets the CPU backend's threads.
#include <cblas.h>
#include <omp.h>

#include "modeconn/backend.hpp"
#include "modeconn/error.hpp"

namespace modeconn {

DeviceChoice parse_device(std::string_view name) {
  if (name == "auto") return DeviceChoice::automatic;
  if (name == "cpu") return DeviceChoice::cpu;
  if (name == "cuda") return DeviceChoice::cuda;
  throw usage_error("--device: unknown device '" + std::string(name) + "' (auto, cpu, cuda)");
}

std::unique_ptr<Backend> make_backend(DeviceChoice choice, std::string* announce) {
  switch (choice) {
    case DeviceChoice::cuda:
      throw usage_error("--device cuda: this build of modeconn has no CUDA backend; use --device cpu or auto");
    case DeviceChoice::automatic:
      if (announce) *announce = "device: cpu, " + std::to_string(cpu_threads()) + " threads (no CUDA backend in this build)";
      break;
    case DeviceChoice::cpu:
      if (announce) *announce = "device: cpu, " + std::to_string(cpu_threads()) + " threads";
      break;
  }
  return make_cpu_backend();
}

void set_cpu_threads(int threads) {
  if (threads < 0) throw usage_error("--threads must be positive, not " + std::to_string(threads));
  if (threads == 0) return;
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

int cpu_threads() { return omp_get_max_threads(); }

}  // namespace modeconn
