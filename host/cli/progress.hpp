// A single progress line on stderr, redrawn in place, shown only when stderr is a terminal.
#pragma once

#include <chrono>
#include <string>

namespace modeconn::cli {

class ProgressLine {
 public:
  explicit ProgressLine(bool enabled);
  ~ProgressLine();
  // Redraws at most a few times a second unless `force`.
  void update(const std::string& text, bool force = false);
  void finish();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace modeconn::cli
