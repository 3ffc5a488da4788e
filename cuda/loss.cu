// Fused log-softmax + cross-entropy + error count (or squared and absolute error) per row in float64, and the
// deterministic per-point sums (CUB block reduction, one block per point).
#include <cub/block/block_reduce.cuh>

#include "kernels.cuh"
#include "launch.cuh"

namespace modeconn::cuda {
namespace {

// Loss and error of one row of logits, in float64.
__device__ void one_row(const float* z, int64_t cols, Task task, int32_t label, const float* y, double* loss,
                        double* error, float* grad, double grad_scale) {
  if (task == Task::classification) {
    int64_t best = 0;
    for (int64_t j = 1; j < cols; ++j)
      if (z[j] > z[best]) best = j;  // the first maximum, as the CPU backend and argmax take it
    const double m = z[best];
    double sum = 0;
    for (int64_t j = 0; j < cols; ++j) sum += exp(static_cast<double>(z[j]) - m);
    *loss = m + log(sum) - z[label];
    *error = best == label ? 0.0 : 1.0;
    if (grad)
      for (int64_t j = 0; j < cols; ++j)
        grad[j] = static_cast<float>((exp(static_cast<double>(z[j]) - m) / sum - (j == label ? 1.0 : 0.0)) *
                                     grad_scale);
  } else {
    double se = 0, ae = 0;
    for (int64_t j = 0; j < cols; ++j) {
      const double d = static_cast<double>(z[j]) - y[j];
      se += d * d;
      ae += fabs(d);
      if (grad) grad[j] = static_cast<float>(2.0 * d * grad_scale / static_cast<double>(cols));
    }
    *loss = se / static_cast<double>(cols);
    *error = ae / static_cast<double>(cols);
  }
}

__global__ void row_losses_kernel(const float* __restrict__ d_logits, int64_t batch, int64_t rows,
                                  int64_t cols, Task task, const int32_t* __restrict__ d_labels,
                                  const float* __restrict__ d_targets, int64_t row0,
                                  double* __restrict__ d_loss, double* __restrict__ d_error,
                                  int64_t loss_stride) {
  for (int64_t b = blockIdx.y; b < batch; b += gridDim.y)
    for (int64_t r = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; r < rows;
         r += int64_t{gridDim.x} * blockDim.x) {
      const int64_t row = row0 + r;
      const int32_t label = task == Task::classification ? d_labels[row] : 0;
      const float* y = task == Task::regression ? d_targets + row * cols : nullptr;
      one_row(d_logits + (b * rows + r) * cols, cols, task, label, y, d_loss + b * loss_stride + row,
              d_error + b * loss_stride + row, nullptr, 0.0);
    }
}

__global__ void loss_gradient_kernel(const float* __restrict__ d_logits, int64_t rows, int64_t cols,
                                     Task task, const int32_t* __restrict__ d_labels,
                                     const float* __restrict__ d_targets, const int64_t* __restrict__ d_rows,
                                     float* __restrict__ d_grad, double* __restrict__ d_row_loss,
                                     double* __restrict__ d_row_error) {
  for (int64_t r = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; r < rows;
       r += int64_t{gridDim.x} * blockDim.x) {
    const int64_t row = d_rows[r];
    const int32_t label = task == Task::classification ? d_labels[row] : 0;
    const float* y = task == Task::regression ? d_targets + row * cols : nullptr;
    one_row(d_logits + r * cols, cols, task, label, y, d_row_loss + r, d_row_error + r, d_grad + r * cols,
            1.0 / static_cast<double>(rows));
  }
}

// One block per segment at a time; a block strides over segments when there are more than blocks.
__global__ void segmented_sum_kernel(const double* __restrict__ d_values, int64_t segments, int64_t n,
                                     double* __restrict__ d_sums) {
  using Reduce = cub::BlockReduce<double, kBlock>;
  __shared__ typename Reduce::TempStorage temp;
  for (int64_t seg = blockIdx.x; seg < segments; seg += gridDim.x) {
    const double* v = d_values + seg * n;
    double s = 0;
    for (int64_t i = threadIdx.x; i < n; i += kBlock) s += v[i];  // a fixed order: the same sum every run
    const double total = Reduce(temp).Sum(s);
    if (threadIdx.x == 0) d_sums[seg] = total;
    __syncthreads();  // the next segment's reduction reuses the temporary storage
  }
}

}  // namespace

void row_losses(const float* d_logits, int64_t batch, int64_t rows, int64_t cols, Task task,
                const int32_t* d_labels, const float* d_targets, int64_t row0, double* d_loss,
                double* d_error, int64_t loss_stride, cudaStream_t stream) {
  MODECONN_EXPECTS(batch >= 0 && rows >= 0 && cols > 0 && row0 >= 0 && row0 + rows <= loss_stride,
                   "row_losses shapes");
  if (batch == 0 || rows == 0) return;
  launch(row_losses_kernel, dim3(grid_for(rows), blocks_for(batch)), kBlock, 0, stream, d_logits, batch, rows,
         cols, task, d_labels, d_targets, row0, d_loss, d_error, loss_stride);
}

void loss_gradient(const float* d_logits, int64_t rows, int64_t cols, Task task, const int32_t* d_labels,
                   const float* d_targets, const int64_t* d_rows, float* d_grad, double* d_row_loss,
                   double* d_row_error, cudaStream_t stream) {
  MODECONN_EXPECTS(rows > 0 && cols > 0, "loss_gradient shapes");
  launch(loss_gradient_kernel, grid_for(rows), kBlock, 0, stream, d_logits, rows, cols, task, d_labels,
         d_targets, d_rows, d_grad, d_row_loss, d_row_error);
}

void segmented_sum(const double* d_values, int64_t segments, int64_t n, double* d_sums, cudaStream_t stream) {
  MODECONN_EXPECTS(segments >= 0 && n >= 0, "segmented_sum shapes");
  if (segments == 0) return;
  launch(segmented_sum_kernel, blocks_for(segments), kBlock, 0, stream, d_values, segments, n, d_sums);
}

}  // namespace modeconn::cuda
