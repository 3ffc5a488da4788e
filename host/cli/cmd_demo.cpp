// modeconn demo: two MLPs (or, with --cnn or --arch, two CNNs) trained from different seeds on Fashion-MNIST,
// and the analysis of the pair.
#include <filesystem>
#include <iostream>

#include "cli/analysis_run.hpp"
#include "cli/bn_options.hpp"
#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "cli/training_run.hpp"
#include "modeconn/error.hpp"
#include "modeconn/graph_train.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn::cli {

int run_demo(const Args& args) {
  CommandLine cl(
      "demo",
      "modeconn demo [--data builtin:fashion-mnist] [--out-dir demo-out] [--epochs 10] [analyze options]");
  cl.options().add_options()("data", po::value<std::string>()->default_value("builtin:fashion-mnist"),
                             "data folder or builtin:fashion-mnist")(
      "out-dir", po::value<std::string>()->default_value("demo-out"), "where the models and the report go")(
      "epochs", po::value<int>()->default_value(10), "training epochs per model, 1 to 100000")(
      "cnn", po::bool_switch(), "two ResNets (--arch resnet:8,16) instead of MLPs")(
      "arch", po::value<std::string>(), "two networks of this family or graph file (as train --arch)");
  add_analysis_options(cl, "weight");
  add_bn_options(cl);
  if (!cl.parse(args)) return 0;

  const std::string dir = cl.get<std::string>("out-dir");
  if (dir.empty()) throw usage_error("--out-dir: empty");
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec))
    throw input_error(dir, "--out-dir names a file, not a folder");
  const auto file = [&](const std::string& name) { return (std::filesystem::path(dir) / name).string(); };
  const std::vector<std::string> model_files = {file("seed1.safetensors"), file("seed2.safetensors")};
  const AnalysisOutputs outputs{file("analysis.json"), file("analysis.csv"), file("curve.safetensors"),
                                file("seed2-aligned.safetensors")};
  cl.outputs().data_inputs(cl.get<std::string>("data"));
  cl.outputs().output("--out-dir", model_files[0]);
  cl.outputs().output("--out-dir", model_files[1]);
  plan_analysis_outputs(cl, outputs);
  std::filesystem::create_directories(dir);
  cl.outputs().check();
  const Dataset data = load_dataset(cl.get<std::string>("data"));
  auto backend = cl.backend();

  TrainOptions o;
  o.epochs = cl.get<int>("epochs");
  if (cl.get<bool>("cnn") || cl.has("arch")) {
    const std::string spec = cl.has("arch") ? cl.get<std::string>("arch") : "resnet:8,16";
    std::vector<GraphModel> models;
    std::string device;
    auto runner = graph_runner(*backend, cl, &device);
    for (uint64_t seed : {1, 2}) {
      o.seed = seed;
      GraphModel m = init_graph_model(arch_graph(spec, data), data.train.task, seed);
      fit_graph_to_data(m, spec, data);
      cl.say("training model " + std::to_string(seed) + " of 2: " + spec + " (" + describe(m) + "), seed " +
             std::to_string(seed) + ", " + std::to_string(o.epochs) + " epochs");
      run_graph_training(*runner, m, data, o, !cl.common().quiet);
      cl.outputs().stage(model_files[models.size()], serialize_safetensors(graph_model_to_tensors(m)));
      models.push_back(std::move(m));
    }
    const AnalyzeReport report =
        run_graph_analysis(cl, *backend, models[0], models[1], data, model_files[0], model_files[1], outputs);
    cl.outputs().commit();
    std::cout << analyze_report_table(report) << "\nwrote " << model_files[0] << ", " << model_files[1]
              << ", " << outputs.aligned << ", " << outputs.curve << ", " << outputs.json << " and "
              << outputs.csv << "\n";
    cl.summary("two " + spec + " networks trained and analysed");
    return 0;
  }
  const Architecture arch = make_architecture({data.train.features, 256, 256, output_width(data)},
                                              Activation::relu, data.train.task);
  std::vector<Model> models;
  for (uint64_t seed : {1, 2}) {
    o.seed = seed;
    Model m = init_model(arch, seed);
    fit_model_to_data(m, "demo model", data);
    cl.say("training model " + std::to_string(seed) + " of 2: " + describe(arch) + ", seed " +
           std::to_string(seed) + ", " + std::to_string(o.epochs) + " epochs");
    run_training(*backend, m, data, o, !cl.common().quiet);
    cl.outputs().stage(model_files[models.size()], serialize_safetensors(model_to_tensors(m)));
    models.push_back(std::move(m));
  }

  const AnalyzeReport report =
      run_analysis(cl, *backend, models[0], models[1], data, model_files[0], model_files[1], outputs);
  cl.outputs().commit();
  std::cout << analyze_report_table(report) << "\nwrote " << model_files[0] << ", " << model_files[1] << ", "
            << outputs.aligned << ", " << outputs.curve << ", " << outputs.json << " and " << outputs.csv
            << "\n";
  cl.summary("two models trained and analysed");
  return 0;
}

}  // namespace modeconn::cli
