// The modeconn executable: dispatches subcommands and turns errors into one-line messages and exit codes.
#include <unistd.h>

#include <boost/program_options/errors.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <new>

#include "cli/commands.hpp"
#include "modeconn/error.hpp"
#include "modeconn_version.hpp"

namespace {

using modeconn::cli::Args;

const std::map<std::string, int (*)(const Args&)> kCommands = {
    {"inspect", modeconn::cli::run_inspect},   {"train", modeconn::cli::run_train},
    {"path", modeconn::cli::run_path},         {"align", modeconn::cli::run_align},
    {"symmetry", modeconn::cli::run_symmetry}, {"fit-curve", modeconn::cli::run_fit_curve},
    {"analyze", modeconn::cli::run_analyze},   {"sweep", modeconn::cli::run_sweep},
    {"merge", modeconn::cli::run_merge},       {"demo", modeconn::cli::run_demo},
    {"plane", modeconn::cli::run_plane},       {"hessian", modeconn::cli::run_hessian},
};

void usage(std::ostream& out) {
  out << "modeconn: mode connectivity of trained networks\n\n"
         "usage: modeconn COMMAND [options]   (modeconn COMMAND --help for its options)\n\n"
         "  inspect   what a model file holds; with --data, its loss and error\n"
         "  train     train an MLP minimum\n"
         "  path      loss and error along a path between two minima, with barrier heights\n"
         "  plane     loss and error on a 2-D grid through three models or around one\n"
         "  hessian   extremal Hessian eigenvalues and trace at a model or along a path (saddles, "
         "sharpness)\n"
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

// Threads that spin while they wait take the cores from everything else on a shared node, OpenBLAS's and this
// process's own other threads included: training slowed tenfold beside two busy processes. libgomp and
// OpenBLAS read how they wait from the environment when they load, before main, so main sets it and starts
// the program once more (a few milliseconds). A user's own setting is kept.
void wait_passively(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  if (std::getenv("OPENBLAS_THREAD_TIMEOUT") == nullptr) ::setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1);
  ::execv("/proc/self/exe", argv);  // on failure, carry on as we are
}

}  // namespace

int main(int argc, char** argv) {
  wait_passively(argv);
  if (argc < 2) {
    std::cerr << "modeconn: a command is needed (modeconn --help lists them)\n";
    return 2;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    usage(std::cout);
    return 0;
  }
  if (command == "--version") {
    std::cout << MODECONN_VERSION_TEXT << "\n";
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
  } catch (const std::filesystem::filesystem_error& e) {
    // A path given that the system cannot follow: a loop of links, a name too long, a folder it may not
    // enter.
    std::cerr << "modeconn " << command << ": " << one_line(e.path1().string()) << ": " << e.code().message()
              << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "modeconn " << command << ": out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "modeconn " << command << ": " << one_line(e.what()) << "\n";
    return 1;
  }
}
