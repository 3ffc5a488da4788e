// What the plan decides before any op runs: which activations an op applies in its own pass (the fusion the
// MLP's speed through the executor rests on), which it must not, and which nodes a run needs.
#include "modeconn/graph_plan.hpp"

#include <gtest/gtest.h>

#include "graph/graph_models.hpp"
#include "modeconn/graph.hpp"
#include "support/fixtures.hpp"

namespace modeconn {
namespace {

TEST(GraphPlan, AnMlpsHiddenActivationsRunInsideTheirLinearLayers) {
  const Model m = test::random_model({12, 16, 10, 4}, Activation::gelu, Task::classification, 3);
  const Graph g = mlp_graph(m.arch);
  const GraphPlan plan = make_plan(g);
  int fused = 0;
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].op != Op::activation) continue;
    const int producer = g.nodes[i].inputs.front();
    EXPECT_EQ(g.nodes[static_cast<std::size_t>(producer)].op, Op::linear);
    EXPECT_EQ(plan.fused_activation[static_cast<std::size_t>(producer)], static_cast<int>(i))
        << g.nodes[i].name;
    EXPECT_TRUE(plan.fused_away[i]) << g.nodes[i].name;
    EXPECT_EQ(plan.slot[i], plan.slot[static_cast<std::size_t>(producer)]) << "the activation stays in place";
    ++fused;
  }
  EXPECT_EQ(fused, 2);
  EXPECT_EQ(plan.first_layer, 1);
  // The output layer has no activation after it, and applies none.
  EXPECT_EQ(plan.fused_activation[static_cast<std::size_t>(plan.stop)], -1);
}

TEST(GraphPlan, AnOpDeliveredToTheCallerKeepsItsOwnOutput) {
  // Statistics of a hidden linear layer's pre-activation output (BatchNorm recompute, activation matching of
  // a pre-activation node) need that output as it is: stopping at it fuses nothing into it.
  const Model m = test::random_model({12, 16, 10, 4}, Activation::relu, Task::classification, 3);
  const Graph g = mlp_graph(m.arch);
  const GraphPlan plan = make_plan(g, 1);
  EXPECT_EQ(plan.stop, 1);
  EXPECT_EQ(plan.fused_activation[1], -1);
  EXPECT_FALSE(plan.needed[2]) << "nothing after the stop node runs";
}

TEST(GraphPlan, BatchNormAndConvolutionsFuseTheActivationThatAloneReadsThem) {
  const Graph residual = graph_from_json(test::kResidual, "residual");
  const GraphPlan plan = make_plan(residual);
  // stem → bn → relu: the BatchNorm applies the ReLU; relu's output is read twice (conv and the sum), which
  // is fine: the fused op writes it.
  EXPECT_EQ(plan.fused_activation[static_cast<std::size_t>(node_index(residual, "bn"))],
            node_index(residual, "relu"));
  // sum → relu2: an add is not an op that fuses.
  EXPECT_FALSE(plan.fused_away[static_cast<std::size_t>(node_index(residual, "relu2"))]);

  const Graph one = graph_from_json(test::kOneChannel, "one channel");
  const GraphPlan p1 = make_plan(one);
  EXPECT_EQ(p1.fused_activation[static_cast<std::size_t>(node_index(one, "conv"))], node_index(one, "tanh"));
  EXPECT_TRUE(p1.fused_away[static_cast<std::size_t>(node_index(one, "tanh"))]);
}

TEST(GraphPlan, AnOutputReadByMoreThanTheActivationIsNotFusedInto) {
  // a linear layer read by its activation and by a residual sum: applying the activation in place would
  // hand the sum the activated values.
  const Graph g = graph_from_json(R"({"nodes": [
   {"name": "input", "op": "input", "shape": [6]},
   {"name": "fc1", "op": "linear", "out_features": 6, "tensors": {"weight": "fc1.weight", "bias": "fc1.bias"}},
   {"name": "act", "op": "activation", "activation": "relu"},
   {"name": "sum", "op": "add", "inputs": ["act", "fc1"]},
   {"name": "fc2", "op": "linear", "out_features": 3, "tensors": {"weight": "fc2.weight", "bias": "fc2.bias"}}]})",
                                  "skip");
  const GraphPlan plan = make_plan(g);
  EXPECT_EQ(plan.fused_activation[static_cast<std::size_t>(node_index(g, "fc1"))], -1);
  EXPECT_FALSE(plan.fused_away[static_cast<std::size_t>(node_index(g, "act"))]);
}

}  // namespace
}  // namespace modeconn
