// modeconn align: permutes (and for odd activations flips) B's hidden units onto A's, checked to keep B's
// function.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/align_options.hpp"
#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "modeconn/error.hpp"
#include "modeconn/graph_align.hpp"
#include "modeconn/json_read.hpp"
#include "modeconn/perm_spec.hpp"
#include "modeconn/report.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn::cli {

namespace {

// Two layer graphs beyond MLPs: matching over the permutation groups derived from the graph.
int align_graphs(CommandLine& cl, AlignMethod method, const std::string& a_path, const TensorFile& file_a,
                 const std::string& b_path, const TensorFile& file_b, const std::string& out,
                 const std::string& json) {
  GraphModel a = graph_model_from_tensors(file_a, a_path), b = graph_model_from_tensors(file_b, b_path);
  check_same_graph(a, a_path, b, b_path);
  std::unique_ptr<Dataset> data;
  if (cl.has("data")) {
    data = std::make_unique<Dataset>(load_dataset(cl.get<std::string>("data")));
    fit_graph_to_data(a, a_path, *data);
    fit_graph_to_data(b, b_path, *data);
  }
  const AlignOptions options = read_align_options(cl, method, Activation::relu);
  auto backend = cl.backend();
  std::string device;
  auto runner = graph_runner(*backend, cl, &device);
  const GraphAlignOutcome outcome = align_graph_models(*runner, a, b, data.get(), method, options.matching);
  // B's file with its tensors permuted: its metadata and tensor order as B was written.
  const TensorFile permuted = graph_model_to_tensors(outcome.aligned);
  TensorFile aligned;
  aligned.metadata = file_b.metadata;
  for (const auto& t : file_b.tensors) aligned.tensors.push_back(*permuted.find(t.name));
  Outputs& outputs = cl.outputs();
  outputs.stage(out, serialize_safetensors(aligned));
  if (!json.empty()) outputs.stage(json, graph_align_report_json(outcome, method, a_path, b_path, out));
  outputs.commit();
  std::cout << b_path << " aligned onto " << a_path << " -> " << out << "\n"
            << graph_align_report_table(outcome, method);
  cl.summary(std::string(align_method_name(method)) + " matching of " +
             std::to_string(outcome.spec.groups.size()) + " permutation group(s)");
  return 0;
}

}  // namespace

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

  const TensorFile file_a = read_safetensors(a_path), file_b = read_safetensors(b_path);
  if (holds_graph_beyond_mlp(file_a.metadata, a_path) || holds_graph_beyond_mlp(file_b.metadata, b_path))
    return align_graphs(cl, method, a_path, file_a, b_path, file_b, out, json);
  Model a = model_from_tensors(file_a, a_path, cl.get<std::string>("activation"));
  Model b = model_from_tensors(file_b, b_path, cl.get<std::string>("activation"));
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
