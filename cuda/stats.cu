// Per-unit statistics of hidden activations, accumulated in float64 over row chunks: what activation matching
// and the symmetry report read.
#include <algorithm>
#include <cub/block/block_reduce.cuh>

#include "kernels.cuh"
#include "launch.cuh"

namespace modeconn::cuda {
namespace {

__global__ void widen_kernel(const float* __restrict__ d_in, double* __restrict__ d_out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    d_out[i] = static_cast<double>(d_in[i]);
}

// Rows per partial of column_stats: fixed, so the partition does not depend on the grid. 256 rows give every
// thread enough independent loads, and the partials stay at 3/256 of the matrix.
constexpr int64_t kStatsChunk = 256;

// Stage one: thread i takes column i % cols over the rows of chunk i / cols, kStatsChunk rows in order, and
// writes the chunk's sum, sum of squares and max to d_part ([3][cols][chunks]). Neighbouring threads read
// neighbouring columns of a row, which keeps the loads coalesced; the chunks are fixed by the row count
// alone, so the partials, and the sums made of them, are the same whatever the grid.
__global__ void column_partials_kernel(const float* __restrict__ d_h, int64_t rows, int64_t cols,
                                       int64_t chunks, double* __restrict__ d_part) {
  const int64_t n = chunks * cols;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t j = i % cols, chunk = i / cols;
    const int64_t end = (chunk + 1) * kStatsChunk < rows ? (chunk + 1) * kStatsChunk : rows;
    double sum = 0, sq = 0, mx = -INFINITY;
    for (int64_t r = chunk * kStatsChunk; r < end; ++r) {
      const double v = static_cast<double>(d_h[r * cols + j]);
      sum += v;
      sq += v * v;
      mx = fmax(mx, v);
    }
    d_part[j * chunks + chunk] = sum;
    d_part[(cols + j) * chunks + chunk] = sq;
    d_part[(2 * cols + j) * chunks + chunk] = mx;
  }
}

struct MaxOf {
  __host__ __device__ double operator()(double a, double b) const { return fmax(a, b); }
};

// Stage two: one block per column (blocks stride over columns) folds its chunks' partials, each thread a
// fixed stride of them, then a block reduction of fixed shape; thread 0 adds the column's totals to the
// running ones.
__global__ void column_combine_kernel(const double* __restrict__ d_part, int64_t cols, int64_t chunks,
                                      double* __restrict__ d_sum, double* __restrict__ d_sq,
                                      double* __restrict__ d_max) {
  using Reduce = cub::BlockReduce<double, kBlock>;
  __shared__ typename Reduce::TempStorage temp;
  for (int64_t j = blockIdx.x; j < cols; j += gridDim.x) {
    const double* sums = d_part + j * chunks;
    const double* squares = d_part + (cols + j) * chunks;
    const double* maxima = d_part + (2 * cols + j) * chunks;
    double sum = 0, sq = 0, mx = -INFINITY;
    for (int64_t c = threadIdx.x; c < chunks; c += kBlock) {
      sum += sums[c];
      sq += squares[c];
      mx = fmax(mx, maxima[c]);
    }
    const double total_sum = Reduce(temp).Sum(sum);
    __syncthreads();  // each reduction reuses the temporary storage
    const double total_sq = Reduce(temp).Sum(sq);
    __syncthreads();
    const double total_max = Reduce(temp).Reduce(mx, MaxOf{});
    if (threadIdx.x == 0) {
      d_sum[j] += total_sum;
      d_sq[j] += total_sq;
      d_max[j] = fmax(d_max[j], total_max);
    }
    __syncthreads();
  }
}

// column_sums' stage one, as column_partials_kernel: per chunk of rows, Σa and Σa·(b − shift) (b = a, shift
// 0: Σa²), into d_part ([2][cols][chunks]). b − shift is taken in float, as the CPU's BatchNorm backward
// takes it.
__global__ void sum_partials_kernel(const float* __restrict__ d_a, const float* __restrict__ d_b,
                                    const double* __restrict__ d_shift, int64_t rows, int64_t cols,
                                    int64_t chunks, double* __restrict__ d_part) {
  const int64_t n = chunks * cols;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t j = i % cols, chunk = i / cols;
    const int64_t end = (chunk + 1) * kStatsChunk < rows ? (chunk + 1) * kStatsChunk : rows;
    const float shift = d_shift ? static_cast<float>(d_shift[j]) : 0.f;
    double sum = 0, second = 0;
    for (int64_t r = chunk * kStatsChunk; r < end; ++r) {
      const float a = d_a[r * cols + j];
      sum += static_cast<double>(a);
      second += static_cast<double>(a) * static_cast<double>((d_b ? d_b[r * cols + j] : a) - shift);
    }
    d_part[j * chunks + chunk] = sum;
    d_part[(cols + j) * chunks + chunk] = second;
  }
}

// Stage two: one block per column folds its chunks' two partials, as column_combine_kernel, and writes the
// totals (d_out: [sum | second]).
__global__ void sum_combine_kernel(const double* __restrict__ d_part, int64_t cols, int64_t chunks,
                                   double* __restrict__ d_out) {
  using Reduce = cub::BlockReduce<double, kBlock>;
  __shared__ typename Reduce::TempStorage temp;
  for (int64_t j = blockIdx.x; j < cols; j += gridDim.x) {
    double sum = 0, second = 0;
    for (int64_t c = threadIdx.x; c < chunks; c += kBlock) {
      sum += d_part[j * chunks + c];
      second += d_part[(cols + j) * chunks + c];
    }
    const double total_sum = Reduce(temp).Sum(sum);
    __syncthreads();  // each reduction reuses the temporary storage
    const double total_second = Reduce(temp).Sum(second);
    if (threadIdx.x == 0) {
      d_out[j] = total_sum;
      d_out[cols + j] = total_second;
    }
    __syncthreads();
  }
}

}  // namespace

int64_t column_sums_scratch(int64_t rows, int64_t cols) {
  return 2 * cols * std::max<int64_t>(1, (rows + kStatsChunk - 1) / kStatsChunk);
}

void column_sums(const float* d_a, const float* d_b, const double* d_shift, int64_t rows, int64_t cols,
                 double* d_out, double* d_scratch, cudaStream_t stream) {
  MODECONN_EXPECTS(rows > 0 && cols > 0, "column_sums shape");
  const int64_t chunks = (rows + kStatsChunk - 1) / kStatsChunk;
  launch(sum_partials_kernel, grid_for(chunks * cols), kBlock, 0, stream, d_a, d_b, d_shift, rows, cols,
         chunks, d_scratch);
  launch(sum_combine_kernel, blocks_for(cols), kBlock, 0, stream, d_scratch, cols, chunks, d_out);
}

void widen(const float* d_in, double* d_out, int64_t n, cudaStream_t stream) {
  MODECONN_EXPECTS(n >= 0, "widen size");
  if (n == 0) return;
  launch(widen_kernel, grid_for(n), kBlock, 0, stream, d_in, d_out, n);
}

int64_t column_stats_scratch(int64_t rows, int64_t cols) {
  return 3 * cols * std::max<int64_t>(1, (rows + kStatsChunk - 1) / kStatsChunk);
}

void column_stats(const float* d_h, int64_t rows, int64_t cols, double* d_sum, double* d_sq, double* d_max,
                  double* d_scratch, cudaStream_t stream) {
  MODECONN_EXPECTS(rows >= 0 && cols >= 0, "column_stats shape");
  if (rows == 0 || cols == 0) return;
  const int64_t chunks = (rows + kStatsChunk - 1) / kStatsChunk;
  launch(column_partials_kernel, grid_for(chunks * cols), kBlock, 0, stream, d_h, rows, cols, chunks,
         d_scratch);
  launch(column_combine_kernel, blocks_for(cols), kBlock, 0, stream, d_scratch, cols, chunks, d_sum, d_sq,
         d_max);
}

}  // namespace modeconn::cuda
