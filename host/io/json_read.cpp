// JSON from user files: one parser callback keeps the nesting depth and each open object's keys.
#include "modeconn/json_read.hpp"

#include <cmath>
#include <set>
#include <vector>

#include "modeconn/error.hpp"

namespace modeconn {

namespace {

// A SAX pass that builds nothing: it keeps the nesting depth and each open object's keys, and stops at the
// first problem. (nlohmann's parser callbacks do the same job in time quadratic in an object's size.)
class Checker : public nlohmann::json_sax<nlohmann::json> {
 public:
  Checker(const std::string& path, const std::string& what) : path_(path), what_(what) {}
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    enter();
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& k) override {
    if (!keys_.back().insert(k).second)
      throw input_error(path_, what_ + ": key '" + k + "' appears twice in one object");
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    enter();
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    throw input_error(path_, what_ + " is not valid JSON (" + e.what() + ")");
  }

 private:
  void enter() {
    if (++depth_ > kMaxJsonDepth)
      throw input_error(path_, what_ + " nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  const std::string& path_;
  const std::string& what_;
  int depth_ = 0;
  std::vector<std::set<std::string>> keys_;
};

}  // namespace

nlohmann::json parse_json_input(std::string_view text, const std::string& path, const std::string& what) {
  Checker checker(path, what);
  nlohmann::json::sax_parse(text.begin(), text.end(), &checker);
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    throw input_error(path, what + " is not valid JSON (" + e.what() + ")");
  }
}

double json_number(const nlohmann::json& value, const std::string& path, const std::string& key) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const std::string s = value.get<std::string>();
    if (s == "nan") return NAN;
    if (s == "inf") return INFINITY;
    if (s == "-inf") return -INFINITY;
  }
  throw input_error(path, "'" + key + "' is not a number (nor \"nan\", \"inf\" or \"-inf\")");
}

nlohmann::json number_json(double v) {
  if (std::isfinite(v)) return v;
  if (std::isnan(v)) return "nan";
  return v > 0 ? "inf" : "-inf";
}

}  // namespace modeconn
