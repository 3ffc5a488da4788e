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

// Rows per partial of the column sums: fixed, so the partition does not depend on the grid. 256 rows give
// every thread enough independent loads, and the partials stay at 3/256 of the matrix.
constexpr int64_t kStatsChunk = 256;

int64_t chunks_of(int64_t rows) { return std::max<int64_t>(1, (rows + kStatsChunk - 1) / kStatsChunk); }

// Stage one: thread i takes column i % cols over the rows of chunk i / cols, kStatsChunk rows in order, and
// writes the chunk's Σa, Σa·(b − shift) (b = a and shift 0 when null: Σa²) and, `with_max`, max a to d_part
// ([2 or 3][cols][chunks]). b − shift is taken in float, as the CPU's BatchNorm backward takes it (exact when
// shift is 0). Neighbouring threads read neighbouring columns of a row, which keeps the loads coalesced; the
// chunks are fixed by the row count alone, so the partials, and the sums made of them, are the same whatever
// the grid.
__global__ void column_partials_kernel(const float* __restrict__ d_a, const float* __restrict__ d_b,
                                       const double* __restrict__ d_shift, int64_t rows, int64_t cols,
                                       int64_t chunks, bool with_max, double* __restrict__ d_part) {
  const int64_t n = chunks * cols;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t j = i % cols, chunk = i / cols;
    const int64_t end = (chunk + 1) * kStatsChunk < rows ? (chunk + 1) * kStatsChunk : rows;
    const float shift = d_shift ? static_cast<float>(d_shift[j]) : 0.f;
    double sum = 0, second = 0, mx = -INFINITY;
    for (int64_t r = chunk * kStatsChunk; r < end; ++r) {
      const float a = d_a[r * cols + j];
      const double v = static_cast<double>(a);
      sum += v;
      second += v * static_cast<double>((d_b ? d_b[r * cols + j] : a) - shift);
      mx = fmax(mx, v);
    }
    d_part[j * chunks + chunk] = sum;
    d_part[(cols + j) * chunks + chunk] = second;
    if (with_max) d_part[(2 * cols + j) * chunks + chunk] = mx;
  }
}

struct MaxOf {
  __host__ __device__ double operator()(double a, double b) const { return fmax(a, b); }
};

// Stage two: one block per column (blocks stride over columns) folds its chunks' partials, each thread a
// fixed stride of them, then a block reduction of fixed shape; thread 0 writes the column's totals, or adds
// them to the running ones (`accumulate`; the max folded in), d_max null when stage one kept no max.
__global__ void column_combine_kernel(const double* __restrict__ d_part, int64_t cols, int64_t chunks,
                                      bool accumulate, double* __restrict__ d_sum,
                                      double* __restrict__ d_second, double* __restrict__ d_max) {
  using Reduce = cub::BlockReduce<double, kBlock>;
  __shared__ typename Reduce::TempStorage temp;
  for (int64_t j = blockIdx.x; j < cols; j += gridDim.x) {
    const double* sums = d_part + j * chunks;
    const double* seconds = d_part + (cols + j) * chunks;
    double sum = 0, second = 0, mx = -INFINITY;
    for (int64_t c = threadIdx.x; c < chunks; c += kBlock) {
      sum += sums[c];
      second += seconds[c];
      if (d_max) mx = fmax(mx, d_part[(2 * cols + j) * chunks + c]);
    }
    const double total_sum = Reduce(temp).Sum(sum);
    __syncthreads();  // each reduction reuses the temporary storage
    const double total_second = Reduce(temp).Sum(second);
    double total_max = -INFINITY;
    if (d_max) {
      __syncthreads();
      total_max = Reduce(temp).Reduce(mx, MaxOf{});
    }
    if (threadIdx.x == 0) {
      d_sum[j] = accumulate ? d_sum[j] + total_sum : total_sum;
      d_second[j] = accumulate ? d_second[j] + total_second : total_second;
      if (d_max) d_max[j] = accumulate ? fmax(d_max[j], total_max) : total_max;
    }
    __syncthreads();
  }
}

}  // namespace

int64_t column_sums_scratch(int64_t rows, int64_t cols) { return 2 * cols * chunks_of(rows); }

void column_sums(const float* d_a, const float* d_b, const double* d_shift, int64_t rows, int64_t cols,
                 double* d_out, double* d_scratch, cudaStream_t stream) {
  MODECONN_EXPECTS(rows > 0 && cols > 0, "column_sums shape");
  const int64_t chunks = chunks_of(rows);
  launch(column_partials_kernel, grid_for(chunks * cols), kBlock, 0, stream, d_a, d_b, d_shift, rows, cols,
         chunks, false, d_scratch);
  launch(column_combine_kernel, blocks_for(cols), kBlock, 0, stream, d_scratch, cols, chunks, false, d_out,
         d_out + cols, static_cast<double*>(nullptr));
}

void widen(const float* d_in, double* d_out, int64_t n, cudaStream_t stream) {
  MODECONN_EXPECTS(n >= 0, "widen size");
  if (n == 0) return;
  launch(widen_kernel, grid_for(n), kBlock, 0, stream, d_in, d_out, n);
}

int64_t column_stats_scratch(int64_t rows, int64_t cols) { return 3 * cols * chunks_of(rows); }

void column_stats(const float* d_h, int64_t rows, int64_t cols, double* d_sum, double* d_sq, double* d_max,
                  double* d_scratch, cudaStream_t stream) {
  MODECONN_EXPECTS(rows >= 0 && cols >= 0, "column_stats shape");
  if (rows == 0 || cols == 0) return;
  const int64_t chunks = chunks_of(rows);
  launch(column_partials_kernel, grid_for(chunks * cols), kBlock, 0, stream, d_h,
         static_cast<const float*>(nullptr), static_cast<const double*>(nullptr), rows, cols, chunks, true,
         d_scratch);
  launch(column_combine_kernel, blocks_for(cols), kBlock, 0, stream, d_scratch, cols, chunks, true, d_sum,
         d_sq, d_max);
}

}  // namespace modeconn::cuda
