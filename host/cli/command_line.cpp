// Boost.Program_options glue: common options, config files and help text, with errors as usage errors.
#include "cli/command_line.hpp"

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <utility>

#include "cli/option_ranges.hpp"
#include "modeconn/error.hpp"
#include "modeconn/file_util.hpp"

namespace modeconn::cli {

CommandLine::CommandLine(std::string command, std::string usage)
    : command_(std::move(command)),
      usage_(std::move(usage)),
      specific_("Options"),
      common_desc_("Common options"),
      exceptions_at_start_(std::uncaught_exceptions()) {
  common_desc_.add_options()("help,h", "show this help")(
      "device", po::value(&common_.device)->default_value("auto"), "auto, cpu or cuda")(
      "threads", po::value(&common_.threads)->default_value(0), "CPU threads, 0 to 1024 (0: all cores)")(
      "precision", po::value(&common_.precision)->default_value("fp32"),
      "CUDA GEMMs: fp32, or tf32 (tensor cores)")("quiet,q", po::bool_switch(&common_.quiet),
                                                  "no progress or device lines on stderr")(
      "config", po::value(&common_.config),
      "read options from FILE (key = value lines; the command line wins)");
}

bool CommandLine::parse(const std::vector<std::string>& args) { return parse(args, "", ""); }

namespace {

// Boost.Program_options builds its messages by replacing placeholders such as %value% in a loop; an argument
// that holds one itself makes that loop endless. Such text is refused before Boost sees it.
void refuse_placeholders(const std::string& text, const std::string& where) {
  for (std::size_t at = text.find('%'); at != std::string::npos; at = text.find('%', at + 1)) {
    std::size_t end = at + 1;
    while (end < text.size() && (std::islower(static_cast<unsigned char>(text[end])) || text[end] == '_'))
      ++end;
    if (end > at + 1 && end < text.size() && text[end] == '%')
      throw usage_error(where + " holds '" + text.substr(at, end - at + 1) +
                        "', which modeconn does not accept");
  }
}

// " (did you mean --points?)" for an option that begins like one the command has, else "".
std::string suggestion(const po::options_description& all, const std::string& given) {
  std::string stem = given;
  while (!stem.empty() && stem.front() == '-') stem.erase(stem.begin());
  if (stem.empty()) return "";
  std::vector<std::string> near;
  for (const auto& o : all.options())
    if (o->long_name().rfind(stem, 0) == 0) near.push_back("--" + o->long_name());
  if (near.empty()) return "";
  std::string out = " (did you mean ";
  for (std::size_t i = 0; i < near.size(); ++i)
    out += (i ? i + 1 == near.size() ? " or " : ", " : "") + near[i];
  return out + "?)";
}

}  // namespace

bool CommandLine::parse(const std::vector<std::string>& args, const std::string& config_text,
                        const std::string& config_name) {
  for (const auto& a : args) refuse_placeholders(a, "the argument '" + a + "'");
  po::options_description all;
  all.add(specific_).add(common_desc_);
  try {
    // Options are spelled out: Boost's guessing would take --point for --points, and --a for --align.
    const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    try {
      po::store(po::command_line_parser(args).options(all).positional(positional_).style(style).run(), vm_);
    } catch (const po::unknown_option& e) {
      throw usage_error("unknown option '" + e.get_option_name() + "'" +
                        suggestion(all, e.get_option_name()) + " (see modeconn " + command_ + " --help)");
    }
    if (vm_.count("help")) {
      std::cout << "usage: " << usage_ << "\n\n" << specific_ << "\n" << common_desc_;
      return false;
    }
    std::string text = config_text, name = config_name;
    if (name.empty() && vm_.count("config")) {
      name = vm_["config"].as<std::string>();
      if (!std::filesystem::exists(name)) throw input_error(name, "config file not found");
      const auto bytes = read_file(name, kMaxTextFileBytes);  // a regular file, read once
      text.assign(bytes.begin(), bytes.end());
      outputs_.input(name);
    }
    if (!name.empty()) {
      try {
        refuse_placeholders(text, "it");
      } catch (const Error& e) {
        throw input_error(name, e.what());
      }
      std::istringstream in(text);
      try {
        po::store(po::parse_config_file<char>(in, all), vm_);
      } catch (const po::error& e) {
        throw input_error(name, e.what());
      }
    }
    po::notify(vm_);
    check_option_ranges(vm_);
  } catch (const po::error& e) {
    throw usage_error(std::string(e.what()) + " (see modeconn " + command_ + " --help)");
  }
  with_option("--threads", [&] { set_cpu_threads(common_.threads); });
  return true;
}

CommandLine::~CommandLine() {
  if (std::uncaught_exceptions() == exceptions_at_start_) say("");
}

void CommandLine::say(const std::string& line) const {
  if (common_.quiet) return;
  if (!held_back_.empty()) std::cerr << std::exchange(held_back_, "") << "\n";
  if (!line.empty()) std::cerr << line << "\n";
}

void CommandLine::summary(const std::string& what) const {
  char seconds[64];
  std::snprintf(seconds, sizeof seconds, " in %.1f s",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  std::string text = command_ + ": " + what + seconds;
  const auto& files = outputs_.written();
  for (std::size_t i = 0; i < files.size(); ++i) text += (i == 0 ? "; wrote " : ", ") + files[i];
  say(text);
}

std::unique_ptr<Backend> CommandLine::backend() const {
  std::string announce;
  if (common_.precision != "fp32" && common_.precision != "tf32")
    throw usage_error("--precision: fp32 or tf32, not '" + common_.precision + "'");
  const DeviceChoice choice = with_option("--device", [&] { return parse_device(common_.device); });
  auto b = with_option("--device " + common_.device,
                       [&] { return make_backend(choice, common_.precision == "tf32", &announce); });
  held_back_ = announce;
  return b;
}

}  // namespace modeconn::cli
