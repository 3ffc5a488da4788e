// The named families of `train --arch`: parameter counts from the architectures' definitions written out
// here, PyTorch's tensor names, projection shortcuts only where a stage changes shape, PyTorch's default
// initialisation, and malformed specs refused. (tests/e2e/cnn_train.py loads them into PyTorch twins.)
#include "modeconn/graph_families.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "modeconn/error.hpp"
#include "modeconn/graph_model.hpp"
#include "modeconn/graph_train.hpp"

namespace modeconn {
namespace {

int64_t count_op(const Graph& g, Op op) {
  int64_t n = 0;
  for (const Node& node : g.nodes) n += node.op == op;
  return n;
}

TEST(GraphFamilies, VggCountsAndNames) {
  const Graph g = graph_family("vgg:4,8,16", {1, 28, 28}, 10);
  // Per stage a bias-free 3×3 convolution and an affine BatchNorm; 28 → 14 → 7 → 3 before the classifier.
  const int64_t convs = 1 * 4 * 9 + 4 * 8 * 9 + 8 * 16 * 9, bns = 2 * (4 + 8 + 16);
  EXPECT_EQ(g.num_params(), convs + bns + 16 * 3 * 3 * 10 + 10);
  EXPECT_EQ(g.num_buffers(), bns);
  EXPECT_EQ(g.nodes[1].tensors.at(TensorRole::weight), "features.0.weight");
  EXPECT_EQ(g.nodes[2].tensors.at(TensorRole::running_var), "features.1.running_var");
  EXPECT_EQ(g.output().tensors.at(TensorRole::weight), "classifier.weight");
  EXPECT_EQ(count_op(g, Op::max_pool2d), 3);
}

TEST(GraphFamilies, ResNetBlocksAndShortcuts) {
  const Graph g = graph_family("resnet:4,8:2", {3, 16, 12}, 5);
  // Stem 3→4; stage 1: two blocks 4→4 (identity shortcuts); stage 2: 4→8 with stride 2 and a 1×1 projection,
  // then 8→8.
  const int64_t stem = 3 * 4 * 9 + 8;
  const int64_t stage1 = 2 * (2 * 4 * 4 * 9 + 2 * 8);
  const int64_t stage2 = (4 * 8 * 9 + 8 * 8 * 9 + 2 * 16) + (4 * 8 + 16) + (2 * 8 * 8 * 9 + 2 * 16);
  EXPECT_EQ(g.num_params(), stem + stage1 + stage2 + 8 * 5 + 5);
  EXPECT_EQ(count_op(g, Op::add), 4);
  EXPECT_EQ(count_op(g, Op::conv2d), 1 + 4 * 2 + 1);
  EXPECT_EQ(g.nodes[static_cast<std::size_t>(node_index(g, "layer2.0.shortcut.0"))].stride[0], 2);
  EXPECT_EQ(g.output().shape, std::vector<int64_t>{5});
  EXPECT_EQ(g.nodes[static_cast<std::size_t>(node_index(g, "avgpool")) - 1].shape,
            (std::vector<int64_t>{8, 8, 6}));
}

TEST(GraphFamilies, PyTorchDefaultInitialisation) {
  const Graph g = graph_family("resnet:4,8", {1, 8, 8}, 3);
  const GraphModel m = init_graph_model(g, Task::classification, 7);
  const TensorPlaces places = tensor_places(g);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const TensorPlace& w = places[i][static_cast<std::size_t>(TensorRole::weight)];
    if (n.op == Op::conv2d || n.op == Op::linear) {
      const auto shape = g.tensor_shape(n, TensorRole::weight);
      const double bound =
          1 / std::sqrt(static_cast<double>(shape[1] * (shape.size() == 4 ? shape[2] * shape[3] : 1)));
      double largest = 0;
      for (int64_t k = 0; k < w.size; ++k)
        largest = std::max(largest, std::abs(double{m.params[static_cast<std::size_t>(w.offset + k)]}));
      EXPECT_LE(largest, bound) << n.name;
      EXPECT_GT(largest, 0.5 * bound) << n.name;  // spread over the interval, not a constant
    }
    if (n.op == Op::batch_norm) {
      const TensorPlace& var = places[i][static_cast<std::size_t>(TensorRole::running_var)];
      for (int64_t k = 0; k < w.size; ++k) {
        EXPECT_EQ(m.params[static_cast<std::size_t>(w.offset + k)], 1.f);
        EXPECT_EQ(m.buffers[static_cast<std::size_t>(var.offset + k)], 1.f);
      }
    }
  }
  EXPECT_EQ(init_graph_model(g, Task::classification, 7).params, m.params);  // deterministic for a seed
  EXPECT_NE(init_graph_model(g, Task::classification, 8).params, m.params);
}

TEST(GraphFamilies, MalformedSpecsAreRefused) {
  for (const char* spec : {"vgg:", "vgg:4,,8", "vgg:0", "resnet:4,x", "resnet:4:0",
                           "resnet:4:", "resnet:4:99", "vgg:4,8,16,32,64,128"}) {
    try {
      graph_family(spec, {1, 28, 28}, 10);
      ADD_FAILURE() << spec << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind() == ErrorKind::usage || e.kind() == ErrorKind::input, true)
          << spec << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find("--arch"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(graph_family("resnet:8", {784}, 10), Error);  // flat data has no images to convolve
}

}  // namespace
}  // namespace modeconn
