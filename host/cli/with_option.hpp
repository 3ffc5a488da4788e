// Library errors speak of values; the command line adds the name of the option the value came from.
#pragma once

#include <string>

#include "modeconn/error.hpp"

namespace modeconn::cli {

// Runs `parse` on an option's value. The library speaks of values ("unknown path kind 'x'"); a usage error it
// throws gains the option's name here ("--kind: unknown path kind 'x'"), since only the command line knows
// it.
template <typename F>
auto with_option(const std::string& option, F&& parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::usage) throw;
    throw usage_error(option + ": " + e.what());
  }
}

}  // namespace modeconn::cli
