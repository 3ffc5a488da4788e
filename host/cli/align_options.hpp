// The alignment options shared by align, path and demo.
#pragma once

#include "cli/command_line.hpp"
#include "modeconn/align.hpp"

namespace modeconn::cli {

// Adds --max-sweeps, --align-seed, --no-signs and --canonicalize-scale.
void add_align_options(CommandLine& cl);
// Reads them back; signs are used for odd activations unless --no-signs.
AlignOptions read_align_options(const CommandLine& cl, AlignMethod method, Activation activation);

}  // namespace modeconn::cli
