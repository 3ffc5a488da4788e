// Symmetry diagnostics of a layer graph, one permutation group at a time.
#include <cmath>

#include "modeconn/error.hpp"
#include "modeconn/graph_eval.hpp"
#include "modeconn/perm_spec.hpp"
#include "modeconn/profile.hpp"
#include "modeconn/symmetry.hpp"
#include "modeconn/tensor_file.hpp"
#include "symmetry/closest_pairs.hpp"

namespace modeconn {
namespace {

// At or below this standard deviation a channel is constant on the data (a dead ReLU's is exactly 0).
constexpr double kConstant = 1e-6;

// Each channel's incoming vector: the filters and biases of the group's linear and conv2d nodes,
// concatenated.
std::vector<double> incoming(const GraphModel& m, const TensorPlaces& places, const PermGroup& group,
                             int64_t* d) {
  std::vector<int> producers;
  *d = 0;
  for (const std::string& name : group.nodes) {
    const int i = node_index(m.graph, name);
    const Node& n = m.graph.nodes[static_cast<std::size_t>(i)];
    if (n.op != Op::linear && n.op != Op::conv2d) continue;
    producers.push_back(i);
    for (TensorRole role : {TensorRole::weight, TensorRole::bias}) {
      const TensorPlace& p = places[static_cast<std::size_t>(i)][static_cast<std::size_t>(role)];
      if (p.present) *d += p.size / group.size;
    }
  }
  std::vector<double> u(static_cast<std::size_t>(group.size * *d));
  for (int64_t c = 0; c < group.size; ++c) {
    std::size_t k = static_cast<std::size_t>(c * *d);
    for (int i : producers)
      for (TensorRole role : {TensorRole::weight, TensorRole::bias}) {
        const TensorPlace& p = places[static_cast<std::size_t>(i)][static_cast<std::size_t>(role)];
        if (!p.present) continue;
        const int64_t per = p.size / group.size;
        for (int64_t e = 0; e < per; ++e) u[k++] = m.params[static_cast<std::size_t>(p.offset + c * per + e)];
      }
  }
  return u;
}

}  // namespace

SymmetryReport analyse_graph_symmetry(GraphRunner& runner, const GraphModel& model, const Split* data,
                                      const SymmetryOptions& options) {
  const PermSpec spec = perm_spec(model.graph);
  const TensorPlaces places = tensor_places(model.graph);
  SymmetryReport r;
  r.has_data = data != nullptr;
  r.straight_swap = true;
  if (data) r.split = data->name;
  const GraphPoints as_trained = model_graph_points(runner, model);
  const TensorFile file = graph_model_to_tensors(model);
  for (std::size_t g = 0; g < spec.groups.size(); ++g) {
    const PermGroup& group = spec.groups[g];
    LayerSymmetry l;
    l.name = group.nodes.front();
    l.units = group.size;
    l.log10_permutations = log10_factorial(group.size);
    r.log10_equivalent += l.log10_permutations;
    int64_t d = 0;
    std::vector<double> u = incoming(model, places, group, &d);
    const auto pairs = closest_pairs(std::move(u), group.size, d, false, options.duplicate_cosine,
                                     options.max_duplicates_listed, &l.near_duplicate_pairs);
    l.closest = pairs.empty() ? UnitPair{} : pairs.front();
    for (const UnitPair& p : pairs)
      if (p.cosine >= options.duplicate_cosine) l.near_duplicates.push_back(p);
    if (data) {
      std::vector<bool> live(static_cast<std::size_t>(group.size), false);
      bool observed = false;
      for (const std::string& name : group.nodes) {
        const int i = node_index(model.graph, name);
        const Op op = model.graph.nodes[static_cast<std::size_t>(i)].op;
        if (op != Op::activation && op != Op::add) continue;
        observed = true;
        const auto sums = runner.channel_sums(as_trained, i, *data, data->rows).front();
        const auto& shape = model.graph.nodes[static_cast<std::size_t>(i)].shape;
        const double n =
            static_cast<double>(data->rows) * (shape.size() == 3 ? double(shape[1] * shape[2]) : 1.0);
        for (int64_t c = 0; c < group.size; ++c) {
          const double mean = sums[static_cast<std::size_t>(c)] / n;
          const double var = sums[static_cast<std::size_t>(group.size + c)] / n - mean * mean;
          if (std::sqrt(std::max(var, 0.0)) > kConstant) live[static_cast<std::size_t>(c)] = true;
        }
      }
      for (int64_t c = 0; c < group.size && observed; ++c)
        if (!live[static_cast<std::size_t>(c)]) l.dead_units.push_back(c);
      // The straight line to the copy with the closest pair swapped: the same function at both ends.
      if (group.size > 1) {
        std::vector<std::vector<int64_t>> perms;
        for (const PermGroup& other : spec.groups) {
          perms.emplace_back(static_cast<std::size_t>(other.size));
          for (int64_t c = 0; c < other.size; ++c) perms.back()[static_cast<std::size_t>(c)] = c;
        }
        std::swap(perms[g][static_cast<std::size_t>(l.closest.i)],
                  perms[g][static_cast<std::size_t>(l.closest.j)]);
        TensorFile swapped = file;
        apply_permutations(spec, perms, swapped);
        GraphModel other = graph_model_from_tensors(swapped, "the swapped copy");
        other.task = model.task;
        l.saddle.pair = l.closest;
        l.saddle.ts = path_grid(options.saddle_points);
        const GraphPath line = linear_graph_path(model, other);
        const auto metrics = evaluate_graph_path(runner, line, l.saddle.ts, *data, {});
        const SplitProfile profile = make_profile(data->name, l.saddle.ts, metrics);
        l.saddle.loss = profile.loss;
        l.saddle.barrier = profile.loss_barrier;
      }
    }
    r.layers.push_back(std::move(l));
  }
  return r;
}

}  // namespace modeconn
