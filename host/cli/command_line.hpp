// Option parsing shared by every subcommand: the common options, --config files, --help, and error mapping.
#pragma once

#include <boost/program_options.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cli/outputs.hpp"
#include "cli/with_option.hpp"
#include "modeconn/backend.hpp"

namespace modeconn::cli {

namespace po = boost::program_options;

struct CommonOptions {
  std::string device = "auto";
  int threads = 0;
  std::string precision = "fp32";
  bool quiet = false;
  std::string config;
};

class CommandLine {
 public:
  CommandLine(std::string command, std::string usage);
  // Prints an announcement still held back, unless an exception is unwinding.
  ~CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  po::options_description& options() { return specific_; }
  // A positional argument, e.g. inspect's MODEL.
  void positional(const char* name, int count) { positional_.add(name, count); }

  // Parses argv (after the subcommand name). Returns false when --help was printed and nothing more should
  // run.
  bool parse(const std::vector<std::string>& args);
  // The same, with `config_text` read as the --config file `config_name` (the fuzz target's entry).
  bool parse(const std::vector<std::string>& args, const std::string& config_text,
             const std::string& config_name);

  const po::variables_map& vm() const { return vm_; }
  const CommonOptions& common() const { return common_; }
  bool has(const char* name) const { return vm_.count(name) > 0 && !vm_[name].defaulted(); }
  template <typename T>
  T get(const char* name) const {
    return vm_[name].as<T>();
  }

  // Prints to stderr unless --quiet (after any announcement held back).
  void say(const std::string& line) const;
  // The backend --device asks for. Its announcement (which device, why) is held back until the next say() or
  // the command's end, so that a command refused after choosing its backend prints only its one-line error.
  std::unique_ptr<Backend> backend() const;
  // The command's outputs, checked against its inputs (the --config file is one already).
  Outputs& outputs() { return outputs_; }
  // The closing line on stderr (unless --quiet): what was done, the seconds since the command started, and
  // the files written ("path: 25 points on 2 splits in 3.1 s; wrote ab.json, ab.csv").
  void summary(const std::string& what) const;

 private:
  std::string command_;
  std::string usage_;
  po::options_description specific_;
  po::options_description common_desc_;
  po::positional_options_description positional_;
  po::variables_map vm_;
  CommonOptions common_;
  Outputs outputs_;
  mutable std::string held_back_;
  int exceptions_at_start_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace modeconn::cli
