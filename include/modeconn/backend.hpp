// The compute interface: the CPU and CUDA backends implement it; callers never know which runs.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "modeconn/dataset.hpp"
#include "modeconn/path.hpp"

namespace modeconn {

// Statistics of two models' post-activations at one hidden layer over a split, in float64.
struct ActivationStats {
  std::vector<double> mean_a, std_a, max_a;  // per unit of A (max: the largest activation seen)
  std::vector<double> mean_b, std_b, max_b;
  std::vector<double> covariance;  // units(A) × units(B), row-major
};

// What every backend accumulates over the rows (in float64) to make ActivationStats.
struct ActivationSums {
  int64_t rows = 0;
  std::vector<double> sum_a, sq_a, max_a, sum_b, sq_b, max_b;  // per unit
  std::vector<double> cross;                                   // Σ_rows a·bᵀ, units(A) × units(B)
  ActivationStats finish() const;
};

// Mean loss and error at one point (classification: cross-entropy and fraction misclassified;
// regression: mean squared error and mean absolute error, both over every output element).
struct PointMetrics {
  double loss = 0;
  double error = 0;
};

struct TrainOptions;  // modeconn/train.hpp
class GraphRunner;    // modeconn/graph_eval.hpp

// Control points trained in place where the backend computes: the trained points, the optimizer's state and
// the gradient stay in the backend's memory between steps (on a GPU, nothing crosses the bus but the
// minibatch's row numbers and the loss).
class Trainer {
 public:
  virtual ~Trainer() = default;
  // One step on minibatch `rows` at φ = Σ_k coef[k]·θ_k: the mean loss and its gradient g at φ; each trained
  // θ_k gets the gradient c_k·g, with weight decay measured at c_k·φ; then the optimizer's update. Returns
  // the minibatch's mean loss and error (before the update).
  virtual PointMetrics step(std::span<const double> coef, std::span<const int64_t> rows) = 0;
  // Copies the trained control points back into `path`.
  virtual void read(Path& path) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // Loss and error of the model at every t of the path on the split, in one pass over the data.
  std::vector<PointMetrics> evaluate(const Path& path, std::span<const double> ts, const Split& split);
  // The same at points given by their coefficients over the path's control points, θ = Σ_k coef[k]·θ_k (one
  // vector of num_control_points() per point): any affine combination, such as a plane's points, which
  // reach outside the control points' hull.
  // This and the next two default to the MLP's layer graph on graph_runner() (mlp_on_graph_runner.cpp).
  virtual std::vector<PointMetrics> evaluate_at(const Path& path, std::span<const std::vector<double>> coefs,
                                                const Split& split);

  // Post-activation statistics of hidden layer `layer` of A and B (same shape) over the split, one pass.
  virtual ActivationStats activation_stats(const Model& a, const Model& b, const Split& split,
                                           std::size_t layer);

  // The model's outputs (logits) for split rows [first, first + count), row-major.
  virtual std::vector<float> outputs(const Model& model, const Split& split, int64_t first, int64_t count);

  // Mean loss and error over split rows `rows` at `params`, and the loss's gradient (written to `grad`,
  // num_params values).
  virtual PointMetrics metrics_and_grad(const Architecture& arch, std::span<const float> params,
                                        const Split& split, std::span<const int64_t> rows,
                                        std::span<float> grad) = 0;
  // The mean loss alone.
  double loss_and_grad(const Architecture& arch, std::span<const float> params, const Split& split,
                       std::span<const int64_t> rows, std::span<float> grad) {
    return metrics_and_grad(arch, params, split, rows, grad).loss;
  }

  // c = alpha·op(a)·op(b) + beta·c for row-major float32 matrices in host memory (op(a) is m×k, op(b) k×n,
  // c m×n, all contiguous): the products host algorithms need, such as weight matching's similarities. This
  // default calls OpenBLAS; the CUDA backend runs them on the device.
  virtual void product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const float* a, const float* b, float beta, float* c);

  // A trainer of control points [first, last) of `path` on `split` (a model is a one-point path, first 0 and
  // last 1). This default keeps everything on the host and calls loss_and_grad at every step.
  virtual std::unique_ptr<Trainer> make_trainer(const Path& path, std::size_t first, std::size_t last,
                                                const Split& split, const TrainOptions& options);

  // What runs layer graphs beyond MLPs on this backend; null where the backend does not run them yet.
  virtual std::unique_ptr<GraphRunner> graph_runner();
};

// A single model's loss and error on a split (a one-point path).
PointMetrics evaluate_model(Backend& backend, const Model& model, const Split& split);

std::unique_ptr<Backend> make_cpu_backend();

// CUDA devices usable by this build (0 when it was built without CUDA, or there is no driver or device).
int cuda_device_count();
// Why no CUDA device can be used, in a few words ("" when one can).
std::string cuda_unusable_reason();
bool built_with_cuda();
// Whether this build's CUDA backend runs on the CPU emulation (tests/emulation): `--device auto` then keeps
// to the CPU backend, and only `--device cuda` asks for the emulated device.
bool cuda_emulated();
// The CUDA backend on device 0; FP32 GEMMs, or TF32 tensor-core GEMMs when `tf32`.
std::unique_ptr<Backend> make_cuda_backend(bool tf32);
// Tests: make a CUDA backend fill its intermediate buffers with NaN first (no effect on other backends).
void set_cuda_poison(Backend& backend, bool on);

enum class DeviceChoice { automatic, cpu, cuda };
DeviceChoice parse_device(std::string_view name);
// Makes the backend for a device choice; `announce` receives a line saying which was chosen and why.
std::unique_ptr<Backend> make_backend(DeviceChoice choice, bool tf32, std::string* announce);

// Sets the threads of the CPU backend's OpenMP loops and of OpenBLAS; 0 means default_cpu_threads().
void set_cpu_threads(int threads);
// The cores this process may use: its CPU affinity, and at most SLURM_CPUS_PER_TASK when SLURM set it.
int default_cpu_threads();
int cpu_threads();

}  // namespace modeconn
