// cub::BlockReduce as modeconn's emulation provides it: every thread leaves its value in the shared temporary
// storage, one barrier, then thread 0 combines them in thread order. As in CUB, only thread 0's result is
// defined (the others get a NaN or a marker value, so code that reads theirs fails), and reusing the storage
// needs a
// __syncthreads() first: the emulation's schedules resume thread 0 last at times, so a missing one shows.
#pragma once

#include <cuda_runtime.h>

#include <limits>

namespace cub {

enum BlockReduceAlgorithm {
  BLOCK_REDUCE_RAKING_COMMUTATIVE_ONLY,
  BLOCK_REDUCE_RAKING,
  BLOCK_REDUCE_WARP_REDUCTIONS
};

struct Sum {
  template <typename T>
  T operator()(const T& a, const T& b) const {
    return a + b;
  }
};
struct Max {
  template <typename T>
  T operator()(const T& a, const T& b) const {
    return a < b ? b : a;
  }
};
struct Min {
  template <typename T>
  T operator()(const T& a, const T& b) const {
    return b < a ? b : a;
  }
};

template <typename T, int BLOCK_DIM_X, BlockReduceAlgorithm ALGORITHM = BLOCK_REDUCE_WARP_REDUCTIONS,
          int BLOCK_DIM_Y = 1, int BLOCK_DIM_Z = 1, int LEGACY_PTX_ARCH = 0>
class BlockReduce {
  static constexpr int kThreads = BLOCK_DIM_X * BLOCK_DIM_Y * BLOCK_DIM_Z;

 public:
  struct TempStorage {
    T values[kThreads];
  };

  explicit BlockReduce(TempStorage& temp) : temp_(temp) {
    cuda_emulation::expect_block_threads(static_cast<unsigned>(kThreads), "cub::BlockReduce");
  }

  T Sum(T input) { return Reduce(input, cub::Sum{}, kThreads); }
  T Sum(T input, int num_valid) { return Reduce(input, cub::Sum{}, num_valid); }
  template <typename Op>
  T Reduce(T input, Op op) {
    return Reduce(input, op, kThreads);
  }

  template <typename Op>
  T Reduce(T input, Op op, int num_valid) {
    const unsigned tid = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    temp_.values[tid] = input;
    __syncthreads();
    if (tid != 0) return undefined();
    T total = temp_.values[0];
    for (int i = 1; i < num_valid; ++i) total = op(total, temp_.values[i]);
    return total;
  }

 private:
  static T undefined() {
    if constexpr (std::numeric_limits<T>::has_quiet_NaN)
      return std::numeric_limits<T>::quiet_NaN();
    else
      return std::numeric_limits<T>::max();
  }
  TempStorage& temp_;
};

}  // namespace cub
