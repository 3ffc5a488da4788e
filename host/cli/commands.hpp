// The subcommands of the modeconn executable; each takes its arguments after the command name.
#pragma once

#include <string>
#include <vector>

namespace modeconn::cli {

using Args = std::vector<std::string>;

int run_inspect(const Args& args);
int run_train(const Args& args);
int run_path(const Args& args);
int run_plane(const Args& args);
int run_hessian(const Args& args);
int run_demo(const Args& args);
int run_align(const Args& args);
int run_symmetry(const Args& args);
int run_fit_curve(const Args& args);
int run_analyze(const Args& args);
int run_sweep(const Args& args);
int run_merge(const Args& args);

}  // namespace modeconn::cli
