// Cross-checks between models and data that every command needs.
#include "cli/inputs.hpp"

#include "modeconn/error.hpp"

namespace modeconn::cli {

void fit_model_to_data(Model& model, const std::string& model_path, const Dataset& data) {
  if (!model.task_known) model.arch.task = data.train.task;
  check_compatible(data.train, model.arch, model_path);
  check_compatible(data.test, model.arch, model_path);
}

void check_same_architecture(const Model& a, const std::string& path_a, const Model& b,
                             const std::string& path_b) {
  if (!a.arch.same_shape(b.arch))
    throw input_error(
        path_b, "architecture " + b.arch.widths() + " differs from " + path_a + " (" + a.arch.widths() + ")");
  if (a.arch.activation != b.arch.activation)
    throw input_error(path_b, "activation " + std::string(activation_name(b.arch.activation)) +
                                  " differs from " + path_a + " (" +
                                  std::string(activation_name(a.arch.activation)) + ")");
  if (a.task_known && b.task_known && a.arch.task != b.arch.task)
    throw input_error(path_b, "is a " + std::string(task_name(b.arch.task)) + " model but " + path_a +
                                  " is a " + std::string(task_name(a.arch.task)) + " one");
}

Pair load_pair(const std::string& a_path, const std::string& b_path, const std::string& activation,
               const std::string& data_spec) {
  Pair p{load_model(a_path, activation), load_model(b_path, activation), {}};
  check_same_architecture(p.a, a_path, p.b, b_path);
  p.data = load_dataset(data_spec);
  fit_model_to_data(p.a, a_path, p.data);
  fit_model_to_data(p.b, b_path, p.data);
  return p;
}

std::string describe(const Architecture& arch) {
  return arch.widths() + " " + std::string(activation_name(arch.activation)) + " " +
         std::string(task_name(arch.task));
}

std::vector<const Split*> chosen_splits(const Dataset& data, const std::string& which) {
  if (which == "test") return {&data.test};
  if (which == "train") return {&data.train};
  if (which == "both") return {&data.test, &data.train};
  throw usage_error("--split: expected test, train or both, not '" + which + "'");
}

}  // namespace modeconn::cli
