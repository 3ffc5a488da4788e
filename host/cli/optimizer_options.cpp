// Optimizer options on the command line.
#include "cli/optimizer_options.hpp"

#include "cli/option_ranges.hpp"

namespace modeconn::cli {

void add_optimizer_options(CommandLine& cl, int default_epochs, const std::string& prefix) {
  const auto n = [&](const char* name) { return prefix + name; };  // Boost copies the names
  cl.options().add_options()(n("optimizer").c_str(), po::value<std::string>()->default_value("sgd"),
                             "sgd (with momentum) or adam")(n("epochs").c_str(),
                                                            po::value<int>()->default_value(default_epochs),
                                                            "passes over the training data, 1 to 100000")(
      n("lr").c_str(), po::value<double>(),
      "learning rate in (0, 1000] (default 0.05 for sgd, 0.001 for adam)")(
      n("momentum").c_str(), po::value<double>()->default_value(0.9, "0.9"), "SGD momentum, in [0, 1)")(
      n("weight-decay").c_str(), po::value<double>()->default_value(0.0, "0"), "L2 weight decay, 0 to 1000")(
      n("batch").c_str(), po::value<int64_t>()->default_value(128), "minibatch size, 1 to 1048576")(
      n("seed").c_str(), po::value<std::string>()->default_value("0"),
      "seed for initialisation, shuffling and t: 0 to 2^63 - 1");
}

TrainOptions read_optimizer_options(const CommandLine& cl, const std::string& prefix) {
  const auto key = [&](const char* n) { return prefix + n; };
  TrainOptions o;
  o.optimizer = with_option("--" + key("optimizer"),
                            [&] { return parse_optimizer(cl.get<std::string>(key("optimizer").c_str())); });
  o.epochs = cl.get<int>(key("epochs").c_str());
  o.lr = cl.vm().count(key("lr")) ? cl.get<double>(key("lr").c_str())
                                  : (o.optimizer == Optimizer::sgd ? 0.05 : 0.001);
  o.momentum = cl.get<double>(key("momentum").c_str());
  o.weight_decay = cl.get<double>(key("weight-decay").c_str());
  o.batch = cl.get<int64_t>(key("batch").c_str());
  o.seed = parse_seed(cl.get<std::string>(key("seed").c_str()), key("seed"));
  return o;
}

}  // namespace modeconn::cli
