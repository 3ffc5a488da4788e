// Names of activations and tasks, as they appear on the command line and in file metadata.
#include "modeconn/activation.hpp"

#include <array>
#include <utility>

#include "modeconn/error.hpp"
#include "modeconn/model.hpp"

namespace modeconn {
namespace {

constexpr std::array<std::pair<Activation, std::string_view>, 7> kActivations{{
    {Activation::relu, "relu"},
    {Activation::leaky_relu, "leaky_relu"},
    {Activation::tanh, "tanh"},
    {Activation::sigmoid, "sigmoid"},
    {Activation::gelu, "gelu"},
    {Activation::softplus, "softplus"},
    {Activation::identity, "identity"},
}};

}  // namespace

Activation parse_activation(std::string_view name, const std::string& where) {
  for (const auto& [a, n] : kActivations)
    if (n == name) return a;
  throw Error(ErrorKind::input, where + ": unknown activation '" + std::string(name) +
                                    "' (relu, leaky_relu, tanh, sigmoid, gelu, softplus, identity)");
}

std::string_view activation_name(Activation a) {
  for (const auto& [act, n] : kActivations)
    if (act == a) return n;
  return "?";
}

Task parse_task(std::string_view name, const std::string& where) {
  if (name == "classification") return Task::classification;
  if (name == "regression") return Task::regression;
  throw Error(ErrorKind::input,
              where + ": unknown task '" + std::string(name) + "' (classification, regression)");
}

std::string_view task_name(Task t) { return t == Task::classification ? "classification" : "regression"; }

}  // namespace modeconn
