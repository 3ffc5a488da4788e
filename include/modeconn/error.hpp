// The one exception type of modeconn; main() turns its kind into an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace modeconn {

enum class ErrorKind {
  input,     // a file the user gave is missing, malformed or does not fit the others (exit 2)
  usage,     // a command-line or config mistake (exit 2)
  cuda,      // a CUDA or cuBLAS call failed (exit 1)
  internal,  // a broken invariant inside modeconn (exit 1)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// An error about a file: the message always starts with the file's name.
inline Error input_error(const std::string& file, const std::string& problem) {
  return Error(ErrorKind::input, file + ": " + problem);
}

inline Error usage_error(const std::string& problem) { return Error(ErrorKind::usage, problem); }

}  // namespace modeconn

// Checks a precondition inside modeconn; a failure is a bug, not bad input.
#define MODECONN_EXPECTS(cond, msg)                                                                      \
  do {                                                                                                   \
    if (!(cond))                                                                                         \
      throw ::modeconn::Error(::modeconn::ErrorKind::internal, std::string("internal: ") + (msg) +       \
                                                                   " (" #cond ") at " + __FILE__ + ":" + \
                                                                   std::to_string(__LINE__));            \
  } while (0)
