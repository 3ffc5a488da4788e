// The grid rule's cap, one per process: the hardware's 65535 blocks along y (used along x too), or a test's.
#include <algorithm>
#include <atomic>

#include "launch.cuh"

namespace modeconn::cuda {
namespace {

constexpr unsigned kMaxBlocks = 65535;
std::atomic<unsigned> grid_cap{kMaxBlocks};

}  // namespace

unsigned grid_for(int64_t n) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + kBlock - 1) / kBlock, 1, grid_cap.load()));
}

unsigned blocks_for(int64_t count) {
  return static_cast<unsigned>(std::clamp<int64_t>(count, 1, grid_cap.load()));
}

void set_grid_cap(unsigned blocks) { grid_cap = blocks == 0 ? kMaxBlocks : std::min(blocks, kMaxBlocks); }

}  // namespace modeconn::cuda
