// Elementwise loops at the vector width of the CPU at hand. The build targets the baseline x86-64, whose
// 128-bit vectors leave a pass over every parameter or activation several times slower than the machine
// allows; a function marked MODECONN_VECTOR_CLONES also gets AVX2 and AVX-512 variants, one of which the
// dynamic loader picks (GCC's target_clones). The files that use it compile with -ffp-contract=off, so no
// variant fuses a multiply-add the baseline rounds twice: every variant computes the same values bit for bit.
#pragma once

#include <algorithm>
#include <cstdint>

// MODECONN_NARROW_CLONES is for loops over a few channels (8 or 16 floats a position): GCC 12 vectorises an
// AVX-512 loop 16 floats at a time and leaves a shorter trip count to its scalar remainder, so such loops get
// the AVX2 variant alone, which AVX-512 machines run as well.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define MODECONN_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define MODECONN_NARROW_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MODECONN_VECTOR_CLONES
#define MODECONN_NARROW_CLONES
#endif
// For the lambdas inside a cloned function (one per activation): inlined, they are compiled for each variant.
#define MODECONN_INLINE __attribute__((always_inline))

namespace modeconn::cpu {

// fn(begin, end) over [0, n) in chunks spread across the OpenMP threads: the chunks' work is a cloned
// function's, which an OpenMP region's outlined body would not be. Elementwise work only (no reductions). A
// single chunk runs on the calling thread: a small model's points are interpolated one after another by the
// thousand, and a parallel region each would cost more than the arithmetic.
template <typename F>
void parallel_chunks(int64_t n, F&& fn) {
  constexpr int64_t kChunk = int64_t{1} << 14;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) fn(c * kChunk, std::min(n, (c + 1) * kChunk));
}

}  // namespace modeconn::cpu
