// Permutation groups from the layer graph: a union-find over the channel groups that linear and conv2d nodes
// open, tied by residual adds, with the input and the output pinned to the one group that never moves.
#include "modeconn/perm_spec.hpp"

#include <map>
#include <utility>

#include "modeconn/error.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn {
namespace {

// Group 0 is the fixed one: whatever joins it does not move.
class Groups {
 public:
  int make(int64_t size) {
    parent_.push_back(static_cast<int>(parent_.size()));
    sizes_.push_back(size);
    return parent_.back();
  }
  int find(int x) {
    while (parent_[static_cast<std::size_t>(x)] != x) {
      auto& p = parent_[static_cast<std::size_t>(x)];
      p = parent_[static_cast<std::size_t>(p)];
      x = p;
    }
    return x;
  }
  void unite(int a, int b) {
    a = find(a);
    b = find(b);
    if (a == b) return;
    if (b == 0) std::swap(a, b);  // the fixed group stays the root of whatever joins it
    parent_[static_cast<std::size_t>(b)] = a;
  }
  int64_t size(int g) const { return sizes_[static_cast<std::size_t>(g)]; }

 private:
  std::vector<int> parent_{0};
  std::vector<int64_t> sizes_{0};
};

// The group permuting a node's output channels, and how many consecutive features a channel is there.
struct Channels {
  int group = 0;
  int64_t block = 1;
};

// An axis found while walking the graph, with the group (not yet resolved) that moves it.
struct Found {
  Found(int g, const std::string& tensor, int along, int64_t block, const std::string& opener = "")
      : group(g), produced_by(opener) {
    axis.tensor = tensor;
    axis.axis = along;
    axis.block = block;
  }
  int group;
  PermAxis axis;
  std::string produced_by;  // the node whose output channels the group is, when this axis opens it
};

}  // namespace

PermSpec perm_spec(const Graph& g) {
  Groups groups;
  std::vector<Channels> out(g.nodes.size());
  std::vector<Found> found;
  const auto tensor = [](const Node& n, TensorRole r) { return n.tensors.at(r); };
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const Channels in = n.inputs.empty() ? Channels{} : out[static_cast<std::size_t>(n.inputs[0])];
    switch (n.op) {
      case Op::input:
        out[i] = {0, 1};
        break;
      case Op::linear:
      case Op::conv2d: {
        found.emplace_back(in.group, tensor(n, TensorRole::weight), 1, in.block);
        const int opened = groups.make(n.out);
        found.emplace_back(opened, tensor(n, TensorRole::weight), 0, 1, n.name);
        if (n.has_bias) found.emplace_back(opened, tensor(n, TensorRole::bias), 0, 1);
        out[i] = {opened, 1};
        break;
      }
      case Op::batch_norm:
        for (const auto& [role, name] : n.tensors) found.emplace_back(in.group, name, 0, in.block);
        out[i] = in;
        break;
      case Op::activation:
      case Op::max_pool2d:
      case Op::avg_pool2d:
        out[i] = in;
        break;
      case Op::global_avg_pool:
        out[i] = {in.group, 1};
        break;
      case Op::flatten: {
        const auto& shape = g.nodes[static_cast<std::size_t>(n.inputs[0])].shape;
        out[i] = shape.size() == 3 ? Channels{in.group, in.block * shape[1] * shape[2]} : in;
        break;
      }
      case Op::add: {
        const Channels other = out[static_cast<std::size_t>(n.inputs[1])];
        groups.unite(in.group, other.group);
        // Same shapes, so the same blocks; were they not, nothing could move safely.
        if (in.block != other.block) groups.unite(in.group, 0);
        out[i] = in;
        break;
      }
    }
  }
  groups.unite(out.back().group, 0);  // the output is fixed

  PermSpec spec;
  std::map<int, std::size_t> index;  // root -> position in spec.groups, in order of first appearance
  for (const Found& f : found) {
    const int root = groups.find(f.group);
    if (root == 0) continue;
    auto [it, fresh] = index.emplace(root, spec.groups.size());
    if (fresh) spec.groups.push_back({groups.size(root), {}, {}});
    PermGroup& group = spec.groups[it->second];
    group.axes.push_back(f.axis);
    if (!f.produced_by.empty()) group.nodes.push_back(f.produced_by);
  }
  return spec;
}

void permute_axis(std::vector<float>& values, const std::vector<int64_t>& shape, const PermAxis& axis,
                  const std::vector<int64_t>& perm) {
  MODECONN_EXPECTS(axis.axis >= 0 && axis.axis < static_cast<int>(shape.size()), "an axis of the tensor");
  const int64_t dim = shape[static_cast<std::size_t>(axis.axis)];
  const auto channels = static_cast<int64_t>(perm.size());
  MODECONN_EXPECTS(dim == channels * axis.block, "an axis of the permutation's size");
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis.axis; ++k) outer *= shape[static_cast<std::size_t>(k)];
  for (std::size_t k = static_cast<std::size_t>(axis.axis) + 1; k < shape.size(); ++k) inner *= shape[k];
  const std::vector<float> old = values;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t b = 0; b < axis.block; ++b) {
        const int64_t to = (o * dim + c * axis.block + b) * inner;
        const int64_t from = (o * dim + perm[static_cast<std::size_t>(c)] * axis.block + b) * inner;
        std::copy(old.begin() + from, old.begin() + from + inner, values.begin() + to);
      }
}

void apply_permutations(const PermSpec& spec, const std::vector<std::vector<int64_t>>& perms,
                        TensorFile& file) {
  MODECONN_EXPECTS(perms.size() == spec.groups.size(), "one permutation per group");
  for (std::size_t g = 0; g < spec.groups.size(); ++g) {
    const PermGroup& group = spec.groups[g];
    const auto& perm = perms[g];
    MODECONN_EXPECTS(static_cast<int64_t>(perm.size()) == group.size, "a permutation of the group's size");
    for (const PermAxis& a : group.axes) {
      NamedTensor* t = nullptr;
      for (auto& candidate : file.tensors)
        if (candidate.name == a.tensor) t = &candidate;
      MODECONN_EXPECTS(t != nullptr, "the group's tensor");
      permute_axis(t->values, t->shape, a, perm);
    }
  }
}

}  // namespace modeconn
