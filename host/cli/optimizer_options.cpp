// Optimizer options on the command line.
#include "cli/optimizer_options.hpp"

namespace modeconn::cli {

void add_optimizer_options(CommandLine& cl, int default_epochs, const std::string& prefix) {
  const auto n = [&](const char* name) { return prefix + name; };  // Boost copies the names
  cl.options().add_options()
      (n("optimizer").c_str(), po::value<std::string>()->default_value("sgd"), "sgd (with momentum) or adam")
      (n("epochs").c_str(), po::value<int>()->default_value(default_epochs), "passes over the training data")
      (n("lr").c_str(), po::value<double>(), "learning rate (default 0.05 for sgd, 0.001 for adam)")
      (n("momentum").c_str(), po::value<double>()->default_value(0.9), "SGD momentum")
      (n("weight-decay").c_str(), po::value<double>()->default_value(0.0), "L2 weight decay")
      (n("batch").c_str(), po::value<int64_t>()->default_value(128), "minibatch size")
      (n("seed").c_str(), po::value<uint64_t>()->default_value(0), "seed for initialisation, shuffling and t");
}

TrainOptions read_optimizer_options(const CommandLine& cl, const std::string& prefix) {
  const auto key = [&](const char* n) { return prefix + n; };
  TrainOptions o;
  o.optimizer = parse_optimizer(cl.get<std::string>(key("optimizer").c_str()));
  o.epochs = cl.get<int>(key("epochs").c_str());
  o.lr = cl.vm().count(key("lr")) ? cl.get<double>(key("lr").c_str()) : (o.optimizer == Optimizer::sgd ? 0.05 : 0.001);
  o.momentum = cl.get<double>(key("momentum").c_str());
  o.weight_decay = cl.get<double>(key("weight-decay").c_str());
  o.batch = cl.get<int64_t>(key("batch").c_str());
  o.seed = cl.get<uint64_t>(key("seed").c_str());
  return o;
}

}  // namespace modeconn::cli
