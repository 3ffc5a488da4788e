// MODECONN_HD marks math shared by the CPU and CUDA backends: __host__ __device__ under nvcc.
#pragma once

#if defined(__CUDACC__)
#define MODECONN_HD __host__ __device__ __forceinline__
#else
#define MODECONN_HD inline
#endif
