// modeconn train: trains a minimum to start a study from, deterministically for a seed: an MLP (--hidden), or
// a layer graph (--arch: a graph JSON file or a named family such as resnet:16,32,64).
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "cli/optimizer_options.hpp"
#include "cli/option_ranges.hpp"
#include "cli/training_run.hpp"
#include "modeconn/error.hpp"
#include "modeconn/file_util.hpp"
#include "modeconn/graph_families.hpp"
#include "modeconn/graph_train.hpp"
#include "modeconn/tensor_file.hpp"
#include "modeconn/train.hpp"

namespace modeconn::cli {
namespace {

// "3 epochs", or "at most 3 epochs, 500 steps" when --steps cut them short.
std::string training_length(const TrainOptions& o) {
  const std::string epochs = std::to_string(o.epochs) + " epochs";
  return o.max_steps ? "at most " + epochs + ", " + std::to_string(*o.max_steps) + " steps" : epochs;
}

// "256,256": widths of 1 to kMaxWidth, at most kMaxLayers - 1 of them; "" is a linear model. An empty item
// ("8," or "8,,8") is a mistake, not a width.
std::vector<int64_t> parse_widths(const std::string& text) {
  std::vector<int64_t> widths;
  if (text.empty()) return widths;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty() || item.size() > 9 || item.find_first_not_of("0123456789") != std::string::npos ||
        std::stoll(item) < 1 || std::stoll(item) > kMaxWidth)
      throw usage_error("--hidden: '" + item + "' is not a width from 1 to " + std::to_string(kMaxWidth) +
                        " (in '" + text + "')");
    widths.push_back(std::stoll(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (widths.size() + 1 > kMaxLayers)
    throw usage_error("--hidden: " + std::to_string(widths.size()) + " hidden layers; at most " +
                      std::to_string(kMaxLayers - 1));
  return widths;
}

// A layer graph from --arch, freshly initialised, or from --init as it is.
int train_graph_model(CommandLine& cl, const TrainOptions& o, const std::string& out) {
  const bool from_file = cl.has("init");
  const std::string spec = cl.get<std::string>(from_file ? "init" : "arch");
  const Dataset data = load_dataset(cl.get<std::string>("data"));
  GraphModel model =
      from_file ? load_graph_model(spec) : init_graph_model(arch_graph(spec, data), data.train.task, o.seed);
  if (model.params.size() > static_cast<std::size_t>(kMaxParams))
    throw usage_error("--arch " + spec + " makes " + std::to_string(model.params.size()) +
                      " parameters; at most " + std::to_string(kMaxParams));
  fit_graph_to_data(model, spec, data);
  auto backend = cl.backend();
  std::string device;
  auto runner = graph_runner(*backend, cl, &device);
  cl.say("training " + describe(model) + " on " + data.source + " (" + std::to_string(data.train.rows) +
         " samples, " + device + ")");
  run_graph_training(*runner, model, data, o, !cl.common().quiet);
  cl.outputs().stage(out, serialize_safetensors(graph_model_to_tensors(model)));
  cl.outputs().commit();
  cl.summary("trained " + spec + " for " + training_length(o));
  return 0;
}

}  // namespace

int run_train(const Args& args) {
  CommandLine cl("train",
                 "modeconn train --data D (--hidden 256,256 [--activation relu] | --arch resnet:16,32,64) "
                 "[--epochs N --lr X --batch B --seed S] --out M.safetensors");
  cl.options().add_options()("data", po::value<std::string>()->required(),
                             "data folder or builtin:fashion-mnist")(
      "hidden", po::value<std::string>()->default_value("256,256"),
      "hidden widths, comma-separated, each 1 to 65536 (empty: a linear model)")(
      "activation", po::value<std::string>()->default_value("relu"),
      "relu, leaky_relu, tanh, sigmoid, gelu, softplus, identity")(
      "arch", po::value<std::string>(),
      "a layer graph instead of an MLP: a graph JSON file, or vgg:W1,W2,... or resnet:W1,W2,...[:BLOCKS] "
      "(BatchNorm CNNs for image data)")(
      "init", po::value<std::string>(),
      "start from this model (safetensors: an MLP or a layer graph, its architecture with it) instead of a "
      "fresh initialisation")("out", po::value<std::string>()->required(),
                              "where to write the model (safetensors)")(
      "data-seed", po::value<std::string>(),
      "seed of the minibatch order alone (default: --seed's): with --init, copies that differ only in data "
      "order")("steps", po::value<int64_t>(),
               "stop after this many minibatch steps in all, 0 (the initialisation itself) to 2^40 (default: "
               "every epoch)");
  add_optimizer_options(cl, 10);
  if (!cl.parse(args)) return 0;

  TrainOptions o = read_optimizer_options(cl);
  if (cl.has("data-seed")) o.data_seed = parse_seed(cl.get<std::string>("data-seed"), "--data-seed");
  if (cl.has("steps")) {
    o.max_steps = cl.get<int64_t>("steps");
    if (*o.max_steps < 0 || *o.max_steps > (int64_t{1} << 40))
      throw usage_error("--steps must be 0 to 2^40, not " + std::to_string(*o.max_steps));
  }
  if (cl.has("arch") && (cl.has("hidden") || cl.has("activation")))
    throw usage_error("--arch describes the whole network; drop --hidden and --activation");
  if (cl.has("init") && (cl.has("arch") || cl.has("hidden") || cl.has("activation")))
    throw usage_error("--init brings its architecture; drop --arch, --hidden and --activation");
  const bool graph =
      cl.has("arch") ||
      (cl.has("init") && holds_graph_beyond_mlp(read_safetensors_metadata(cl.get<std::string>("init")),
                                                cl.get<std::string>("init")));
  if (graph) {
    const auto out = cl.get<std::string>("out");
    cl.outputs().data_inputs(cl.get<std::string>("data"));
    if (cl.has("init"))
      cl.outputs().input(cl.get<std::string>("init"));
    else if (!is_graph_family(cl.get<std::string>("arch")))
      cl.outputs().input(cl.get<std::string>("arch"));
    cl.outputs().output("--out", out);
    cl.outputs().check();
    return train_graph_model(cl, o, out);
  }
  const auto activation = parse_activation(cl.get<std::string>("activation"), "--activation");
  const auto hidden = parse_widths(cl.get<std::string>("hidden"));
  const auto out = cl.get<std::string>("out");
  cl.outputs().data_inputs(cl.get<std::string>("data"));
  if (cl.has("init")) cl.outputs().input(cl.get<std::string>("init"));
  cl.outputs().output("--out", out);
  cl.outputs().check();

  const Dataset data = load_dataset(cl.get<std::string>("data"));
  Model model;
  if (cl.has("init")) {
    model = load_model(cl.get<std::string>("init"), "");
    fit_model_to_data(model, cl.get<std::string>("init"), data);
  } else {
    std::vector<int64_t> widths{data.train.features};
    widths.insert(widths.end(), hidden.begin(), hidden.end());
    widths.push_back(output_width(data));
    const Architecture arch = make_architecture(widths, activation, data.train.task);
    if (arch.num_params() > static_cast<std::size_t>(kMaxParams))
      throw usage_error("--hidden " + cl.get<std::string>("hidden") + " makes " +
                        std::to_string(arch.num_params()) + " parameters; at most " +
                        std::to_string(kMaxParams));
    model = init_model(arch, o.seed);
    fit_model_to_data(model, out, data);
  }

  auto backend = cl.backend();
  cl.say("training " + describe(model.arch) + " on " + data.source + " (" + std::to_string(data.train.rows) +
         " samples)");
  run_training(*backend, model, data, o, !cl.common().quiet);
  const auto bytes = serialize_safetensors(model_to_tensors(model));
  cl.outputs().stage(out, bytes);
  cl.outputs().commit();
  cl.summary("trained " + describe(model.arch) + " for " + training_length(o));
  return 0;
}

}  // namespace modeconn::cli
