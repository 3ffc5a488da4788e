// Picks the backend for --device and sets the CPU backend's threads.
#include <cblas.h>
#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>

#include "modeconn/backend.hpp"
#include "modeconn/error.hpp"

namespace modeconn {

std::vector<PointMetrics> Backend::evaluate(const Path& path, std::span<const double> ts,
                                            const Split& split) {
  std::vector<std::vector<double>> coefs;
  coefs.reserve(ts.size());
  for (double t : ts) coefs.push_back(path.coefficients(t));
  return evaluate_at(path, coefs, split);
}

PointMetrics evaluate_model(Backend& backend, const Model& model, const Split& split) {
  const double t = 0.0;
  return backend.evaluate(Path{PathKind::linear, model.arch, {model.params}}, {&t, 1}, split)[0];
}

DeviceChoice parse_device(std::string_view name) {
  if (name == "auto") return DeviceChoice::automatic;
  if (name == "cpu") return DeviceChoice::cpu;
  if (name == "cuda") return DeviceChoice::cuda;
  throw usage_error("unknown device '" + std::string(name) + "' (auto, cpu, cuda)");
}

bool built_with_cuda() {
#ifdef MODECONN_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

bool cuda_emulated() {
#ifdef MODECONN_CUDA_EMULATION
  return true;
#else
  return false;
#endif
}

std::unique_ptr<Backend> make_backend(DeviceChoice choice, bool tf32, std::string* announce) {
  const std::string cpu = "cpu, " + std::to_string(cpu_threads()) + " threads";
  if (choice == DeviceChoice::cpu) {
    if (announce) *announce = "device: " + cpu;
    return make_cpu_backend();
  }
  // The emulated device is for tests: it runs, checked and slowly, on the CPU. Only --device cuda asks for
  // it.
  if (cuda_emulated() && choice == DeviceChoice::automatic) {
    if (announce)
      *announce =
          "device: " + cpu + " (this build's CUDA backend is the CPU emulation; --device cuda runs it)";
    return make_cpu_backend();
  }
  if (cuda_device_count() == 0) {  // also a build without CUDA; the reason says which
    const std::string why = cuda_unusable_reason();
    if (choice == DeviceChoice::cuda) throw usage_error("no usable CUDA device (" + why + ")");
    if (announce) *announce = "device: " + cpu + " (" + why + ")";
    return make_cpu_backend();
  }
  auto backend = make_cuda_backend(tf32);
  if (announce) *announce = "device: " + backend->name();
  return backend;
}

int default_cpu_threads() {
  // The cores this process may run on (a cgroup or taskset narrows them), and no more than SLURM gave the
  // task: with SLURM's task/none plugin the affinity mask is the whole node's.
  int cores = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
  if (cores <= 0) cores = omp_get_num_procs();
  if (const char* slurm = std::getenv("SLURM_CPUS_PER_TASK"); slurm && *slurm) {
    const long n = std::strtol(slurm, nullptr, 10);
    if (n > 0 && n < cores) cores = static_cast<int>(n);
  }
  return std::max(cores, 1);
}

void set_cpu_threads(int threads) {
  if (threads < 0)
    throw usage_error("a thread count is 0 (every core this process may use) or more, not " +
                      std::to_string(threads));
  if (threads == 0) threads = default_cpu_threads();
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

int cpu_threads() { return omp_get_max_threads(); }

}  // namespace modeconn
