// The modeconn executable: dispatches subcommands and turns errors into one-line messages and exit codes.
#include <boost/program_options/errors.hpp>
#include <cstring>
#include <iostream>
#include <map>
#include <new>

#include "cli/commands.hpp"
#include "modeconn/error.hpp"

namespace {

using modeconn::cli::Args;

const std::map<std::string, int (*)(const Args&)> kCommands = {
    {"inspect", modeconn::cli::run_inspect},   {"train", modeconn::cli::run_train},
    {"path", modeconn::cli::run_path},         {"align", modeconn::cli::run_align},
    {"symmetry", modeconn::cli::run_symmetry}, {"fit-curve", modeconn::cli::run_fit_curve},
    {"analyze", modeconn::cli::run_analyze},   {"sweep", modeconn::cli::run_sweep},
    {"merge", modeconn::cli::run_merge},       {"demo", modeconn::cli::run_demo},
};

void usage(std::ostream& out) {
  out << "modeconn: mode connectivity of trained networks\n\n"
         "usage: modeconn COMMAND [options]   (modeconn COMMAND --help for its options)\n\n"
         "  inspect   what a model file holds; with --data, its loss and error\n"
         "  train     train an MLP minimum\n"
         "  path      loss and error along a path between two minima, with barrier heights\n"
         "  align     permute B's hidden units onto A's (weight or activation matching)\n"
         "  symmetry  a model's weight-space symmetries; with --b, what alignment removes\n"
         "  fit-curve fit a low-loss Bezier curve or polygonal chain between two minima\n"
         "  analyze   naive line, alignment, aligned line and a fitted curve for a pair: one report\n"
         "  sweep     analyze all pairs of N models, sharded and resumable (one file per pair)\n"
         "  merge     a sweep's results as N x N barrier matrices\n"
         "  demo      train two MLPs on Fashion-MNIST and analyze the pair\n";
}

// One line, whatever the message held.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    usage(std::cout);
    return 0;
  }
  if (command == "--version") {
    std::cout << "modeconn 0.1.0\n";
    return 0;
  }
  const auto it = kCommands.find(command);
  if (it == kCommands.end()) {
    std::cerr << "modeconn: unknown command '" << command << "' (modeconn --help lists them)\n";
    return 2;
  }
  try {
    return it->second(Args(argv + 2, argv + argc));
  } catch (const modeconn::Error& e) {
    std::cerr << "modeconn " << command << ": " << one_line(e.what()) << "\n";
    const auto kind = e.kind();
    return kind == modeconn::ErrorKind::input || kind == modeconn::ErrorKind::usage ? 2 : 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "modeconn " << command << ": out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "modeconn " << command << ": " << one_line(e.what()) << "\n";
    return 1;
  }
}
