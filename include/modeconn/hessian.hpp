// The curvature of the training loss at a point of parameter space: exact Hessian-vector products
// (Pearlmutter's R-operator, forward-over-reverse), the extremal eigenvalues by Lanczos with full
// reorthogonalisation, and the trace by Hutchinson's estimator, as PyHessian computes them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "modeconn/dataset.hpp"
#include "modeconn/model.hpp"

namespace modeconn {

// H·v for the mean loss of an MLP over the first `rows` rows of a split, at fixed parameters. The forward and
// backward pass at θ run once, on construction; each product is then one R-forward and one R-backward pass
// (three GEMMs per layer more than a gradient). float32 products, float64 vectors.
class MlpHessian {
 public:
  MlpHessian(const Architecture& arch, std::span<const float> params, const Split& split, int64_t rows);
  ~MlpHessian();
  MlpHessian(const MlpHessian&) = delete;
  MlpHessian& operator=(const MlpHessian&) = delete;

  int64_t size() const;
  double loss() const;  // the mean loss at θ over the rows
  std::vector<double> gradient() const;
  // H·v. Not for concurrent calls on one object: the products share buffers.
  std::vector<double> apply(std::span<const double> v) const;

 private:
  struct State;
  struct Workspace;
  std::unique_ptr<State> s_;
  std::unique_ptr<Workspace> w_;
};

// Extremal eigenpairs' values of a symmetric operator of dimension n, by Lanczos with full
// reorthogonalisation from a random start (`seed`): the `top` largest (descending) and the `bottom` smallest
// (ascending), each with its Ritz residual ‖H·y − λ·y‖. Stops when all of them are below `tolerance`·|λ|max,
// after at most `max_steps` steps, or when the Krylov space is exhausted (then they are exact).
struct LanczosResult {
  std::vector<double> top, top_residual;
  std::vector<double> bottom, bottom_residual;
  int steps = 0;
  bool converged = false;
};
using Operator = std::function<std::vector<double>(std::span<const double>)>;
LanczosResult lanczos_extremes(const Operator& h, int64_t n, int top, int bottom, int max_steps,
                               double tolerance, uint64_t seed);

// Hutchinson's trace estimate: the mean of zᵀHz over `probes` Rademacher vectors z, and its standard error.
struct TraceEstimate {
  double mean = 0, standard_error = 0;
  int probes = 0;
};
TraceEstimate hutchinson_trace(const Operator& h, int64_t n, int probes, uint64_t seed);

// Eigenvalues (ascending) and orthonormal eigenvectors (columns, row-major n × n) of a symmetric n × n
// matrix, by cyclic Jacobi rotations in float64.
void symmetric_eigen(std::vector<double> a, int n, std::vector<double>& values, std::vector<double>& vectors);

// What `modeconn hessian` reports at one point.
struct HessianPoint {
  double t = -1;  // along a path; negative at a single model
  std::vector<double> top, bottom, top_residual, bottom_residual;
  int lanczos_steps = 0;
  bool converged = false;
  TraceEstimate trace;
  double loss = 0;
  double param_norm2 = 0;  // ‖θ‖²
  int64_t rows = 0, params = 0;
  int negative() const;  // eigenvalues below 0 among `bottom`
};
struct HessianReport {
  std::string model, a, b, data, architecture, device;
  bool path = false;
  std::string at;  // "peak" when the path's t came from the barrier's peak
  std::vector<HessianPoint> points;
  double seconds = 0;
};
std::string hessian_report_json(const HessianReport& report);
std::string hessian_report_table(const HessianReport& report);

}  // namespace modeconn
