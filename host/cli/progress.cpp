// Progress line: carriage return and clear-to-end-of-line, throttled so it never slows the work.
#include "cli/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <utility>

namespace modeconn::cli {

ProgressLine::ProgressLine(bool enabled) : enabled_(enabled && ::isatty(STDERR_FILENO)) {}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::update(const std::string& text, bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && drawn_ && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  drawn_ = true;
  std::fprintf(stderr, "\r%s\033[K", text.c_str());
  std::fflush(stderr);
}

void ProgressLine::finish() {
  if (enabled_ && drawn_) std::fputc('\n', stderr);
  drawn_ = false;
}

EpochProgress::EpochProgress(bool enabled, std::string what)
    : enabled_(enabled), live_(enabled && ::isatty(STDERR_FILENO)), what_(std::move(what)), line_(enabled) {}

void EpochProgress::operator()(const EpochReport& r) {
  if (!enabled_) return;
  char text[256];
  if (live_) {
    std::snprintf(text, sizeof text, "%s: epoch %d/%d  step %lld/%lld  loss %.4f  error %.4f", what_.c_str(),
                  r.epoch, r.epochs, static_cast<long long>(r.step), static_cast<long long>(r.steps),
                  r.running_loss, r.running_error);
    line_.update(text, r.epoch_done);
  } else if (r.epoch_done) {
    // Means over the epoch's minibatches, each at the parameters it met: what the epoch saw, not a final
    // evaluation.
    std::snprintf(text, sizeof text, "%s: epoch %d/%d  loss %.4f  error %.4f  %.1f s\n", what_.c_str(),
                  r.epoch, r.epochs, r.running_loss, r.running_error, r.seconds);
    std::fputs(text, stderr);
    std::fflush(stderr);
  }
}

}  // namespace modeconn::cli
