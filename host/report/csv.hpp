// CSV fields as RFC 4180 quotes them: a field with a comma, a quote or a line break goes in double quotes,
// its quotes doubled. Names in reports can come from files users gave.
#pragma once

#include <string>
#include <string_view>

namespace modeconn {

inline std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace modeconn
