// A single progress line on stderr, redrawn in place, shown only when stderr is a terminal.
#pragma once

#include <chrono>
#include <string>

#include "modeconn/train.hpp"

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

// The progress of an epoch loop (training, curve fitting): on a terminal the live line; anywhere else (a log
// under nohup or SLURM) one line per finished epoch with its loss, error and time. Nothing when disabled
// (--quiet).
class EpochProgress {
 public:
  // `what` starts each line: "training", "fitting the curve".
  EpochProgress(bool enabled, std::string what);
  void operator()(const EpochReport& r);
  void finish() { line_.finish(); }

 private:
  bool enabled_, live_;
  std::string what_;
  ProgressLine line_;
};

}  // namespace modeconn::cli
