// JSON from files a user gave: parsed with a nesting limit and without duplicate keys.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace modeconn {

// Deeper nesting than any file modeconn reads needs; a deeper file is refused rather than walked.
constexpr int kMaxJsonDepth = 64;

// Parses `text`, the JSON content of `path` (`what` says which part, for messages: "header"). Throws an input
// error naming the file for invalid JSON, nesting deeper than kMaxJsonDepth, or a key that appears twice in
// one object (a parser would silently keep the last).
nlohmann::json parse_json_input(std::string_view text, const std::string& path, const std::string& what);

// A number from a report: a JSON number, or one of the strings "nan", "inf", "-inf" that modeconn writes for
// non-finite values. Throws an input error naming the file and the key otherwise.
double json_number(const nlohmann::json& value, const std::string& path, const std::string& key);
// The JSON modeconn writes for a number: itself when finite, else "nan", "inf" or "-inf".
nlohmann::json number_json(double v);

}  // namespace modeconn
