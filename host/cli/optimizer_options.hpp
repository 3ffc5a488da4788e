// The optimizer options shared by train, fit-curve, analyze and demo.
#pragma once

#include "cli/command_line.hpp"
#include "modeconn/train.hpp"

namespace modeconn::cli {

// Adds --optimizer, --epochs, --lr, --momentum, --weight-decay, --batch and --seed; `prefix` ("" or "curve-")
// names them apart when a command has two optimisers.
void add_optimizer_options(CommandLine& cl, int default_epochs, const std::string& prefix = "");
TrainOptions read_optimizer_options(const CommandLine& cl, const std::string& prefix = "");

}  // namespace modeconn::cli
