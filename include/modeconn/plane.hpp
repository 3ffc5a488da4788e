// Two-dimensional slices of the loss landscape. Every grid point is an affine combination of three control
// points, so a backend evaluates the whole grid as it evaluates a path's points (one pass over the data, the
// first layer factorised over the three): the plane through three models (Garipov et al. 2018: A at the
// origin, the first axis towards B, the second the part of C − A orthogonal to it, distances in parameter
// space), or the plane around one model along two random directions scaled filter by filter to the model's
// own (Li et al. 2018).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "modeconn/backend.hpp"
#include "modeconn/graph.hpp"
#include "modeconn/model.hpp"
#include "modeconn/rng.hpp"

namespace modeconn {

// θ(α, β) = Σ_k c_k·P_k over the control points P_0, P_1, P_2, with c = base + α·along + β·across (the three
// coefficients of base sum to 1, those of along and across to 0, so every point is an affine combination).
struct PlaneMap {
  std::array<double, 3> base{1, 0, 0}, along{-1, 1, 0}, across{-1, 0, 1};
  std::vector<double> coefficients(double alpha, double beta) const;
};

// The plane through a, b and c (parameter vectors of one size), by Gram–Schmidt in float64: u = (b − a)/‖b −
// a‖, v = the part of c − a orthogonal to u, normalised; a at (0, 0), b at (‖b − a‖, 0), c at (⟨c − a, u⟩, ‖c
// − a − ⟨c − a, u⟩u‖). Throws a usage error naming the files when two coincide or the three are collinear
// (the second axis under 1e-6 of ‖c − a‖: the float32 rounding of the parameters).
struct ThreeModelPlane {
  PlaneMap map;
  std::array<std::array<double, 2>, 3> coords{};  // (α, β) of a, b, c
};
ThreeModelPlane plane_through(std::span<const float> a, std::span<const float> b, std::span<const float> c,
                              const std::array<std::string, 3>& names);

// The tensors of a model's parameters, as direction normalisation sees them and direction files store them:
// `rows` slices along the first dimension of `shape` (a linear layer's output units, a convolution's
// filters), or 0 for a one-dimensional tensor (a bias, BatchNorm's weight and bias).
struct ParamTensor {
  std::string name;
  int64_t offset = 0, size = 0, rows = 0;
  std::vector<int64_t> shape;
};
std::vector<ParamTensor> mlp_param_tensors(const Architecture& arch);
std::vector<ParamTensor> graph_param_tensors(const Graph& graph);

enum class DirectionNorm { filter, layer, none };
DirectionNorm parse_direction_norm(std::string_view name);
std::string_view direction_norm_name(DirectionNorm norm);

// Rescales a direction d for the model θ as Li et al. (2018) do. filter: each slice of each multi-dimensional
// tensor to the norm of θ's slice, d_f·‖θ_f‖/(‖d_f‖ + 1e-10); layer: each tensor to the norm of θ's; none: d
// as it is. One-dimensional tensors are set to 0 (biases and BatchNorm are not perturbed, their code's
// --xignore biasbn) or, with `perturb_bias_bn`, to θ's values (their code's default).
void normalize_direction(std::span<float> d, std::span<const float> theta,
                         const std::vector<ParamTensor>& tensors, DirectionNorm norm, bool perturb_bias_bn);

// `size` standard normal values (Box–Muller over the generator's uniforms).
std::vector<float> gaussian_direction(int64_t size, Rng& rng);

// n evenly spaced values from lo to hi, both included (n ≥ 2), or {lo} for n = 1.
std::vector<double> plane_axis(double lo, double hi, int n);

// What `modeconn plane` measured: the grid's metrics per split, and the marked points (the models).
struct PlaneMarker {
  std::string name, file;
  double alpha = 0, beta = 0;
  std::vector<PointMetrics> metrics;  // per split
};
struct PlaneReport {
  std::string kind;  // "models" (through three) or "directions" (around one)
  std::string data, architecture, device;
  std::vector<double> alpha, beta;       // the grid's axes
  std::vector<std::string> split_names;  // as evaluated, test first
  std::vector<int64_t> split_rows;       // rows evaluated per split
  // Per split, the grid row-major over β then α: grid[s][j·alpha.size() + i] is at (alpha[i], beta[j]).
  std::vector<std::vector<PointMetrics>> grid;
  std::vector<PlaneMarker> markers;
  // A curve drawn in the plane (--curve): its points' coordinates, t from 0 to 1.
  std::string path_name;
  std::vector<double> path_alpha, path_beta;
  // Directions around one model: how they were made.
  std::string directions;  // "random" or the file they came from
  uint64_t seed = 0;
  std::string norm;
  bool perturb_bias_bn = false;
  std::string bn;  // layer graphs with BatchNorm: the mode; empty otherwise
  int64_t bn_rows = 0;
  double seconds = 0;
};
std::string plane_report_json(const PlaneReport& report);
// One line per grid point and split: split,alpha,beta,loss,error.
std::string plane_report_csv(const PlaneReport& report);
// The terminal's summary: the markers' values, each split's lowest and highest grid point.
std::string plane_report_table(const PlaneReport& report);

}  // namespace modeconn
