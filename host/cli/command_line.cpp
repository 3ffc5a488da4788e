// Boost.Program_options glue: common options, config files and help text, with errors as usage errors.
#include "cli/command_line.hpp"

#include <filesystem>
#include <iostream>

#include "cli/option_ranges.hpp"
#include "modeconn/error.hpp"
#include "modeconn/file_util.hpp"

namespace modeconn::cli {

CommandLine::CommandLine(std::string command, std::string usage)
    : command_(std::move(command)), usage_(std::move(usage)), specific_("Options"), common_desc_("Common options") {
  common_desc_.add_options()
      ("help,h", "show this help")
      ("device", po::value(&common_.device)->default_value("auto"), "auto, cpu or cuda")
      ("threads", po::value(&common_.threads)->default_value(0), "CPU threads, 0 to 1024 (0: all cores)")
      ("precision", po::value(&common_.precision)->default_value("fp32"), "CUDA GEMMs: fp32, or tf32 (tensor cores)")
      ("quiet,q", po::bool_switch(&common_.quiet), "no progress or device lines on stderr")
      ("config", po::value(&common_.config), "read options from FILE (key = value lines; the command line wins)");
}

bool CommandLine::parse(const std::vector<std::string>& args) {
  po::options_description all;
  all.add(specific_).add(common_desc_);
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional_).run(), vm_);
    if (vm_.count("help")) {
      std::cout << "usage: " << usage_ << "\n\n" << specific_ << "\n" << common_desc_;
      return false;
    }
    if (vm_.count("config")) {
      const std::string file = vm_["config"].as<std::string>();
      if (!std::filesystem::exists(file)) throw input_error(file, "config file not found");
      expect_regular_file(file);
      outputs_.input(file);
      try {
        po::store(po::parse_config_file<char>(file.c_str(), all), vm_);
      } catch (const po::error& e) {
        throw input_error(file, e.what());
      }
    }
    po::notify(vm_);
    check_option_ranges(vm_);
  } catch (const po::error& e) {
    throw usage_error(std::string(e.what()) + " (see modeconn " + command_ + " --help)");
  }
  set_cpu_threads(common_.threads);
  return true;
}

void CommandLine::say(const std::string& line) const {
  if (!common_.quiet) std::cerr << line << "\n";
}

std::unique_ptr<Backend> CommandLine::backend() const {
  std::string announce;
  if (common_.precision != "fp32" && common_.precision != "tf32")
    throw usage_error("--precision: fp32 or tf32, not '" + common_.precision + "'");
  auto b = make_backend(parse_device(common_.device), common_.precision == "tf32", &announce);
  say(announce);
  return b;
}

}  // namespace modeconn::cli
