// An MLP: its architecture (layer shapes, activation, task) and its parameters as one flat vector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "modeconn/activation.hpp"

namespace modeconn {

enum class Task { classification, regression };
Task parse_task(std::string_view name, const std::string& where);
std::string_view task_name(Task t);

// The limits of a model modeconn reads or trains: layers, units of a layer, parameters in all. Beyond them a
// file is refused up front instead of costing minutes and gigabytes.
constexpr std::size_t kMaxLayers = 1024;
constexpr int64_t kMaxWidth = int64_t{1} << 16;
constexpr int64_t kMaxParams = int64_t{1} << 28;

// One fully connected layer: y = W x + b with W stored [out, in], row-major, as PyTorch stores it.
struct LayerShape {
  int64_t in = 0;
  int64_t out = 0;
  std::string weight_name;  // tensor names kept so that written files look like the ones read
  std::string bias_name;
};

// The shape of an MLP. Parameters are laid out layer by layer, each layer's W then b.
struct Architecture {
  std::vector<LayerShape> layers;
  Activation activation = Activation::relu;  // after every layer but the last
  Task task = Task::classification;

  int64_t input_width() const { return layers.front().in; }
  int64_t output_width() const { return layers.back().out; }
  int64_t max_width() const;
  std::size_t num_params() const;
  std::size_t weight_offset(std::size_t layer) const;
  std::size_t bias_offset(std::size_t layer) const {
    return weight_offset(layer) + layers[layer].out * layers[layer].in;
  }
  // "784-256-256-10"
  std::string widths() const;
  // Same layer widths (names, activation and task may differ).
  bool same_shape(const Architecture& other) const;
};

// Builds the layers of an MLP with the given widths (input, hidden..., output), PyTorch-style names.
Architecture make_architecture(const std::vector<int64_t>& widths, Activation activation, Task task);

struct Model {
  Architecture arch;
  std::vector<float> params;  // arch.num_params() values
  bool task_known = true;     // false when the file did not say; the data then decides

  std::span<const float> weight(std::size_t layer) const;
  std::span<const float> bias(std::size_t layer) const;
};

struct TensorFile;
// Builds an MLP from named tensors and metadata; `where` names the source in messages.
Model model_from_tensors(const TensorFile& file, const std::string& where,
                         const std::string& activation_override);
// The tensors and metadata that represent a model in a file.
TensorFile model_to_tensors(const Model& model);

// Reads an MLP from safetensors. The activation comes from `activation_override` when it is non-empty,
// else from the file's metadata, else relu. Every problem is an input error naming the file.
Model load_model(const std::string& path, const std::string& activation_override = "");

// Writes F32 safetensors with modeconn's metadata, atomically.
void save_model(const Model& model, const std::string& path);

}  // namespace modeconn
