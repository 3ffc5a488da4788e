// The emulation against what CUDA documents: launch limits, barriers, CUB's reduction, cuBLAS's products and
// argument checks, TF32 rounding, stream and event ordering under each schedule, pinned and pageable copies,
// and the misuses that must abort (host pointers on the device, device pointers on the host, operands outside
// their allocation). It runs under every schedule; expectations that depend on the schedule say so.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <cub/block/block_reduce.cuh>
#include <string>
#include <vector>

#include "cuda_emulation.h"

namespace {

bool deferred() { return std::string(cuda_emulation::schedule_name()) != "eager"; }

template <typename T>
T* device_alloc(std::size_t n) {
  T* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, n * sizeof(T)), cudaSuccess);
  return p;
}

template <typename T>
std::vector<T> download(const T* d, std::size_t n) {
  std::vector<T> h(n);
  EXPECT_EQ(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return h;
}

__global__ void fill_kernel(float* d, int n, float value) {
  for (int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); i < n;
       i += static_cast<int>(gridDim.x * blockDim.x))
    d[i] = value;
}

__global__ void add_one_kernel(const float* in, float* out, int n) {
  for (int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); i < n;
       i += static_cast<int>(gridDim.x * blockDim.x))
    out[i] = in[i] + 1.f;
}

class Emulation : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(Emulation, LaunchShapesBeyondTheHardwareFailAsCudaDoes) {
  float* d = device_alloc<float>(4);
  const dim3 bad_grids[] = {dim3(1, 65536), dim3(1, 1, 65536), dim3(0), dim3(1, 0)};
  for (dim3 g : bad_grids) {
    EXPECT_EQ(cuda_emulation::launch(fill_kernel, g, 32, 0, nullptr, d, 4, 1.f),
              cudaErrorInvalidConfiguration);
    EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "a launch error is not sticky";
  }
  const dim3 bad_blocks[] = {dim3(1025), dim3(32, 33), dim3(1, 1, 65), dim3(0)};
  for (dim3 b : bad_blocks)
    EXPECT_EQ(cuda_emulation::launch(fill_kernel, 1, b, 0, nullptr, d, 4, 1.f),
              cudaErrorInvalidConfiguration);
  (void)cudaGetLastError();
  EXPECT_EQ(cuda_emulation::launch(fill_kernel, dim3(1, 65535), 1, 0, nullptr, d, 4, 2.f), cudaSuccess);
  EXPECT_EQ(download(d, 4), std::vector<float>(4, 2.f));
  EXPECT_EQ(cuda_emulation::launch(fill_kernel, 1, dim3(32, 32), 0, nullptr, d, 4, 3.f), cudaSuccess);
  EXPECT_EQ(download(d, 4), std::vector<float>(4, 3.f));
  cudaFree(d);
}

TEST_F(Emulation, AHostPointerGivenToAKernelAborts) {
  std::vector<float> host(8);
#if defined(__SANITIZE_ADDRESS__)
  // The sanitizer's symbolizer reads the symbol table: the kernel is named even in an anonymous namespace.
  const char* expected = "fill_kernel.*argument 0 .* not device memory";
#else
  // Without it only exported symbols have names (the image's build): the kernel is given by its address.
  const char* expected = "kernel .*argument 0 is 0x[0-9a-f]+, which is not device memory";
#endif
  EXPECT_DEATH((void)cuda_emulation::launch(fill_kernel, 1, 32, 0, nullptr, host.data(), 8, 1.f), expected);
}

TEST_F(Emulation, DeviceMemoryIsOutOfBoundsForTheHost) {
#if defined(__SANITIZE_ADDRESS__)
  float* d = device_alloc<float>(8);
  EXPECT_DEATH(
      {
        volatile float x = d[3];
        (void)x;
      },
      "use-after-poison");
  cudaFree(d);
#else
  GTEST_SKIP() << "needs AddressSanitizer";
#endif
}

TEST_F(Emulation, AKernelWritingPastItsBufferIsCaught) {
#if defined(__SANITIZE_ADDRESS__)
  float* d = device_alloc<float>(10);
  EXPECT_DEATH(
      {
        (void)cuda_emulation::launch(fill_kernel, 1, 32, 0, nullptr, d, 11, 1.f);
        cudaDeviceSynchronize();
      },
      "heap-buffer-overflow");
  cudaFree(d);
#else
  GTEST_SKIP() << "needs AddressSanitizer";
#endif
}

__global__ void exchange_kernel(float* out) {
  __shared__ float s[64];
  const unsigned t = threadIdx.x;
  s[t] = static_cast<float>(t + 100 * blockIdx.x);
  __syncthreads();
  out[blockIdx.x * 64 + t] = s[(t + 1) % 64];
}

TEST_F(Emulation, SyncthreadsIsABarrierForTheBlock) {
  float* d = device_alloc<float>(3 * 64);
  ASSERT_EQ(cuda_emulation::launch(exchange_kernel, 3, 64, 0, nullptr, d), cudaSuccess);
  const auto out = download(d, 3 * 64);
  for (unsigned b = 0; b < 3; ++b)
    for (unsigned t = 0; t < 64; ++t)
      ASSERT_EQ(out[b * 64 + t], static_cast<float>((t + 1) % 64 + 100 * b)) << b << " " << t;
  cudaFree(d);
}

__global__ void divergent_barrier_kernel(float* out) {
  if (threadIdx.x < 16) return;
  __syncthreads();
  out[threadIdx.x] = 1.f;
}

TEST_F(Emulation, ABarrierSomeThreadsLeaveAborts) {
  float* d = device_alloc<float>(64);
  EXPECT_DEATH(
      {
        (void)cuda_emulation::launch(divergent_barrier_kernel, 1, 64, 0, nullptr, d);
        cudaDeviceSynchronize();
      },
      "16 threads of the block left the kernel");
  cudaFree(d);
}

constexpr int kReduceThreads = 128;

// Sums `segments` rows of n values, one after another with the same temporary storage; `barrier_before_reuse`
// false leaves out the __syncthreads() CUB asks for before the storage is reused.
__global__ void reduce_kernel(const double* in, int segments, int n, double* out, bool barrier_before_reuse) {
  using Reduce = cub::BlockReduce<double, kReduceThreads>;
  __shared__ typename Reduce::TempStorage temp;
  for (int seg = 0; seg < segments; ++seg) {
    double s = 0;
    for (int i = static_cast<int>(threadIdx.x); i < n; i += kReduceThreads) s += in[seg * n + i];
    const double total = Reduce(temp).Sum(s);
    if (threadIdx.x == 0) out[seg] = total;
    if (barrier_before_reuse) __syncthreads();
  }
}

TEST_F(Emulation, BlockReduceSumsAndShowsAMissingBarrierBeforeReuse) {
  const int segments = 3, n = 1000;
  std::vector<double> values(segments * n);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = std::sin(static_cast<double>(i));
  double* d_in = device_alloc<double>(values.size());
  double* d_out = device_alloc<double>(segments);
  ASSERT_EQ(cudaMemcpy(d_in, values.data(), values.size() * sizeof(double), cudaMemcpyHostToDevice),
            cudaSuccess);
  ASSERT_EQ(
      cuda_emulation::launch(reduce_kernel, 1, kReduceThreads, 0, nullptr, d_in, segments, n, d_out, true),
      cudaSuccess);
  const auto sums = download(d_out, segments);
  for (int s = 0; s < segments; ++s) {
    double want = 0;
    for (int i = 0; i < n; ++i) want += values[static_cast<std::size_t>(s * n + i)];
    EXPECT_NEAR(sums[static_cast<std::size_t>(s)], want, 1e-12 * n) << "segment " << s;
  }
  // Without the barrier, a schedule that releases thread 0 last lets the others overwrite the storage first.
  ASSERT_EQ(
      cuda_emulation::launch(reduce_kernel, 1, kReduceThreads, 0, nullptr, d_in, segments, n, d_out, false),
      cudaSuccess);
  const auto raced = download(d_out, segments);
  if (std::string(cuda_emulation::schedule_name()) == "compute-first") {
    EXPECT_NE(raced[0], sums[0]);
  }
  cudaFree(d_in);
  cudaFree(d_out);
}

TEST_F(Emulation, BlockReduceChecksTheBlockSize) {
  double* d = device_alloc<double>(kReduceThreads);
  EXPECT_DEATH(
      {
        (void)cuda_emulation::launch(reduce_kernel, 1, 64, 0, nullptr, d, 1, 64, d, true);
        cudaDeviceSynchronize();
      },
      "made for blocks of 128 threads");
  cudaFree(d);
}

TEST_F(Emulation, WorkRunsWhenTheHostWaitsForIt) {
  // A kernel's result copied to pinned memory: the copy has happened by the time the call returns only in the
  // eager schedule; every schedule has it after the stream synchronisation.
  cudaStream_t s;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  float* d = device_alloc<float>(16);
  float* pinned = nullptr;
  ASSERT_EQ(cudaMallocHost(&pinned, 16 * sizeof(float)), cudaSuccess);
  std::fill(pinned, pinned + 16, -1.f);
  ASSERT_EQ(cuda_emulation::launch(fill_kernel, 1, 32, 0, s, d, 16, 7.f), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(pinned, d, 16 * sizeof(float), cudaMemcpyDeviceToHost, s), cudaSuccess);
  EXPECT_EQ(pinned[5], deferred() ? -1.f : 7.f);
  EXPECT_EQ(cudaStreamQuery(s), deferred() ? cudaErrorNotReady : cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_EQ(pinned[5], 7.f);
  cudaFreeHost(pinned);
  cudaFree(d);
  cudaStreamDestroy(s);
}

TEST_F(Emulation, PinnedCopiesReadWhenTheyRunPageableOnesWhenIssued) {
  cudaStream_t s;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  float* d = device_alloc<float>(2);
  float* pinned = nullptr;
  ASSERT_EQ(cudaMallocHost(&pinned, sizeof(float)), cudaSuccess);
  std::vector<float> pageable = {1.f};
  *pinned = 1.f;
  ASSERT_EQ(cudaMemcpyAsync(d, pinned, sizeof(float), cudaMemcpyHostToDevice, s), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(d + 1, pageable.data(), sizeof(float), cudaMemcpyHostToDevice, s), cudaSuccess);
  *pinned = 2.f;      // too early: the pinned copy may not have run
  pageable[0] = 2.f;  // fine: a pageable copy was staged when issued
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  const auto got = download(d, 2);
  EXPECT_EQ(got[0], deferred() ? 2.f : 1.f);
  EXPECT_EQ(got[1], 1.f);
  cudaFreeHost(pinned);
  cudaFree(d);
  cudaStreamDestroy(s);
}

TEST_F(Emulation, EventsOrderWorkAcrossStreamsAndAMissingWaitShows) {
  cudaStream_t producer, consumer;
  ASSERT_EQ(cudaStreamCreateWithFlags(&producer, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamCreateWithFlags(&consumer, cudaStreamNonBlocking), cudaSuccess);
  cudaEvent_t done;
  ASSERT_EQ(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), cudaSuccess);
  float* a = device_alloc<float>(8);
  float* b = device_alloc<float>(8);
  for (bool wait : {true, false}) {
    ASSERT_EQ(cudaMemset(a, 0, 8 * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cuda_emulation::launch(fill_kernel, 1, 32, 0, producer, a, 8, 5.f), cudaSuccess);
    ASSERT_EQ(cudaEventRecord(done, producer), cudaSuccess);
    if (wait) {
      ASSERT_EQ(cudaStreamWaitEvent(consumer, done, 0), cudaSuccess);
    }
    ASSERT_EQ(cuda_emulation::launch(add_one_kernel, 1, 32, 0, consumer, a, b, 8), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(consumer), cudaSuccess);
    const float got = download(b, 8)[3];
    if (wait) {
      EXPECT_EQ(got, 6.f);
    } else {
      EXPECT_EQ(got, deferred() ? 1.f : 6.f) << "without the wait the consumer reads before the producer ran";
    }
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  cudaFree(a);
  cudaFree(b);
  cudaEventDestroy(done);
  cudaStreamDestroy(producer);
  cudaStreamDestroy(consumer);
}

TEST_F(Emulation, StreamOrderedMemoryIsForWorkOrderedAfterIt) {
  cudaStream_t first, second;
  ASSERT_EQ(cudaStreamCreateWithFlags(&first, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamCreateWithFlags(&second, cudaStreamNonBlocking), cudaSuccess);
  float* d = nullptr;
  ASSERT_EQ(cudaMallocAsync(&d, 8 * sizeof(float), first), cudaSuccess);
  ASSERT_EQ(cuda_emulation::launch(fill_kernel, 1, 32, 0, first, d, 8, 3.f),
            cudaSuccess);  // ordered after: fine
  ASSERT_EQ(cudaStreamSynchronize(first), cudaSuccess);
  ASSERT_EQ(cudaFreeAsync(d, first), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(first), cudaSuccess);
  if (deferred()) {
    EXPECT_DEATH(
        {
          float* e = nullptr;
          (void)cudaMallocAsync(&e, 8 * sizeof(float), first);
          (void)cuda_emulation::launch(fill_kernel, 1, 32, 0, second, e, 8, 3.f);  // not ordered after it
          cudaStreamSynchronize(second);
        },
        "has not reached the allocation");
  }
  cudaStreamDestroy(first);
  cudaStreamDestroy(second);
}

TEST_F(Emulation, CopiesAreCheckedAgainstTheirAllocations) {
  float* d = device_alloc<float>(4);
  std::vector<float> host(8);
  EXPECT_DEATH((void)cudaMemcpy(d, host.data(), 8 * sizeof(float), cudaMemcpyHostToDevice),
               "runs past its allocation");
  EXPECT_DEATH((void)cudaMemcpy(host.data(), d, 4 * sizeof(float), cudaMemcpyHostToDevice),
               "direction does not match");
  EXPECT_EQ(cudaMemcpy(d, host.data(), 4 * sizeof(float), static_cast<cudaMemcpyKind>(7)),
            cudaErrorInvalidMemcpyDirection);
  cudaFree(d);
}

TEST_F(Emulation, MemoryIsCountedAndRunsOut) {
  std::size_t free0 = 0, total = 0, free1 = 0;
  ASSERT_EQ(cudaMemGetInfo(&free0, &total), cudaSuccess);
  float* d = device_alloc<float>(1 << 20);
  ASSERT_EQ(cudaMemGetInfo(&free1, &total), cudaSuccess);
  EXPECT_EQ(free0 - free1, std::size_t{4} << 20);
  void* huge = nullptr;
  EXPECT_EQ(cudaMalloc(&huge, total), cudaErrorMemoryAllocation);
  EXPECT_EQ(cudaGetLastError(), cudaErrorMemoryAllocation);
  cuda_emulation::fail_allocations_after(1);
  void* one = nullptr;
  void* two = nullptr;
  EXPECT_EQ(cudaMalloc(&one, 16), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&two, 16), cudaErrorMemoryAllocation);
  EXPECT_EQ(cudaMalloc(&two, 16), cudaSuccess) << "the injected failure happens once";
  (void)cudaGetLastError();
  cudaFree(one);
  cudaFree(two);
  cudaFree(d);
}

TEST_F(Emulation, HandlesOfDestroyedStreamsAreRefused) {
  cudaStream_t s;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(s), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaErrorInvalidResourceHandle);
  (void)cudaGetLastError();
}

// ---- cuBLAS

class EmulatedCublas : public Emulation {
 protected:
  void SetUp() override {
    Emulation::SetUp();
    ASSERT_EQ(cublasCreate(&handle_), CUBLAS_STATUS_SUCCESS);
  }
  void TearDown() override { cublasDestroy(handle_); }
  cublasHandle_t handle_ = nullptr;
};

TEST_F(EmulatedCublas, ChecksItsArgumentsAsCublasDoes) {
  float* a = device_alloc<float>(64);
  const float one = 1.f, zero = 0.f;
  const auto sgemm = [&](cublasOperation_t ta, int m, int n, int k, int lda, int ldb, int ldc) {
    return cublasSgemm(handle_, ta, CUBLAS_OP_N, m, n, k, &one, a, lda, a, ldb, &zero, a, ldc);
  };
  EXPECT_EQ(sgemm(CUBLAS_OP_N, 4, 4, 4, 4, 4, 4), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(sgemm(CUBLAS_OP_N, 4, 4, 4, 3, 4, 4), CUBLAS_STATUS_INVALID_VALUE) << "lda < m";
  EXPECT_EQ(sgemm(CUBLAS_OP_T, 4, 4, 2, 1, 4, 4), CUBLAS_STATUS_INVALID_VALUE) << "lda < k for A^T";
  EXPECT_EQ(sgemm(CUBLAS_OP_N, 4, 4, 4, 4, 3, 4), CUBLAS_STATUS_INVALID_VALUE) << "ldb < k";
  EXPECT_EQ(sgemm(CUBLAS_OP_N, 4, 4, 4, 4, 4, 3), CUBLAS_STATUS_INVALID_VALUE) << "ldc < m";
  EXPECT_EQ(sgemm(CUBLAS_OP_N, 4, 4, 0, 4, 0, 4), CUBLAS_STATUS_INVALID_VALUE) << "ldb 0 with k = 0";
  EXPECT_EQ(sgemm(CUBLAS_OP_N, -1, 4, 4, 4, 4, 4), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasSgemm(nullptr, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a, 4, a, 4, &zero, a, 4),
            CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_EQ(cublasGemmStridedBatchedEx(handle_, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a, CUDA_R_32F, 2, 4,
                                       a, CUDA_R_32F, 2, 4, &zero, a + 32, CUDA_R_32F, 2, 4, -1,
                                       CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_INVALID_VALUE)
      << "batch < 0";
  EXPECT_EQ(cublasGemmEx(handle_, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a, CUDA_R_16F, 2, a, CUDA_R_16F, 2,
                         &zero, a, CUDA_R_32F, 2, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_NOT_SUPPORTED);
  cudaDeviceSynchronize();
  cudaFree(a);
}

TEST_F(EmulatedCublas, OperandsOutsideTheirAllocationAbort) {
  float* a = device_alloc<float>(16);
  float* c = device_alloc<float>(16);
  std::vector<float> host(16);
  const float one = 1.f, zero = 0.f;
  // A 4 × 4 operand with leading dimension 5 needs 19 elements; its allocation has 16.
  EXPECT_DEATH((void)cublasSgemm(handle_, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a, 5, a, 4, &zero, c, 4),
               "operand A .* outside its allocation");
  EXPECT_DEATH((void)cublasSgemmStridedBatched(handle_, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a, 2, 4, a,
                                               2, 4, &zero, c, 2, 8, 4),
               "operand C .* outside its allocation");
  EXPECT_DEATH(
      (void)cublasSgemm(handle_, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, host.data(), 4, a, 4, &zero, c, 4),
      "operand A .* host memory");
  EXPECT_DEATH((void)cublasSgemmStridedBatched(handle_, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a, 2, 4, a,
                                               2, 4, &zero, c, 2, 2, 3),
               "C matrices overlap");
  cudaFree(a);
  cudaFree(c);
}

TEST_F(EmulatedCublas, ComputesColumnMajorProductsInEveryTransposition) {
  // Against a float64 product written here: C = alpha·op(A)·op(B) + beta·C over a batch with strides.
  const int m = 5, n = 3, k = 4, batch = 2;
  std::vector<float> a(static_cast<std::size_t>(batch * m * k)), b(static_cast<std::size_t>(batch * k * n)),
      c(static_cast<std::size_t>(batch * m * n));
  for (std::size_t i = 0; i < a.size(); ++i)
    a[i] = static_cast<float>(std::cos(0.7 * static_cast<double>(i)));
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<float>(std::sin(1.3 * static_cast<double>(i)));
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = static_cast<float>(i % 7) - 3.f;
  float* d_a = device_alloc<float>(a.size());
  float* d_b = device_alloc<float>(b.size());
  float* d_c = device_alloc<float>(c.size());
  cudaMemcpy(d_a, a.data(), a.size() * sizeof(float), cudaMemcpyHostToDevice);
  cudaMemcpy(d_b, b.data(), b.size() * sizeof(float), cudaMemcpyHostToDevice);
  const float alpha = 1.5f, beta = -0.5f;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      cudaMemcpy(d_c, c.data(), c.size() * sizeof(float), cudaMemcpyHostToDevice);
      const int lda = ta ? k : m, ldb = tb ? n : k;
      ASSERT_EQ(cublasSgemmStridedBatched(handle_, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                          tb ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &alpha, d_a, lda, m * k,
                                          d_b, ldb, k * n, &beta, d_c, m, m * n, batch),
                CUBLAS_STATUS_SUCCESS);
      const auto got = download(d_c, c.size());
      for (int p = 0; p < batch; ++p)
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < n; ++j) {
            double want = 0;
            for (int l = 0; l < k; ++l) {
              const double av = a[static_cast<std::size_t>(p * m * k + (ta ? l + i * lda : i + l * lda))];
              const double bv = b[static_cast<std::size_t>(p * k * n + (tb ? j + l * ldb : l + j * ldb))];
              want += av * bv;
            }
            const std::size_t at = static_cast<std::size_t>(p * m * n + i + j * m);
            want = alpha * want + beta * c[at];
            ASSERT_NEAR(got[at], want, 1e-5) << ta << tb << " batch " << p << " (" << i << ", " << j << ")";
          }
    }
  // beta = 0: C is not read, so NaN there does not leak into the result.
  ASSERT_EQ(cudaMemset(d_c, 0xFF, c.size() * sizeof(float)), cudaSuccess);
  const float zero = 0.f;
  ASSERT_EQ(cublasSgemm(handle_, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, d_a, m, d_b, k, &zero, d_c, m),
            CUBLAS_STATUS_SUCCESS);
  for (float v : download(d_c, static_cast<std::size_t>(m * n))) ASSERT_TRUE(std::isfinite(v));
  cudaFree(d_a);
  cudaFree(d_b);
  cudaFree(d_c);
}

TEST_F(EmulatedCublas, Tf32RoundsInputsToTenMantissaBits) {
  // 1 + 3·2^-12 rounds up to 1 + 2^-10; 1 + 2^-11, a tie, rounds away from zero to 1 + 2^-10 as well.
  const float x = 1.f + 3.f * std::ldexp(1.f, -12), tie = -(1.f + std::ldexp(1.f, -11)), one = 1.f,
              zero = 0.f;
  const std::vector<float> a = {x, tie};
  float* d_a = device_alloc<float>(2);
  float* d_b = device_alloc<float>(1);
  float* d_c = device_alloc<float>(2);
  cudaMemcpy(d_a, a.data(), 2 * sizeof(float), cudaMemcpyHostToDevice);
  cudaMemcpy(d_b, &one, sizeof(float), cudaMemcpyHostToDevice);
  const auto product = [&](cublasComputeType_t compute) {
    EXPECT_EQ(cublasGemmEx(handle_, CUBLAS_OP_N, CUBLAS_OP_N, 2, 1, 1, &one, d_a, CUDA_R_32F, 2, d_b,
                           CUDA_R_32F, 1, &zero, d_c, CUDA_R_32F, 2, compute, CUBLAS_GEMM_DEFAULT),
              CUBLAS_STATUS_SUCCESS);
    return download(d_c, 2);
  };
  const float rounded = 1.f + std::ldexp(1.f, -10);
  EXPECT_EQ(product(CUBLAS_COMPUTE_32F_FAST_TF32), (std::vector<float>{rounded, -rounded}));
  EXPECT_EQ(product(CUBLAS_COMPUTE_32F), a) << "FP32 by default";
  ASSERT_EQ(cublasSetMathMode(handle_, CUBLAS_TF32_TENSOR_OP_MATH), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(product(CUBLAS_COMPUTE_32F), (std::vector<float>{rounded, -rounded}))
      << "TF32 allowed by the math mode";
  EXPECT_EQ(product(CUBLAS_COMPUTE_32F_PEDANTIC), a) << "never in pedantic compute";
  cudaFree(d_a);
  cudaFree(d_b);
  cudaFree(d_c);
}

}  // namespace
