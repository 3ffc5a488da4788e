// libFuzzer target: a --config file's text, parsed with the options of `analyze` (strings, integers, reals,
// switches, seeds, the optimizer and alignment options) and checked against every range.
#include <cstdint>
#include <string>

#include "cli/analysis_run.hpp"
#include "cli/command_line.hpp"
#include "modeconn/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    modeconn::cli::CommandLine cl("analyze", "fuzz");
    cl.options().add_options()("a", modeconn::cli::po::value<std::string>(), "A")(
        "json", modeconn::cli::po::value<std::string>(), "JSON");
    modeconn::cli::add_analysis_options(cl, "weight");
    if (cl.parse({}, std::string(reinterpret_cast<const char*>(data), size), "fuzz.cfg"))
      (void)modeconn::cli::read_analysis_options(cl, modeconn::Activation::tanh);
  } catch (const modeconn::Error&) {
  }
  return 0;
}
