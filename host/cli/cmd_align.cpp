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
#include "modeconn/graph.hpp"
#include "modeconn/json_read.hpp"
#include "modeconn/perm_spec.hpp"
#include "modeconn/report.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn::cli {

namespace {

bool holds_graph_beyond_mlp(const TensorFile& file, const std::string& path) {
  const auto graph = file.metadata.find("modeconn.graph");
  return graph != file.metadata.end() && !graph_from_json(graph->second, path).is_mlp();
}

struct NamedFile {
  std::string path;
  const TensorFile* file;
};

Graph read_graph(const NamedFile& f) {
  const auto graph = f.file->metadata.find("modeconn.graph");
  if (graph == f.file->metadata.end())
    throw input_error(f.path, "holds an MLP without a layer graph; both models must be the same graph");
  Graph g = graph_from_json(graph->second, f.path);
  check_graph_tensors(g, *f.file, f.path);
  return g;
}

// Two layer graphs beyond MLPs: weight matching over the permutation groups derived from the graph.
int align_graphs(CommandLine& cl, AlignMethod method, const NamedFile& a, const NamedFile& b,
                 const std::string& out, const std::string& json) {
  if (method != AlignMethod::weight)
    throw usage_error(
        "--method activation: matching the activations of a layer graph needs its forward pass, "
        "which this version lacks; use --method weight");
  const Graph ga = read_graph(a), gb = read_graph(b);
  if (graph_to_json(ga) != graph_to_json(gb))
    throw input_error(b.path, "holds another graph than " + a.path + "; alignment needs one architecture");
  const PermSpec spec = perm_spec(ga);
  const AlignOptions options = read_align_options(cl, method, Activation::relu);
  const auto start = std::chrono::steady_clock::now();
  const GraphMatching m =
      graph_weight_matching(spec, *a.file, *b.file, options.matching.max_sweeps, options.matching.seed);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  TensorFile aligned = *b.file;
  apply_permutations(spec, m.perms, aligned);
  int64_t channels = 0, in_place = 0;
  for (const auto& perm : m.perms)
    for (std::size_t i = 0; i < perm.size(); ++i) {
      ++channels;
      in_place += perm[i] == static_cast<int64_t>(i);
    }
  Outputs& outputs = cl.outputs();
  outputs.stage(out, serialize_safetensors(aligned));
  if (!json.empty()) {
    const nlohmann::json j = {
        {"method", "weight"},
        {"a", a.path},
        {"b", b.path},
        {"out", out},
        {"groups", spec.groups.size()},
        {"channels", channels},
        {"sweeps", m.sweeps},
        {"seconds", seconds},
        {"objective_before", number_json(m.objective_before)},
        {"objective_after", number_json(m.objective_after)},
        {"fraction_in_place",
         channels ? static_cast<double>(in_place) / static_cast<double>(channels) : 1.0}};
    outputs.stage(json, j.dump(2) + "\n");
  }
  outputs.commit();
  char line[160];
  std::cout << b.path << " aligned onto " << a.path << " -> " << out << "\n";
  std::snprintf(line, sizeof line,
                "weight matching over %zu permutation groups (%lld channels): %d sweeps, %.2f s\n",
                spec.groups.size(), static_cast<long long>(channels), m.sweeps, seconds);
  std::cout << line;
  std::snprintf(line, sizeof line, "  objective  %.6g -> %.6g\n  channels in place  %.1f%%\n",
                m.objective_before, m.objective_after,
                channels ? 100.0 * static_cast<double>(in_place) / static_cast<double>(channels) : 100.0);
  std::cout << line;
  cl.summary("weight matching of " + std::to_string(spec.groups.size()) + " permutation group(s)");
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
  if (holds_graph_beyond_mlp(file_a, a_path) || holds_graph_beyond_mlp(file_b, b_path))
    return align_graphs(cl, method, {a_path, &file_a}, {b_path, &file_b}, out, json);
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
