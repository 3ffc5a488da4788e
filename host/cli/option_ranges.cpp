// The numeric options' ranges. Each bound is what the computation can honour in reasonable time and memory,
// or what the quantity means (a momentum below 1, a cosine in [0, 1]).
#include "cli/option_ranges.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

#include "modeconn/error.hpp"
#include "modeconn/path.hpp"

namespace modeconn::cli {
namespace {

namespace po = boost::program_options;

struct Range {
  const char* name;  // without the curve- prefix, which shares the range
  double lo, hi;
  bool lo_open, hi_open;
};

constexpr Range kRanges[] = {
    {"threads", 0, 1024, false, false},
    {"points", 2, kMaxPathPoints, false, false},
    {"bends", 1, 64, false, false},
    {"epochs", 1, 100000, false, false},
    {"lr", 0, 1000, true, false},
    {"momentum", 0, 1, false, true},
    {"weight-decay", 0, 1000, false, false},
    {"batch", 1, 1 << 20, false, false},
    {"max-sweeps", 1, 100000, false, false},
    {"duplicate-cosine", 0, 1, false, false},
};

const Range* find_range(std::string name) {
  if (name.rfind("curve-", 0) == 0) name = name.substr(6);
  for (const Range& r : kRanges)
    if (name == r.name) return &r;
  return nullptr;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

bool inside(const Range& r, double v) {
  if (!std::isfinite(v)) return false;
  return (r.lo_open ? v > r.lo : v >= r.lo) && (r.hi_open ? v < r.hi : v <= r.hi);
}

// The value of a numeric option as a double, whatever its C++ type; false for a non-numeric one.
bool numeric_value(const po::variable_value& v, double* out) {
  const auto& any = v.value();
  if (const int* i = boost::any_cast<int>(&any))
    *out = *i;
  else if (const int64_t* l = boost::any_cast<int64_t>(&any))
    *out = static_cast<double>(*l);
  else if (const double* d = boost::any_cast<double>(&any))
    *out = *d;
  else
    return false;
  return true;
}

}  // namespace

std::string option_range(const std::string& name) {
  const Range* r = find_range(name);
  if (!r) return "";
  if (r->lo_open || r->hi_open)
    return std::string(r->lo_open ? "(" : "[") + number(r->lo) + ", " + number(r->hi) +
           (r->hi_open ? ")" : "]");
  return number(r->lo) + " to " + number(r->hi);
}

void check_option_ranges(const po::variables_map& vm) {
  for (const auto& [name, value] : vm) {
    const Range* r = find_range(name);
    double v = 0;
    if (!r || !numeric_value(value, &v)) continue;
    if (!inside(*r, v))
      throw usage_error("--" + name + " must be " + option_range(name) + ", not " + number(v));
  }
}

uint64_t parse_seed(const std::string& text, const std::string& option) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoull(text) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw usage_error("--" + option + " must be a whole number from 0 to 9223372036854775807, not '" + text +
                      "'");
  return std::stoull(text);
}

}  // namespace modeconn::cli
