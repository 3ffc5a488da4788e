// The range of every numeric option of every command, in one table, checked right after parsing (before any
// work) and shown in --help.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <string>

namespace modeconn::cli {

// Throws a usage error for the first numeric option in `vm` outside its range ("--points must be 2 to 10001,
// not 100000"); a NaN or infinity is outside every range.
void check_option_ranges(const boost::program_options::variables_map& vm);

// The range of a numeric option as --help shows it ("2 to 10001"), or "" for an option the table does not
// hold.
std::string option_range(const std::string& name);

// A seed: decimal digits only (so "-1" is not taken as 2^64 - 1), at most 2^63 - 1.
uint64_t parse_seed(const std::string& text, const std::string& option);

}  // namespace modeconn::cli
