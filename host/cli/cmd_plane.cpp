// modeconn plane: loss and error on a grid over a 2-D plane of parameter space, through three models or
// around one along two directions, every grid point evaluated in one pass over the data.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/bn_options.hpp"
#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "cli/option_ranges.hpp"
#include "modeconn/error.hpp"
#include "modeconn/plane.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn::cli {
namespace {

// The most points on either side of the grid, and the parameters held for one pass: larger grids are
// evaluated in several passes.
constexpr int kMaxGridSide = 1001;
constexpr int64_t kParamsPerPass = int64_t{64} << 20;

// "21x21" (or "21": square).
std::pair<int, int> parse_grid(const std::string& text) {
  int nx = 0, ny = 0;
  char x = 0, extra = 0;
  std::istringstream in(text);
  const bool square = text.find_first_of("xX") == std::string::npos;
  const bool ok = square ? static_cast<bool>(in >> nx) && !(in >> extra)
                         : static_cast<bool>(in >> nx >> x >> ny) && (x == 'x' || x == 'X') && !(in >> extra);
  if (square) ny = nx;
  if (!ok || nx < 1 || ny < 1 || nx > kMaxGridSide || ny > kMaxGridSide || nx * ny < 2)
    throw usage_error("--grid must be NXxNY with 1 to " + std::to_string(kMaxGridSide) +
                      " points per side and at least 2 in all (as 21x21), not '" + text + "'");
  return {nx, ny};
}

// "LO:HI" for both axes, or "LO:HI,LO:HI" for α then β.
std::array<std::array<double, 2>, 2> parse_range(const std::string& text) {
  const auto one = [&](const std::string& part) {
    std::istringstream in(part);
    double lo = 0, hi = 0;
    char colon = 0, extra = 0;
    if (!(in >> lo >> colon >> hi) || colon != ':' || (in >> extra) || !std::isfinite(lo) ||
        !std::isfinite(hi) || !(lo < hi))
      throw usage_error("--range must be LO:HI or LO:HI,LO:HI with LO < HI (as -1:1), not '" + text + "'");
    return std::array<double, 2>{lo, hi};
  };
  const auto comma = text.find(',');
  if (comma == std::string::npos) {
    const auto r = one(text);
    return {r, r};
  }
  return {one(text.substr(0, comma)), one(text.substr(comma + 1))};
}

// The models the plane is drawn from, MLPs or layer graphs: their parameters (and BatchNorm buffers).
struct Subjects {
  bool graph = false;
  std::vector<Model> mlps;
  std::vector<GraphModel> graphs;
  Dataset data;
  std::vector<ParamTensor> tensors;
  std::span<const float> params(std::size_t k) const { return graph ? graphs[k].params : mlps[k].params; }
  std::size_t size() const { return graph ? graphs.size() : mlps.size(); }
};

// A curve between the first two subjects whose bend becomes the third (Garipov et al.'s plane), with the
// curve's own coefficients kept to draw it in the plane.
struct Bend {
  std::vector<double> ts;
  std::vector<std::vector<double>> coefs;  // over (A, bend, B)
};

Bend add_curve_bend(Subjects& s, const std::string& curve_path, const std::string& activation,
                    const std::array<std::string, 2>& ends) {
  Path points;
  std::vector<float> bend_buffers;
  if (s.graph) {
    GraphPath g = graph_curve_from_tensors(read_safetensors(curve_path), curve_path, s.graphs[0], ends[0]);
    points = g.params;
    if (g.buffers.size() == 3) bend_buffers = g.buffers[1];
  } else {
    points = load_curve(curve_path, activation);
    if (!points.arch.same_shape(s.mlps[0].arch))
      throw input_error(curve_path, "architecture " + points.arch.widths() + " differs from " + ends[0] +
                                        " (" + s.mlps[0].arch.widths() + ")");
  }
  if (points.points.size() != 3)
    throw input_error(curve_path, "has " + std::to_string(points.points.size()) +
                                      " control points; a plane holds a curve of three (one bend)");
  if (points.points.front() != std::vector<float>(s.params(0).begin(), s.params(0).end()))
    throw input_error(curve_path, "its first control point is not " + ends[0]);
  if (points.points.back() != std::vector<float>(s.params(1).begin(), s.params(1).end()))
    throw input_error(curve_path, "its last control point is not " + ends[1]);
  if (s.graph) {
    GraphModel bend = s.graphs[0];
    bend.params = points.points[1];
    bend.buffers = bend_buffers;
    s.graphs.push_back(std::move(bend));
  } else {
    Model bend = s.mlps[0];
    bend.params = points.points[1];
    s.mlps.push_back(std::move(bend));
  }
  Bend b;
  b.ts = plane_axis(0, 1, 101);
  for (double t : b.ts) b.coefs.push_back(points.coefficients(t));
  return b;
}

Subjects load_subjects(const std::vector<std::string>& files, const std::string& activation,
                       const std::string& data_spec) {
  Subjects s;
  for (const auto& f : files) s.graph = s.graph || holds_graph_beyond_mlp(read_safetensors_metadata(f), f);
  if (s.graph) {
    for (const auto& f : files) {
      const TensorFile file = read_safetensors(f);
      if (!file.metadata.count("modeconn.graph"))
        throw input_error(
            f, "holds an MLP but " + files.front() + " holds a layer graph; all must be one architecture");
      s.graphs.push_back(graph_model_from_tensors(file, f));
      if (s.graphs.size() > 1) check_same_graph(s.graphs.front(), files.front(), s.graphs.back(), f);
    }
    s.data = load_dataset(data_spec);
    for (std::size_t k = 0; k < files.size(); ++k) fit_graph_to_data(s.graphs[k], files[k], s.data);
    s.tensors = graph_param_tensors(s.graphs.front().graph);
  } else {
    for (const auto& f : files) {
      s.mlps.push_back(load_model(f, activation));
      if (s.mlps.size() > 1) check_same_architecture(s.mlps.front(), files.front(), s.mlps.back(), f);
    }
    s.data = load_dataset(data_spec);
    for (std::size_t k = 0; k < files.size(); ++k) fit_model_to_data(s.mlps[k], files[k], s.data);
    s.tensors = mlp_param_tensors(s.mlps.front().arch);
  }
  return s;
}

// Directions files hold x.NAME and y.NAME for every parameter tensor NAME of the model.
std::array<std::vector<float>, 2> read_directions(const std::string& file, const Subjects& s) {
  const TensorFile f = read_safetensors(file);
  std::array<std::vector<float>, 2> d;
  const std::size_t size = s.params(0).size();
  for (int axis = 0; axis < 2; ++axis) {
    d[static_cast<std::size_t>(axis)].assign(size, 0.f);
    for (const ParamTensor& t : s.tensors) {
      const std::string name = std::string(axis == 0 ? "x." : "y.") + t.name;
      const NamedTensor* found = f.find(name);
      if (!found)
        throw input_error(file, "has no tensor " + name +
                                    " (a direction holds x.NAME and y.NAME for every parameter NAME)");
      if (found->shape != t.shape)
        throw input_error(file, "tensor " + name + " is " + shape_text(found->shape) + ", the model's is " +
                                    shape_text(t.shape));
      for (float v : found->values)
        if (!std::isfinite(v))
          throw input_error(file, "tensor " + name + " holds a value that is not finite");
      std::copy(found->values.begin(), found->values.end(),
                d[static_cast<std::size_t>(axis)].begin() + t.offset);
    }
  }
  return d;
}

TensorFile directions_file(const std::array<std::vector<float>, 2>& d, const Subjects& s,
                           const PlaneReport& r) {
  TensorFile f;
  for (int axis = 0; axis < 2; ++axis)
    for (const ParamTensor& t : s.tensors) {
      const auto& v = d[static_cast<std::size_t>(axis)];
      f.tensors.push_back({std::string(axis == 0 ? "x." : "y.") + t.name, t.shape,
                           std::vector<float>(v.begin() + t.offset, v.begin() + t.offset + t.size)});
    }
  f.metadata["modeconn.directions"] = r.directions;
  f.metadata["modeconn.directions_norm"] = r.norm;
  if (r.directions == "random") f.metadata["modeconn.directions_seed"] = std::to_string(r.seed);
  return f;
}

}  // namespace

int run_plane(const Args& args) {
  CommandLine cl(
      "plane",
      "modeconn plane (--a A --b B --c C | --model M [--directions random|FILE]) --data D [--grid 21x21] "
      "[--range LO:HI[,LO:HI] | --margin 0.2] [--split test|train|both] [--json OUT] [--csv OUT]");
  cl.options().add_options()("a", po::value<std::string>(), "through three models: the origin")(
      "b", po::value<std::string>(), "through three models: the first axis points from A to B")(
      "c", po::value<std::string>(), "through three models: the second axis, C's part orthogonal to it")(
      "curve", po::value<std::string>(),
      "instead of --c: a curve between A and B with one bend (fit-curve), the bend as C and the curve drawn "
      "in the plane")("model", po::value<std::string>(), "around one model: the centre of the plane")(
      "directions", po::value<std::string>()->default_value("random"),
      "around one model: random (Gaussian, --seed) or a safetensors file with x.NAME and y.NAME for every "
      "parameter NAME (as --save-directions writes)")("seed", po::value<std::string>()->default_value("0"),
                                                      "random directions: seed, 0 to 2^63 - 1")(
      "norm", po::value<std::string>()->default_value("filter"),
      "directions: filter (each filter or unit scaled to the model's, Li et al. 2018), layer or none")(
      "perturb-bias-bn", po::bool_switch(),
      "directions: move biases and BatchNorm parameters too (as the model's own values); default fixed")(
      "save-directions", po::value<std::string>(), "write the normalised directions (x.NAME, y.NAME)")(
      "data", po::value<std::string>()->required(), "data folder or builtin:fashion-mnist")(
      "grid", po::value<std::string>()->default_value("21x21"),
      "grid points along alpha x beta, 1 to 1001 each")(
      "range", po::value<std::string>(),
      "the grid's extent, LO:HI for both axes or LO:HI,LO:HI (default -1:1 around one model; through three "
      "models, their box widened by --margin)")(
      "margin", po::value<double>()->default_value(0.2, "0.2"),
      "through three models: the box around them widened on each side by this fraction of its size")(
      "split", po::value<std::string>()->default_value("both"), "test, train or both")(
      "rows", po::value<int64_t>()->default_value(0), "evaluate the first N rows of each split (0: all)")(
      "activation", po::value<std::string>()->default_value(""),
      "activation for files without modeconn metadata (default relu)")(
      "json", po::value<std::string>(), "write the grid as JSON")("csv", po::value<std::string>(),
                                                                  "write the grid as CSV");
  add_bn_options(cl);
  if (!cl.parse(args)) return 0;

  const bool three = cl.has("a") || cl.has("b") || cl.has("c") || cl.has("curve");
  if (three && cl.has("model"))
    throw usage_error("give --a --b --c (three models) or --model (one), not both");
  if (cl.has("c") && cl.has("curve")) throw usage_error("give --c or --curve (its bend is C), not both");
  if (three && !(cl.has("a") && cl.has("b") && (cl.has("c") || cl.has("curve"))))
    throw usage_error("a plane through three models needs --a, --b and --c (or --curve)");
  if (!three && !cl.has("model"))
    throw usage_error("give --a --b --c (a plane through three models) or --model");
  if (three)
    for (const char* o : {"directions", "seed", "norm", "perturb-bias-bn", "save-directions"})
      if (cl.has(o))
        throw usage_error(std::string("--") + o + " goes with --model (a plane around one model)");
  if (cl.has("range") && cl.has("margin")) throw usage_error("give --range or --margin, not both");
  if (!three && cl.has("margin"))
    throw usage_error("--margin goes with --a --b --c; around one model use --range");
  const auto [nx, ny] = parse_grid(cl.get<std::string>("grid"));
  const double margin = cl.get<double>("margin");
  if (!(margin >= 0 && margin <= 100)) throw usage_error("--margin must be 0 to 100");
  const int64_t row_limit = cl.get<int64_t>("rows");
  if (row_limit < 0) throw usage_error("--rows must be 0 (all) or more");
  const std::optional<std::array<std::array<double, 2>, 2>> range =
      cl.has("range") ? std::optional(parse_range(cl.get<std::string>("range"))) : std::nullopt;
  const std::string directions = cl.get<std::string>("directions");
  const bool random = directions == "random";
  const DirectionNorm norm = parse_direction_norm(cl.get<std::string>("norm"));
  const uint64_t seed = parse_seed(cl.get<std::string>("seed"), "--seed");

  const std::string curve = cl.has("curve") ? cl.get<std::string>("curve") : "";
  std::vector<std::string> files = three ? std::vector{cl.get<std::string>("a"), cl.get<std::string>("b")}
                                         : std::vector{cl.get<std::string>("model")};
  if (three && curve.empty()) files.push_back(cl.get<std::string>("c"));
  Outputs& outputs = cl.outputs();
  for (const auto& f : files) outputs.input(f);
  if (!curve.empty()) outputs.input(curve);
  if (!three && !random) outputs.input(directions);
  outputs.data_inputs(cl.get<std::string>("data"));
  const std::string json = cl.has("json") ? cl.get<std::string>("json") : "";
  const std::string csv = cl.has("csv") ? cl.get<std::string>("csv") : "";
  const std::string save = cl.has("save-directions") ? cl.get<std::string>("save-directions") : "";
  outputs.output("--json", json);
  outputs.output("--csv", csv);
  outputs.output("--save-directions", save);
  outputs.check();

  Subjects s = load_subjects(files, cl.get<std::string>("activation"), cl.get<std::string>("data"));
  std::optional<Bend> bend;
  if (!curve.empty()) {
    bend = add_curve_bend(s, curve, cl.get<std::string>("activation"), {files[0], files[1]});
    files.push_back(curve);
  }
  PlaneReport report;
  report.data = s.data.source;
  report.architecture = s.graph ? describe(s.graphs.front()) : describe(s.mlps.front().arch);

  // The control points P0, P1, P2 and the map from (α, β) to their coefficients.
  std::vector<std::vector<float>> points;
  PlaneMap map;
  std::array<std::vector<float>, 2> dirs;
  if (three) {
    report.kind = "models";
    const ThreeModelPlane p =
        plane_through(s.params(0), s.params(1), s.params(2), {files[0], files[1], files[2]});
    map = p.map;
    for (std::size_t k = 0; k < 3; ++k) {
      points.emplace_back(s.params(k).begin(), s.params(k).end());
      report.markers.push_back({k == 2 && bend ? "bend" : std::string(1, static_cast<char>('A' + k)),
                                files[k],
                                p.coords[k][0],
                                p.coords[k][1],
                                {}});
    }
    if (bend) {
      // The curve lies in the plane (an affine combination of A, the bend and B): its coordinates are the
      // same combination of theirs.
      report.path_name = "bezier curve";
      for (const auto& c : bend->coefs) {
        report.path_alpha.push_back(c[0] * p.coords[0][0] + c[1] * p.coords[2][0] + c[2] * p.coords[1][0]);
        report.path_beta.push_back(c[0] * p.coords[0][1] + c[1] * p.coords[2][1] + c[2] * p.coords[1][1]);
      }
    }
  } else {
    report.kind = "directions";
    report.directions = random ? "random" : directions;
    report.seed = seed;
    report.norm = std::string(direction_norm_name(norm));
    report.perturb_bias_bn = cl.get<bool>("perturb-bias-bn");
    const auto theta = s.params(0);
    if (random) {
      Rng rng(seed);
      for (auto& d : dirs) d = gaussian_direction(static_cast<int64_t>(theta.size()), rng);
    } else {
      dirs = read_directions(directions, s);
    }
    for (auto& d : dirs) normalize_direction(d, theta, s.tensors, norm, report.perturb_bias_bn);
    // P0 = θ, P1 = θ + d1, P2 = θ + d2: θ(α, β) = θ + α·d1 + β·d2, summed in float64 from the three.
    points.emplace_back(theta.begin(), theta.end());
    for (const auto& d : dirs) {
      std::vector<float> p(theta.size());
      for (std::size_t i = 0; i < p.size(); ++i) p[i] = theta[i] + d[i];
      points.push_back(std::move(p));
    }
    report.markers.push_back({"model", files[0], 0.0, 0.0, {}});
  }

  // The grid's extent.
  std::array<std::array<double, 2>, 2> extent{};
  if (range) {
    extent = *range;
  } else if (three) {
    for (int axis = 0; axis < 2; ++axis) {
      double lo = report.markers[0].alpha, hi = lo;
      for (const PlaneMarker& m : report.markers) {
        const double v = axis == 0 ? m.alpha : m.beta;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      const double pad = margin * (hi - lo);
      extent[static_cast<std::size_t>(axis)] = {lo - pad, hi + pad};
    }
  } else {
    extent = {{{-1, 1}, {-1, 1}}};
  }
  report.alpha = plane_axis(extent[0][0], extent[0][1], nx);
  report.beta = plane_axis(extent[1][0], extent[1][1], ny);

  // Every grid point, then the markers at their exact coefficients (a model's unit vector).
  std::vector<std::vector<double>> coefs;
  for (double b : report.beta)
    for (double a : report.alpha) coefs.push_back(map.coefficients(a, b));
  for (std::size_t k = 0; k < report.markers.size(); ++k) {
    std::vector<double> unit(3, 0.0);
    unit[k] = 1.0;
    coefs.push_back(unit);
  }

  std::vector<Split> splits;
  for (const Split* sp : chosen_splits(s.data, cl.get<std::string>("split")))
    splits.push_back(first_rows(*sp, row_limit));
  auto backend = cl.backend();
  const auto start = std::chrono::steady_clock::now();
  const std::size_t per_pass = static_cast<std::size_t>(std::max<int64_t>(
      1, kParamsPerPass / std::max<int64_t>(1, static_cast<int64_t>(points.front().size()))));
  std::vector<std::vector<PointMetrics>> results(splits.size());
  if (s.graph) {
    GraphPath path;
    path.graph = &s.graphs.front().graph;
    path.task = s.graphs.front().task;
    path.params.points = points;
    // BatchNorm's running statistics: each model's own through three; the model's for every control point
    // around one (the directions move parameters only).
    for (std::size_t k = 0; k < 3; ++k) path.buffers.push_back(s.graphs[three ? k : 0].buffers);
    const BnOptions bn = read_bn_options(cl, s.graphs.front().graph, s.data);
    if (bn.mode == BnMode::repair)
      throw usage_error(
          "--bn repair interpolates a path's endpoints' statistics; a plane takes keep or recompute");
    report.bn = std::string(bn_mode_name(bn.mode));
    report.bn_rows = bn.rows;
    auto runner = graph_runner(*backend, cl, &report.device);
    for (std::size_t first = 0; first < coefs.size(); first += per_pass) {
      const std::size_t last = std::min(coefs.size(), first + per_pass);
      const GraphPoints pts =
          graph_points_at(*runner, path, std::span(coefs).subspan(first, last - first), bn);
      for (std::size_t k = 0; k < splits.size(); ++k) {
        const auto m = runner->metrics(pts, splits[k]);
        results[k].insert(results[k].end(), m.begin(), m.end());
      }
    }
  } else {
    Path path;
    path.arch = s.mlps.front().arch;
    path.points = points;
    report.device = backend->name();
    for (std::size_t first = 0; first < coefs.size(); first += per_pass) {
      const std::size_t last = std::min(coefs.size(), first + per_pass);
      for (std::size_t k = 0; k < splits.size(); ++k) {
        const auto m = backend->evaluate_at(path, std::span(coefs).subspan(first, last - first), splits[k]);
        results[k].insert(results[k].end(), m.begin(), m.end());
      }
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::size_t grid_points = report.alpha.size() * report.beta.size();
  for (std::size_t k = 0; k < splits.size(); ++k) {
    report.split_names.push_back(splits[k].name);
    report.split_rows.push_back(splits[k].rows);
    report.grid.emplace_back(results[k].begin(),
                             results[k].begin() + static_cast<std::ptrdiff_t>(grid_points));
    for (std::size_t m = 0; m < report.markers.size(); ++m)
      report.markers[m].metrics.push_back(results[k][grid_points + m]);
  }

  if (!json.empty()) outputs.stage(json, plane_report_json(report));
  if (!csv.empty()) outputs.stage(csv, plane_report_csv(report));
  if (!save.empty()) outputs.stage(save, serialize_safetensors(directions_file(dirs, s, report)));
  outputs.commit();
  std::cout << plane_report_table(report);
  cl.summary(std::to_string(nx) + "x" + std::to_string(ny) + " plane on " + std::to_string(splits.size()) +
             " split(s)");
  return 0;
}

}  // namespace modeconn::cli
