// All points' weights generated on the device from the control points, in one launch.
#include "kernels.cuh"
#include "launch.cuh"

namespace modeconn::cuda {
namespace {

__global__ void interpolate_kernel(const float* __restrict__ d_points, int num_cp, int64_t stride,
                                   const double* __restrict__ d_coef, int64_t num_points, int64_t begin,
                                   int64_t count, float* __restrict__ d_out, int64_t out_stride) {
  for (int64_t p = blockIdx.y; p < num_points; p += gridDim.y) {
    const double* c = d_coef + p * num_cp;
    for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count;
         i += int64_t{gridDim.x} * blockDim.x) {
      double v = 0;
      for (int k = 0; k < num_cp; ++k) v += c[k] * d_points[k * stride + begin + i];
      d_out[p * out_stride + i] = static_cast<float>(v);
    }
  }
}

}  // namespace

void interpolate(const float* d_points, int64_t num_cp, int64_t stride, const double* d_coef,
                 int64_t num_points, int64_t begin, int64_t count, float* d_out, int64_t out_stride,
                 cudaStream_t stream) {
  MODECONN_EXPECTS(num_cp > 0 && num_cp < (int64_t{1} << 31) && num_points >= 0 && begin >= 0 && count >= 0 &&
                       begin + count <= stride && count <= out_stride,
                   "interpolate shapes");
  if (count == 0 || num_points == 0) return;
  launch(interpolate_kernel, dim3(grid_for(count), blocks_for(num_points)), kBlock, 0, stream, d_points,
         static_cast<int>(num_cp), stride, d_coef, num_points, begin, count, d_out, out_stride);
}

}  // namespace modeconn::cuda
