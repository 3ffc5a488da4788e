// Running the modeconn executable from a test: exit code, stdout and stderr.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "support/fixtures.hpp"

namespace modeconn::test {

struct RunResult {
  int code = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `modeconn ARGS` (a shell command line) with its output captured in files of `dir`. A run that hangs is
// stopped after `seconds` and reads as exit code 124.
inline RunResult run_modeconn(const TempDir& dir, const std::string& args, int seconds = 300) {
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  // MODECONN_BIN in the environment wins: a build shipped to another machine runs its own copy.
  const char* env = std::getenv("MODECONN_BIN");
  const std::string cmd = "timeout " + std::to_string(seconds) + " " +
                          std::string(env && *env ? env : MODECONN_BIN) + " " + args + " >" + out + " 2>" +
                          err;
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

}  // namespace modeconn::test
