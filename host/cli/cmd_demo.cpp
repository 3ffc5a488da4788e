// modeconn demo: two MLPs trained from different seeds on Fashion-MNIST, and the barrier on the line between them.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "cli/align_options.hpp"
#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "cli/training_run.hpp"
#include "modeconn/file_util.hpp"
#include "modeconn/report.hpp"

namespace modeconn::cli {

int run_demo(const Args& args) {
  CommandLine cl("demo", "modeconn demo [--data builtin:fashion-mnist] [--out-dir demo-out] [--epochs 10] [--align weight]");
  cl.options().add_options()
      ("data", po::value<std::string>()->default_value("builtin:fashion-mnist"), "data folder or builtin:fashion-mnist")
      ("out-dir", po::value<std::string>()->default_value("demo-out"), "where the models and the report go")
      ("epochs", po::value<int>()->default_value(10), "training epochs per model")
      ("points", po::value<int>()->default_value(25), "points along the path")
      ("align", po::value<std::string>()->default_value("weight"), "align the second model onto the first: none, weight or activation");
  add_align_options(cl);
  if (!cl.parse(args)) return 0;
  const AlignMethod align = parse_align_method(cl.get<std::string>("align"));

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

  const std::vector<double> ts = path_grid(cl.get<int>("points"));
  PathReport report;
  report.a = files[0];
  report.b = files[1];
  report.data = data.source;
  report.architecture = describe(arch);
  report.device = backend->name();
  report.ts = ts;
  report.align = align;
  AlignOutcome outcome;
  if (align != AlignMethod::none) {
    outcome = align_models(*backend, models[0], models[1], &data, read_align_options(cl, align, arch.activation));
    report.alignment = &outcome;
  }
  const Path naive = linear_path(models[0], models[1]);
  const Path aligned = report.alignment ? linear_path(outcome.a, outcome.aligned) : naive;
  const auto start = std::chrono::steady_clock::now();
  for (const Split* s : {&data.test, &data.train}) {
    report.splits.push_back(make_profile(s->name, ts, backend->evaluate(aligned, ts, *s)));
    if (report.alignment) report.naive_splits.push_back(make_profile(s->name, ts, backend->evaluate(naive, ts, *s)));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string json = (std::filesystem::path(dir) / "linear.json").string();
  const std::string text = path_report_json(report);
  write_file_atomic(json, text.data(), text.size());
  std::cout << path_report_table(report) << "\nwrote " << files[0] << ", " << files[1] << " and " << json << "\n";
  return 0;
}

}  // namespace modeconn::cli
