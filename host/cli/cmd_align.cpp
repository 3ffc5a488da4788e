// modeconn align: permutes (and for odd activations flips) B's hidden units onto A's, checked to keep B's
// function.
#include <iostream>

#include "cli/align_options.hpp"
#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "modeconn/error.hpp"
#include "modeconn/report.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn::cli {

int run_align(const Args& args) {
  CommandLine cl("align",
                 "modeconn align --a A --b B [--data D] --method weight|activation --out "
                 "B_ALIGNED.safetensors [--json OUT]");
  cl.options().add_options()("a", po::value<std::string>()->required(),
                             "the reference minimum (safetensors)")("b", po::value<std::string>()->required(),
                                                                    "the minimum to align onto A")(
      "data", po::value<std::string>(),
      "data: needed by activation matching; the function check runs on its test split")(
      "method", po::value<std::string>()->default_value("weight"), "weight or activation")(
      "out", po::value<std::string>()->required(), "where to write the aligned B")(
      "json", po::value<std::string>(), "write the alignment report as JSON")(
      "activation", po::value<std::string>()->default_value(""),
      "activation for files without modeconn metadata (default relu)");
  add_align_options(cl);
  if (!cl.parse(args)) return 0;

  const auto a_path = cl.get<std::string>("a"), b_path = cl.get<std::string>("b"),
             out = cl.get<std::string>("out");
  const AlignMethod method =
      with_option("--method", [&] { return parse_align_method(cl.get<std::string>("method")); });
  if (method == AlignMethod::none) throw usage_error("--method must be weight or activation");
  if (method == AlignMethod::activation && !cl.has("data"))
    throw usage_error("--method activation: activation matching needs --data");
  const std::string json = cl.has("json") ? cl.get<std::string>("json") : "";
  Outputs& outputs = cl.outputs();
  outputs.input(a_path);
  outputs.input(b_path);
  if (cl.has("data")) outputs.data_inputs(cl.get<std::string>("data"));
  outputs.output("--out", out);
  outputs.output("--json", json);
  outputs.check();

  Model a = load_model(a_path, cl.get<std::string>("activation"));
  Model b = load_model(b_path, cl.get<std::string>("activation"));
  check_same_architecture(a, a_path, b, b_path);
  std::unique_ptr<Dataset> data;
  if (cl.has("data")) {
    data = std::make_unique<Dataset>(load_dataset(cl.get<std::string>("data")));
    fit_model_to_data(a, a_path, *data);
    fit_model_to_data(b, b_path, *data);
  }
  const AlignOptions options = read_align_options(cl, method, a.arch.activation);
  auto backend = cl.backend();
  const AlignOutcome outcome = align_models(*backend, a, b, data.get(), options);

  const auto bytes = serialize_safetensors(model_to_tensors(outcome.aligned));
  outputs.stage(out, bytes);
  if (!json.empty()) outputs.stage(json, align_report_json(outcome, method, a_path, b_path, out));
  outputs.commit();
  std::cout << b_path << " aligned onto " << a_path << " -> " << out << "\n"
            << align_report_table(outcome, method);
  cl.summary(std::string(align_method_name(method)) + " matching of " +
             std::to_string(a.arch.layers.size() - 1) + " hidden layer(s)");
  return 0;
}

}  // namespace modeconn::cli
