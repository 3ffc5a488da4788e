// modeconn demo: two MLPs trained from different seeds on Fashion-MNIST, and the analysis of the pair.
#include <filesystem>
#include <iostream>

#include "cli/analysis_run.hpp"
#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "cli/training_run.hpp"

namespace modeconn::cli {

int run_demo(const Args& args) {
  CommandLine cl("demo", "modeconn demo [--data builtin:fashion-mnist] [--out-dir demo-out] [--epochs 10] [analyze options]");
  cl.options().add_options()
      ("data", po::value<std::string>()->default_value("builtin:fashion-mnist"), "data folder or builtin:fashion-mnist")
      ("out-dir", po::value<std::string>()->default_value("demo-out"), "where the models and the report go")
      ("epochs", po::value<int>()->default_value(10), "training epochs per model")
      ;
  add_analysis_options(cl, "weight");
  if (!cl.parse(args)) return 0;

  const std::string dir = cl.get<std::string>("out-dir");
  std::filesystem::create_directories(dir);
  const Dataset data = load_dataset(cl.get<std::string>("data"));
  auto backend = cl.backend();

  TrainOptions o;
  o.epochs = cl.get<int>("epochs");
  int64_t classes = 0;
  for (int32_t l : data.train.labels) classes = std::max<int64_t>(classes, l + 1);
  const Architecture arch = make_architecture({data.train.features, 256, 256, classes}, Activation::relu, data.train.task);
  std::vector<Model> models;
  std::vector<std::string> files;
  for (uint64_t seed : {1, 2}) {
    o.seed = seed;
    Model m = init_model(arch, seed);
    fit_model_to_data(m, "demo model", data);
    cl.say("training model " + std::to_string(seed) + " of 2: " + describe(arch) + ", seed " + std::to_string(seed) +
           ", " + std::to_string(o.epochs) + " epochs");
    run_training(*backend, m, data, o, !cl.common().quiet);
    files.push_back((std::filesystem::path(dir) / ("seed" + std::to_string(seed) + ".safetensors")).string());
    save_model(m, files.back());
    models.push_back(std::move(m));
  }

  const auto file = [&](const char* name) { return (std::filesystem::path(dir) / name).string(); };
  const AnalysisOutputs outputs{file("analysis.json"), file("analysis.csv"), file("curve.safetensors"),
                                file("seed2-aligned.safetensors")};
  const AnalyzeReport report = run_analysis(cl, *backend, models[0], models[1], data, files[0], files[1], outputs);
  std::cout << analyze_report_table(report) << "\nwrote " << files[0] << ", " << files[1] << ", " << outputs.aligned
            << ", " << outputs.curve << ", " << outputs.json << " and " << outputs.csv << "\n";
  return 0;
}

}  // namespace modeconn::cli
