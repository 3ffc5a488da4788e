// modeconn inspect: what a model file holds, and with --data how well it does.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/command_line.hpp"
#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "modeconn/graph.hpp"
#include "modeconn/path.hpp"
#include "modeconn/perm_spec.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn::cli {
namespace {

double norm(std::span<const float> v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

std::string dims(const std::vector<int64_t>& shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += "x";
    s += std::to_string(shape[i]);
  }
  return s;
}

// A layer graph as a table: each node, its op and what it takes, its output shape for one sample, and the
// parameters (buffers apart) it holds.
void print_graph(const Graph& g, const std::string& path) {
  char line[256];
  std::cout << path << "\n";
  std::cout << "  layer graph   " << g.nodes.size() << " nodes, input " << dims(g.nodes.front().shape) << ", "
            << g.output_size() << " outputs\n";
  std::cout << "  parameters    " << g.num_params() << " (and " << g.num_buffers()
            << " BatchNorm running statistics)\n\n";
  std::snprintf(line, sizeof line, "  %-22s %-16s %-22s %-14s %10s\n", "node", "op", "inputs", "output",
                "parameters");
  std::cout << line;
  for (const Node& n : g.nodes) {
    std::string inputs;
    for (int k : n.inputs) {
      if (!inputs.empty()) inputs += ",";
      inputs += g.nodes[static_cast<std::size_t>(k)].name;
    }
    // "conv2d 3x3/2": the kernel, and the stride when it is not 1.
    char op[64];
    if (n.op == Op::activation)
      std::snprintf(op, sizeof op, "%s %s", std::string(op_name(n.op)).c_str(),
                    std::string(activation_name(n.activation)).c_str());
    else if (n.op == Op::conv2d || n.op == Op::max_pool2d || n.op == Op::avg_pool2d)
      std::snprintf(op, sizeof op, n.stride[0] != 1 ? "%s %lldx%lld/%lld" : "%s %lldx%lld",
                    std::string(op_name(n.op)).c_str(), static_cast<long long>(n.kernel[0]),
                    static_cast<long long>(n.kernel[1]), static_cast<long long>(n.stride[0]));
    else
      std::snprintf(op, sizeof op, "%s", std::string(op_name(n.op)).c_str());
    int64_t params = 0;
    for (const auto& [role, _] : n.tensors)
      if (role == TensorRole::weight || role == TensorRole::bias) {
        int64_t size = 1;
        for (int64_t d : g.tensor_shape(n, role)) size *= d;
        params += size;
      }
    std::snprintf(line, sizeof line, "  %-22s %-16s %-22s %-14s %10lld\n", n.name.c_str(), op, inputs.c_str(),
                  dims(n.shape).c_str(), static_cast<long long>(params));
    std::cout << line;
  }
  // The symmetries derived from the graph: each group with the nodes whose channels it permutes and every
  // tensor axis it moves (TENSOR:AXIS, /BLOCK where a channel is a block of features after a flatten).
  const PermSpec spec = perm_spec(g);
  std::cout << "\n  permutation groups  " << spec.groups.size()
            << " (channels reordered together leave the function unchanged)\n";
  for (std::size_t k = 0; k < spec.groups.size(); ++k) {
    const PermGroup& group = spec.groups[k];
    std::string nodes, axes;
    for (const auto& name : group.nodes) nodes.append(nodes.empty() ? "" : ",").append(name);
    for (const PermAxis& a : group.axes) {
      axes.append(" ").append(a.tensor).append(":").append(std::to_string(a.axis));
      if (a.block != 1) axes.append("/").append(std::to_string(a.block));
    }
    std::snprintf(line, sizeof line, "  group %-3zu %6lld channels  ", k + 1,
                  static_cast<long long>(group.size));
    std::cout << line << nodes << "\n    moves" << axes << "\n";
  }
}

}  // namespace

int run_inspect(const Args& args) {
  CommandLine cl("inspect", "modeconn inspect MODEL [--data D]");
  cl.options().add_options()("model", po::value<std::string>()->required(), "model file (safetensors)")(
      "data", po::value<std::string>(), "also evaluate loss and error on this data")(
      "activation", po::value<std::string>()->default_value(""),
      "activation for files without modeconn metadata (default relu)");
  cl.positional("model", 1);
  if (!cl.parse(args)) return 0;

  const auto path = cl.get<std::string>("model");
  const TensorFile file = read_safetensors(path);
  char line[256];
  if (const auto curve = file.metadata.find("modeconn.curve"); curve != file.metadata.end()) {
    // A curve file: say so, and what it holds, instead of refusing it as a model.
    const Path p = curve_from_tensors(file, path, cl.get<std::string>("activation"));
    std::cout << path << "\n";
    std::cout << "  curve file    a " << curve->second << " curve of " << p.points.size()
              << " control points (endpoints included)\n";
    std::cout << "  architecture  " << p.arch.widths() << "\n";
    std::cout << "  activation    " << activation_name(p.arch.activation) << "\n";
    std::cout << "  evaluate it   modeconn path --kind " << curve->second << " --curve " << path
              << " --a A --b B --data D\n";
    return 0;
  }
  if (const auto graph = file.metadata.find("modeconn.graph"); graph != file.metadata.end()) {
    const Graph g = graph_from_json(graph->second, path);
    check_graph_tensors(g, file, path);
    if (!g.is_mlp()) {
      GraphModel model = graph_model_from_tensors(file, path);
      std::unique_ptr<Dataset> data;
      if (cl.has("data")) {
        data = std::make_unique<Dataset>(load_dataset(cl.get<std::string>("data")));
        fit_graph_to_data(model, path, *data);
      }
      print_graph(g, path);
      if (data) {
        // As trained: BatchNorm with the file's running statistics.
        auto backend = cl.backend();
        std::string device;
        auto runner = graph_runner(*backend, cl, &device);
        const GraphPoints points = model_graph_points(*runner, model);
        std::cout << "\n";
        for (const Split* s : {&data->test, &data->train}) {
          const PointMetrics m = runner->metrics(points, *s).front();
          std::snprintf(line, sizeof line, "  %-5s  loss %.5f  error %.4f  (%lld samples)\n", s->name.c_str(),
                        m.loss, m.error, static_cast<long long>(s->rows));
          std::cout << line;
        }
      }
      cl.summary(data ? "evaluated on the test and train splits" : "layer graph read");
      return 0;
    }
  }
  Model model = model_from_tensors(file, path, cl.get<std::string>("activation"));
  std::cout << path << "\n";
  std::cout << "  architecture  " << model.arch.widths() << "\n";
  std::cout << "  activation    " << activation_name(model.arch.activation) << "\n";
  std::cout << "  task          "
            << (model.task_known ? std::string(task_name(model.arch.task))
                                 : "not stated (taken from the data)")
            << "\n";
  std::cout << "  parameters    " << model.arch.num_params() << "\n\n";
  std::snprintf(line, sizeof line, "  %-24s %-14s %12s %12s\n", "layer", "shape", "|W|", "|b|");
  std::cout << line;
  for (std::size_t l = 0; l < model.arch.layers.size(); ++l) {
    const auto& layer = model.arch.layers[l];
    const std::string shape = std::to_string(layer.out) + "x" + std::to_string(layer.in);
    std::snprintf(line, sizeof line, "  %-24s %-14s %12.4f %12.4f\n", layer.weight_name.c_str(),
                  shape.c_str(), norm(model.weight(l)), norm(model.bias(l)));
    std::cout << line;
  }
  if (cl.has("data")) {
    const Dataset data = load_dataset(cl.get<std::string>("data"));
    fit_model_to_data(model, path, data);
    auto backend = cl.backend();
    std::cout << "\n";
    for (const Split* s : {&data.test, &data.train}) {
      const PointMetrics m = evaluate_model(*backend, model, *s);
      std::snprintf(line, sizeof line, "  %-5s  loss %.5f  error %.4f  (%lld samples)\n", s->name.c_str(),
                    m.loss, m.error, static_cast<long long>(s->rows));
      std::cout << line;
    }
  }
  cl.summary(cl.has("data") ? "evaluated on the test and train splits" : "model read");
  return 0;
}

}  // namespace modeconn::cli
