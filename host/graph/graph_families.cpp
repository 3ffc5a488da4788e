// The named network families of `train --arch`, built node by node with PyTorch's module names.
#include "modeconn/graph_families.hpp"

#include "modeconn/error.hpp"

namespace modeconn {
namespace {

constexpr int64_t kMaxFamilyStages = 16;
constexpr int64_t kMaxBlocks = 64;

// Appends nodes, each reading the last one unless told otherwise; returns the new node's index.
class Builder {
 public:
  explicit Builder(const std::vector<int64_t>& input_shape) {
    Node in;
    in.name = "input";
    in.op = Op::input;
    in.input_shape = input_shape;
    g_.nodes.push_back(in);
  }

  int last() const { return static_cast<int>(g_.nodes.size()) - 1; }

  int conv(const std::string& name, int64_t out, int64_t kernel, int64_t stride, int from) {
    Node n = node(name, Op::conv2d, from);
    n.out = out;
    n.has_bias = false;
    n.kernel = {kernel, kernel};
    n.stride = {stride, stride};
    n.padding = {kernel / 2, kernel / 2};
    n.tensors = {{TensorRole::weight, name + ".weight"}};
    return push(n);
  }
  int batch_norm(const std::string& name) {
    Node n = node(name, Op::batch_norm, last());
    n.tensors = {{TensorRole::weight, name + ".weight"},
                 {TensorRole::bias, name + ".bias"},
                 {TensorRole::running_mean, name + ".running_mean"},
                 {TensorRole::running_var, name + ".running_var"}};
    return push(n);
  }
  int relu(const std::string& name, int from) { return push(node(name, Op::activation, from)); }
  int max_pool(const std::string& name) {
    Node n = node(name, Op::max_pool2d, last());
    n.kernel = {2, 2};
    n.stride = {2, 2};
    return push(n);
  }
  int add(const std::string& name, int a, int b) {
    Node n = node(name, Op::add, a);
    n.inputs.push_back(b);
    return push(n);
  }
  int simple(const std::string& name, Op op) { return push(node(name, op, last())); }
  int linear(const std::string& name, int64_t out) {
    Node n = node(name, Op::linear, last());
    n.out = out;
    n.tensors = {{TensorRole::weight, name + ".weight"}, {TensorRole::bias, name + ".bias"}};
    return push(n);
  }

  Graph finish(const std::string& where) {
    validate_graph(g_, where);
    return std::move(g_);
  }

 private:
  static Node node(const std::string& name, Op op, int from) {
    Node n;
    n.name = name;
    n.op = op;
    n.inputs = {from};
    return n;
  }
  int push(const Node& n) {
    g_.nodes.push_back(n);
    return last();
  }

  Graph g_;
};

std::vector<int64_t> parse_list(const std::string& text, const std::string& spec) {
  std::vector<int64_t> widths;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty() || item.size() > 6 || item.find_first_not_of("0123456789") != std::string::npos ||
        std::stoll(item) < 1 || std::stoll(item) > kMaxChannels)
      throw usage_error("--arch " + spec + ": '" + item + "' is not a width from 1 to " +
                        std::to_string(kMaxChannels));
    widths.push_back(std::stoll(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (static_cast<int64_t>(widths.size()) > kMaxFamilyStages)
    throw usage_error("--arch " + spec + ": at most " + std::to_string(kMaxFamilyStages) + " stages");
  return widths;
}

Graph vgg(const std::vector<int64_t>& widths, const std::vector<int64_t>& input_shape, int64_t outputs,
          const std::string& where) {
  Builder b(input_shape);
  int k = 0;  // the nn.Sequential index of `features`
  for (int64_t w : widths) {
    b.conv("features." + std::to_string(k), w, 3, 1, b.last());
    b.batch_norm("features." + std::to_string(k + 1));
    b.relu("features." + std::to_string(k + 2), b.last());
    b.max_pool("features." + std::to_string(k + 3));
    k += 4;
  }
  b.simple("flatten", Op::flatten);
  b.linear("classifier", outputs);
  return b.finish(where);
}

Graph resnet(const std::vector<int64_t>& widths, int64_t blocks, const std::vector<int64_t>& input_shape,
             int64_t outputs, const std::string& where) {
  Builder b(input_shape);
  b.conv("conv1", widths.front(), 3, 1, b.last());
  b.batch_norm("bn1");
  int x = b.relu("relu", b.last());
  int64_t channels = widths.front();
  for (std::size_t s = 0; s < widths.size(); ++s)
    for (int64_t k = 0; k < blocks; ++k) {
      const std::string name = "layer" + std::to_string(s + 1) + "." + std::to_string(k);
      const int64_t stride = s > 0 && k == 0 ? 2 : 1;
      b.conv(name + ".conv1", widths[s], 3, stride, x);
      b.batch_norm(name + ".bn1");
      b.relu(name + ".relu1", b.last());
      b.conv(name + ".conv2", widths[s], 3, 1, b.last());
      const int main = b.batch_norm(name + ".bn2");
      int shortcut = x;
      if (stride != 1 || channels != widths[s]) {
        b.conv(name + ".shortcut.0", widths[s], 1, stride, x);
        shortcut = b.batch_norm(name + ".shortcut.1");
      }
      b.add(name + ".add", main, shortcut);
      x = b.relu(name + ".relu2", b.last());
      channels = widths[s];
    }
  b.simple("avgpool", Op::global_avg_pool);
  b.linear("fc", outputs);
  return b.finish(where);
}

}  // namespace

bool is_graph_family(const std::string& spec) {
  return spec.rfind("vgg:", 0) == 0 || spec.rfind("resnet:", 0) == 0;
}

Graph graph_family(const std::string& spec, const std::vector<int64_t>& input_shape, int64_t outputs) {
  if (input_shape.size() != 3)
    throw usage_error("--arch " + spec + " is convolutional and needs image data ([C, H, W] samples)");
  const std::size_t colon = spec.find(':');
  const std::string family = spec.substr(0, colon);
  std::string rest = spec.substr(colon + 1);
  const std::string where = "--arch " + spec;
  if (family == "vgg") return vgg(parse_list(rest, spec), input_shape, outputs, where);
  if (family != "resnet") throw usage_error("--arch: unknown family '" + family + "' (vgg, resnet)");
  int64_t blocks = 1;
  if (const std::size_t second = rest.find(':'); second != std::string::npos) {
    const std::string count = rest.substr(second + 1);
    if (count.empty() || count.size() > 3 || count.find_first_not_of("0123456789") != std::string::npos ||
        std::stoll(count) < 1 || std::stoll(count) > kMaxBlocks)
      throw usage_error("--arch " + spec + ": blocks per stage '" + count + "' is not from 1 to " +
                        std::to_string(kMaxBlocks));
    blocks = std::stoll(count);
    rest = rest.substr(0, second);
  }
  return resnet(parse_list(rest, spec), blocks, input_shape, outputs, where);
}

}  // namespace modeconn
