// Model files: layer order as the file records it or by natural sort, confirmed by shapes; metadata; every
// malformed model refused.
#include "modeconn/model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "modeconn/error.hpp"
#include "modeconn/tensor_file.hpp"
#include "support/fixtures.hpp"

namespace modeconn {
namespace {

using test::TempDir;

NamedTensor filled(const std::string& name, std::vector<int64_t> shape, float start) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = start + static_cast<float>(i);
  return {name, std::move(shape), std::move(v)};
}

std::string refusal(const TensorFile& f, const std::string& activation = "") {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  write_safetensors(f, path);
  try {
    load_model(path, activation);
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path, 0), 0u) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted a bad model";
  return "";
}

TEST(Model, OrdersLayersNaturallyAndKeepsValues) {
  // Eleven layers, so that a plain string sort would put layers.10 before layers.2.
  TensorFile f;
  std::vector<int64_t> widths{3};
  for (int l = 0; l < 11; ++l) widths.push_back(l == 10 ? 2 : 4 + l);
  for (int l = 10; l >= 0; --l) {  // written in reverse, to show the order comes from the names
    const std::string p = "layers." + std::to_string(l);
    f.tensors.push_back(filled(p + ".weight", {widths[l + 1], widths[l]}, static_cast<float>(100 * l)));
    f.tensors.push_back(filled(p + ".bias", {widths[l + 1]}, -static_cast<float>(l)));
  }
  f.metadata["modeconn.activation"] = "gelu";
  TempDir dir;
  write_safetensors(f, dir.file("m.safetensors"));
  const Model m = load_model(dir.file("m.safetensors"));
  ASSERT_EQ(m.arch.layers.size(), 11u);
  EXPECT_EQ(m.arch.widths(), "3-4-5-6-7-8-9-10-11-12-13-2");
  EXPECT_EQ(m.arch.layers[10].weight_name, "layers.10.weight");
  EXPECT_EQ(m.arch.activation, Activation::gelu);
  EXPECT_FALSE(m.task_known);
  EXPECT_EQ(m.weight(2)[0], 200.f);
  EXPECT_EQ(m.bias(10)[1], -9.f);
  EXPECT_EQ(m.arch.num_params(), m.params.size());
}

// Names that do not sort into forward order (input_layer, hidden1, output): the order the file records is the
// one read, a file without one says how to export it, and a record that disagrees with the tensors is
// refused.
TEST(Model, ReadsLayersInTheOrderTheFileRecords) {
  TensorFile f;
  f.tensors.push_back(filled("input_layer.weight", {4, 3}, 0));
  f.tensors.push_back(filled("input_layer.bias", {4}, 0));
  f.tensors.push_back(filled("hidden1.weight", {5, 4}, 10));
  f.tensors.push_back(filled("output.weight", {2, 5}, 20));
  EXPECT_NE(refusal(f).find("export the checkpoint with scripts/export_torch.py"), std::string::npos);

  f.metadata["modeconn.layers"] = R"(["input_layer", "hidden1", "output"])";
  TempDir dir;
  write_safetensors(f, dir.file("m.safetensors"));
  const Model m = load_model(dir.file("m.safetensors"));
  EXPECT_EQ(m.arch.widths(), "3-4-5-2");
  EXPECT_EQ(m.weight(1)[0], 10.f);
  // modeconn's own files record the order too, so such a model survives being written and read again.
  save_model(m, dir.file("again.safetensors"));
  const Model again = load_model(dir.file("again.safetensors"));
  EXPECT_EQ(again.arch.widths(), "3-4-5-2");
  EXPECT_EQ(again.params, m.params);
  EXPECT_EQ(again.arch.layers[0].weight_name, "input_layer.weight");

  for (const auto& [record, problem] : std::vector<std::pair<std::string, std::string>>{
           {R"(["input_layer", "hidden1"])", "does not name the layer 'output'"},
           {R"(["input_layer", "hidden1", "output", "extra"])", "names 'extra', which has no tensors"},
           {R"(["input_layer", "input_layer", "hidden1", "output"])", "names 'input_layer' twice"},
           {R"({"a": 1})", "is not a list of layer names"},
           {R"([1, 2, 3])", "holds something other than names"},
           {R"(["input_layer", )", "modeconn.layers"}}) {
    TensorFile bad = f;
    bad.metadata["modeconn.layers"] = record;
    EXPECT_NE(refusal(bad).find(problem), std::string::npos) << record;
  }
}

TEST(Model, SaveAndLoadRoundTripsWithMetadata) {
  Model m = test::random_model({5, 7, 3}, Activation::tanh, Task::regression, 4);
  TempDir dir;
  save_model(m, dir.file("m.safetensors"));
  const Model back = load_model(dir.file("m.safetensors"));
  EXPECT_EQ(back.params, m.params);
  EXPECT_EQ(back.arch.activation, Activation::tanh);
  EXPECT_EQ(back.arch.task, Task::regression);
  EXPECT_TRUE(back.task_known);
  EXPECT_EQ(load_model(dir.file("m.safetensors"), "sigmoid").arch.activation, Activation::sigmoid);
}

TEST(Model, MissingBiasIsZero) {
  TensorFile f;
  f.tensors.push_back(filled("fc1.weight", {2, 3}, 1));
  f.tensors.push_back(filled("fc2.weight", {1, 2}, 1));
  f.tensors.push_back(filled("fc2.bias", {1}, 5));
  TempDir dir;
  write_safetensors(f, dir.file("m.safetensors"));
  const Model m = load_model(dir.file("m.safetensors"));
  EXPECT_EQ(m.bias(0)[0], 0.f);
  EXPECT_EQ(m.bias(1)[0], 5.f);
}

TEST(Model, RefusesMalformedModels) {
  TensorFile chain;
  chain.tensors.push_back(filled("fc1.weight", {4, 3}, 0));
  chain.tensors.push_back(filled("fc2.weight", {2, 5}, 0));
  EXPECT_NE(refusal(chain).find("'fc2.weight' takes 5 inputs but the layer before it ('fc1.weight') gives 4"),
            std::string::npos);

  TensorFile nan;
  nan.tensors.push_back(filled("fc1.weight", {2, 2}, 0));
  nan.tensors[0].values[3] = std::nanf("");
  EXPECT_NE(refusal(nan).find("NaN or Inf"), std::string::npos);
  nan.tensors[0].values[3] = INFINITY;
  EXPECT_NE(refusal(nan).find("NaN or Inf"), std::string::npos);

  TensorFile act;
  act.tensors.push_back(filled("fc1.weight", {2, 2}, 0));
  act.metadata["modeconn.activation"] = "swish";
  EXPECT_NE(refusal(act).find("unknown activation 'swish'"), std::string::npos);

  TensorFile bn;
  bn.tensors.push_back(filled("fc1.weight", {2, 2}, 0));
  bn.tensors.push_back(filled("bn.running_mean", {2}, 0));
  EXPECT_NE(refusal(bn).find("neither a .weight nor a .bias"), std::string::npos);

  TensorFile bias;
  bias.tensors.push_back(filled("fc1.weight", {2, 2}, 0));
  bias.tensors.push_back(filled("fc1.bias", {3}, 0));
  EXPECT_NE(refusal(bias).find("'fc1.bias' has shape [3]"), std::string::npos);

  TensorFile conv;
  conv.tensors.push_back(filled("conv.weight", {2, 2, 3, 3}, 0));
  EXPECT_NE(refusal(conv).find("not [out, in]"), std::string::npos);

  EXPECT_NE(refusal(TensorFile{}).find("holds no tensors"), std::string::npos);
}

}  // namespace
}  // namespace modeconn
