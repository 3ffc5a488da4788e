// Cross-checks between models and data that every command needs.
#include "cli/inputs.hpp"

#include <tuple>

#include "modeconn/error.hpp"
#include "modeconn/file_util.hpp"
#include "modeconn/graph_families.hpp"
#include "modeconn/tensor_file.hpp"

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

GraphPair load_graph_pair(const std::string& a_path, const std::string& b_path,
                          const std::string& data_spec) {
  const TensorFile file_a = read_safetensors(a_path), file_b = read_safetensors(b_path);
  for (const auto& [file, path, other] :
       {std::tuple{&file_a, &a_path, &b_path}, std::tuple{&file_b, &b_path, &a_path}})
    if (!file->metadata.count("modeconn.graph"))
      throw input_error(*path,
                        "holds an MLP but " + *other + " holds a layer graph; both must be one architecture");
  GraphPair p{graph_model_from_tensors(file_a, a_path), graph_model_from_tensors(file_b, b_path), {}};
  check_same_graph(p.a, a_path, p.b, b_path);
  p.data = load_dataset(data_spec);
  fit_graph_to_data(p.a, a_path, p.data);
  fit_graph_to_data(p.b, b_path, p.data);
  return p;
}

void fit_graph_to_data(GraphModel& model, const std::string& model_path, const Dataset& data) {
  if (!model.task_known) model.task = data.train.task;
  check_graph_compatible(data.train, model, model_path);
  check_graph_compatible(data.test, model, model_path);
}

bool graph_inputs(const std::string& a_path, const std::string& b_path) {
  // The headers only: the command reads the files in full once it knows which kind they are.
  return holds_graph_beyond_mlp(read_safetensors_metadata(a_path), a_path) ||
         holds_graph_beyond_mlp(read_safetensors_metadata(b_path), b_path);
}

std::string describe(const GraphModel& m) {
  int64_t bn = 0;
  for (const Node& n : m.graph.nodes) bn += n.op == Op::batch_norm;
  const auto& in = m.graph.nodes.front().shape;
  std::string text = "graph of " + std::to_string(m.graph.nodes.size()) + " nodes, input " + shape_text(in) +
                     ", " + std::to_string(m.graph.output_size()) + " outputs, " +
                     std::to_string(m.params.size()) + " parameters, ";
  text.append(std::to_string(bn))
      .append(bn == 1 ? " BatchNorm, " : " BatchNorms, ")
      .append(task_name(m.task));
  return text;
}

std::unique_ptr<GraphRunner> graph_runner(Backend& backend, const CommandLine& cl, std::string* device) {
  if (auto runner = backend.graph_runner()) {
    *device = backend.name();
    return runner;
  }
  cl.say("the " + backend.name() +
         " backend does not run layer graphs yet; this graph runs on the CPU backend");
  *device = "cpu";
  return make_cpu_graph_runner();
}

Graph arch_graph(const std::string& spec, const Dataset& data) {
  if (is_graph_family(spec)) {
    std::vector<int64_t> shape = data.train.sample_shape;
    if (shape.size() == 2) shape.insert(shape.begin(), 1);  // an IDX image: one channel
    return graph_family(spec, shape, output_width(data));
  }
  const auto text = read_file(spec, kMaxTextFileBytes);
  return graph_from_json(std::string(text.begin(), text.end()), spec);
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

Split first_rows(const Split& s, int64_t rows) {
  if (rows <= 0 || rows >= s.rows) return s;
  Split out = s;
  out.rows = rows;
  out.x.resize(static_cast<std::size_t>(rows * s.features));
  if (!s.labels.empty()) out.labels.resize(static_cast<std::size_t>(rows));
  if (!s.targets.empty()) out.targets.resize(static_cast<std::size_t>(rows * s.target_width));
  out.uid = next_split_uid();  // other contents: a device's cached copy of the whole split must not serve it
  return out;
}

}  // namespace modeconn::cli
