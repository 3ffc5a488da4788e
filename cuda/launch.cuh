// The one way the backend launches kernels, and the one rule for block size and grid: launch() is <<<>>> plus
// the launch check under nvcc, and the emulation's launcher in the emulated build (tests/emulation).
#pragma once

#include <cstdint>
#include <utility>

#include "cuda_check.cuh"

namespace modeconn::cuda {

// Threads per block of every kernel of the backend.
constexpr int kBlock = 256;

// Blocks along x for a grid-stride loop over n elements: one per kBlock elements, at least one, at most the
// grid cap (65535 blocks; less when a test caps the grid so that every grid-stride loop wraps).
unsigned grid_for(int64_t n);
// Blocks for a loop that gives each of `count` items (path points, batches, segments) blocks of its own,
// within the same cap: such kernels stride over their items too, so the count of points has no limit of its
// own.
unsigned blocks_for(int64_t count);
// Tests: the most blocks along x and along y (0 restores 65535).
void set_grid_cap(unsigned blocks);

template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream,
            Args&&... args) {
#if defined(__CUDACC__)
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
#else
  (void)::cuda_emulation::launch(kernel, grid, block, shared_bytes, stream, std::forward<Args>(args)...);
#endif
  MODECONN_CUDA_CHECK_LAUNCH(stream);
}

}  // namespace modeconn::cuda
