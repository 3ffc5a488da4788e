#!/usr/bin/env python3
"""Breaks the CUDA backend on purpose, one mutation at a time, and checks that the emulated GPU suite notices.

Each mutation replaces one exact piece of a source file, rebuilds the emulated build (default build-asan, as
scripts/test.sh makes it), runs the tests named by its filter under the given schedules, and restores the file.
A mutation is *caught* when every listed schedule fails (a failed test or an abort). Prints a table; exits 1 if
any mutation survives or its text is no longer in the source. Takes seconds to a minute per mutation on 2 cores:

    tests/emulation/mutants.py [--build build-asan] [--only NAME]

scripts/test.sh (hence CI) runs all of them after the sanitizer suite, so a reformatted source that no longer
holds a mutation's text fails CI as surely as a surviving mutation.
"""
import argparse
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFERRED = ["copies-first", "compute-first", "random:7"]

# name, file, old, new, test filter, schedules that must fail[, environment]
MUTANTS = [
    ("compute stream does not wait for the copy", "cuda/row_stream.cu",
     "  MODECONN_CUDA_CHECK(cudaStreamWaitEvent(compute_, copied_[s].get(), 0));\n", "",
     "CudaChunks.Streamed*", DEFERRED),
    ("copy stream does not wait for the work that read the slot", "cuda/row_stream.cu",
     "  MODECONN_CUDA_CHECK(cudaStreamWaitEvent(copy_.get(), computed_[s].get(), 0));", "",
     "CudaChunks.Streamed*", DEFERRED),
    ("host refills a pinned buffer before its copy ran", "cuda/row_stream.cu",
     "  MODECONN_CUDA_CHECK(cudaEventSynchronize(copied_[s].get()));", "",
     "CudaChunks.Streamed*", DEFERRED),
    ("lda and ldb swapped", "cuda/gemm.cu",
     "const int lda = leading_dimension(trans_a ? m : k), ldb = leading_dimension(trans_b ? k : n);\n"
     "  MODECONN_CUBLAS_CHECK(cublasGemmStridedBatchedEx(",
     "const int ldb = leading_dimension(trans_a ? m : k), lda = leading_dimension(trans_b ? k : n);\n"
     "  MODECONN_CUBLAS_CHECK(cublasGemmStridedBatchedEx(",
     "CudaChunks.*:CudaTraining.*", ["eager"]),
    ("batch strides swapped", "cuda/gemm.cu",
     "batch.stride_b, d_a, CUDA_R_32F, lda, batch.stride_a, &beta",
     "batch.stride_a, d_a, CUDA_R_32F, lda, batch.stride_b, &beta",
     "CudaChunks.*", ["eager"]),
    ("operands not swapped for the column-major call", "cuda/gemm.cu",
     "&alpha, d_b, CUDA_R_32F, ldb,\n      batch.stride_b, d_a, CUDA_R_32F, lda, batch.stride_a,",
     "&alpha, d_a, CUDA_R_32F, lda,\n      batch.stride_a, d_b, CUDA_R_32F, ldb, batch.stride_b,",
     "CudaChunks.*", ["eager"]),
    ("bias_activation one past its end", "cuda/elementwise.cu",
     "i < per_batch;\n         i += int64_t{gridDim.x} * blockDim.x) {\n      const float v = z[i] + bias[i % cols];",
     "i <= per_batch;\n         i += int64_t{gridDim.x} * blockDim.x) {\n      const float v = z[i] + bias[i % cols];",
     "CudaChunks.*", ["eager"]),
    ("segmented_sum reads one past its segment", "cuda/loss.cu",
     "for (int64_t i = threadIdx.x; i < n; i += kBlock) s += v[i];",
     "for (int64_t i = threadIdx.x; i <= n; i += kBlock) s += v[i];",
     "CudaChunks.*", ["eager"]),
    ("every point's convolution with the first point's weights", "cuda/graph_runner.cu",
     "{a.points, m * k, a.param_stride, m * n.out}", "{a.points, m * k, 0, m * n.out}",
     "Graphs/CudaGraphParity.*", ["eager"]),
    ("every point's BatchNorm with the first point's statistics", "cuda/graph_runner.cu",
     "        args.bn_stride = bn_total;\n", "",
     "Graphs/CudaGraphParity.*", ["eager"]),
    ("a convolution without a bias drops the activation fused into it", "cuda/graph_runner.cu",
     "  else if (activate)\n    activation_forward(a.out, a.out, a.points * rows * cols, a.then, a.ctx.stream());\n", "",
     "Graphs/CudaGraphParity.*", ["eager"]),
    ("column_stats' last chunk one row past the matrix", "cuda/stats.cu",
     "(chunk + 1) * kStatsChunk : rows;", "(chunk + 1) * kStatsChunk : rows + 1;",
     "CudaChunks.*:Gpu/CudaParity.Activation*", ["eager"]),
    ("column_stats' chunks overlap by a row", "cuda/stats.cu",
     "for (int64_t r = chunk * kStatsChunk; r < end; ++r) {", "for (int64_t r = chunk * kStatsChunk - (chunk > 0); r < end; ++r) {",
     "Graphs/CudaGraphParity.ChannelAndCross*:Gpu/CudaParity.Activation*", ["eager"]),
    ("column_stats' block reductions share storage without a barrier", "cuda/stats.cu",
     "    const double total_sum = Reduce(temp).Sum(sum);\n    __syncthreads();",
     "    const double total_sum = Reduce(temp).Sum(sum);",
     "Graphs/CudaGraphParity.ChannelAndCross*:Gpu/CudaParity.Activation*", ["compute-first"]),
    ("weight decay measured at the parameters instead of c*phi", "cuda/optimizer.cu",
     "__fmul_rn(o.weight_decay, __fmul_rn(c, d_decay_at[i]))", "__fmul_rn(o.weight_decay, __fmul_rn(c, d_theta[i]))",
     "OptimizerKernel.*", ["eager"]),
    ("weight decay added before scaling by c (rounds differently)", "cuda/optimizer.cu",
     "const float gi = __fadd_rn(__fmul_rn(c, d_g[i]), __fmul_rn(o.weight_decay, __fmul_rn(c, d_decay_at[i])));",
     "const float gi = __fmul_rn(c, __fadd_rn(d_g[i], __fmul_rn(o.weight_decay, d_decay_at[i])));",
     "OptimizerKernel.*", ["eager"]),
    ("points not strided over y", "cuda/elementwise.cu",
     "for (int64_t b = blockIdx.y; b < batch; b += gridDim.y) {", "for (int64_t b = blockIdx.y; b < batch; b += batch) {",
     "CudaChunks.GridStrideLoopsThatWrap", ["eager"]),
    ("elements not strided over x", "cuda/elementwise.cu",
     "i < n;\n       i += int64_t{gridDim.x} * blockDim.x)\n    d_out[i] = d_x[d_rows",
     "i < n;\n       i += n)\n    d_out[i] = d_x[d_rows",
     "CudaChunks.GridStrideLoopsThatWrap", ["eager"]),
    ("no barrier before the reduction's storage is reused", "cuda/loss.cu",
     "    __syncthreads();  // the next segment's reduction reuses the temporary storage\n", "",
     "CudaChunks.GridStrideLoopsThatWrap", ["compute-first"]),
    ("a streamed split read from the device copy it does not have", "cuda/graph_runner.cu",
     "const float* x = stream ? stream->chunk(r0 - first) : data.x.data() + r0 * split.features;",
     "const float* x = data.x.data() + r0 * split.features;",
     "CudaChunks.Streamed*", ["eager"]),
    ("a streamed block's slot refilled before the input op read it", "cuda/graph_runner.cu",
     "    if (stream) stream->consumed();  // every op that reads the block is queued\n", "",
     "CudaChunks.Streamed*", DEFERRED),
    ("k = 0 products pass a leading dimension of 0", "cuda/gemm.cu",
     "return static_cast<int>(std::max<int64_t>(columns, 1));", "return static_cast<int>(columns);",
     "CudaTraining.ProductsMatchTheCpuBackend", ["eager"]),
    ("no device: the runtime's reason swallowed", "cuda/cuda_backend.cu",
     "  const std::string reason = e == cudaSuccess || e == cudaErrorNoDevice\n",
     "  const std::string reason = true\n",
     "CudaDevices.*", ["eager"], {"MODECONN_EMULATE_DEVICE_ERROR": "cudaErrorInsufficientDriver"}),
    ("im2col ignores the dilation along x", "cuda/graph_ops.cu",
     "x = ox * g.sw - g.pw + b * g.dw;", "x = ox * g.sw - g.pw + b;",
     "Graphs/CudaGraphParity.*", ["eager"]),
    ("average pooling divides by one tap too many", "cuda/graph_ops.cu",
     "d_out[i] = max ? v : v * (1.f / static_cast<float>(g.kh * g.kw));",
     "d_out[i] = max ? v : v * (1.f / static_cast<float>(g.kh * g.kw + 1));",
     "Graphs/CudaGraphParity.*", ["eager"]),
    ("factorised products packed at the full block's stride", "cuda/graph_runner.cu",
     "d_parts.data() + k * static_cast<std::size_t>(rows * first_size),",
     "d_parts.data() + k * static_cast<std::size_t>(block * first_size),",
     "Graphs/CudaGraphParity.BlocksOfRows*", ["eager"]),
    ("the activation fused into an op not applied", "cuda/graph_runner.cu",
     "      args.then = fused_activation_of(g, plan, i);\n",
     "",
     "Graphs/CudaGraphParity.*", ["eager"]),
    ("a failed upload leaves a cached slot", "cuda/cuda_backend.cu",
     "  slot = ResidentSplit{};\n  ResidentSplit r;\n", "  ResidentSplit& r = slot;\n  r = ResidentSplit{};\n",
     "CudaContract.AFailedUpload*", ["eager"]),
    ("col2im overwrites a gradient another reader wrote", "cuda/graph_backward_ops.cu",
     "    float s = add ? d_din[i] : 0.f;\n    for (int64_t a = 0; a < g.kh; ++a) {\n"
     "      const int64_t oy = source_of(y, a, g.sh, g.ph, g.dh, g.ho);",
     "    float s = 0.f;\n    for (int64_t a = 0; a < g.kh; ++a) {\n"
     "      const int64_t oy = source_of(y, a, g.sh, g.ph, g.dh, g.ho);",
     "Graphs/CudaGraphGradParity.*", ["eager"]),
    ("BatchNorm's input gradient without the variance term", "cuda/batch_norm_train.cu",
     "const float g = k.a * (d_dz[i] - s) - e * (d_x[i] - k.mu);", "const float g = k.a * (d_dz[i] - s);",
     "Graphs/CudaGraphGradParity.*", ["eager"]),
    ("running variance updated biased", "cuda/batch_norm_train.cu",
     "const double unbiased = count > 1 ? var * count / (count - 1) : var;", "const double unbiased = var;",
     "Graphs/CudaGraphGradParity.*", ["eager"]),
    ("a graph's running statistics not brought back from the device trainer", "cuda/trainer.cu",
     "    buffers_.download(buffers.data(), buffers.size(), backend_.context().stream());\n", "",
     "Families/CudaGraphTrainingParity.*", ["eager"]),
]


def run_tests(build, filter_, schedule, extra_env):
    env = dict(os.environ, MODECONN_EMULATE_SCHEDULE=schedule, **extra_env)
    p = subprocess.run([str(build / "tests" / "gpu_tests"), "--gtest_brief=1", f"--gtest_filter={filter_}"],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                       timeout=900)
    return p.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(ROOT / "build-asan"))
    ap.add_argument("--only", help="run the mutations whose name contains this")
    args = ap.parse_args()
    build = pathlib.Path(args.build)
    survived = 0
    print(f"{'mutation':62} {'file':22} result")
    for name, rel, old, new, filter_, schedules, *rest in MUTANTS:
        extra_env = rest[0] if rest else {}
        if args.only and args.only not in name:
            continue
        path = ROOT / rel
        original = path.read_text()
        if original.count(old) != 1:
            print(f"{name:62} {rel:22} SOURCE CHANGED: the piece to mutate is not there once")
            survived += 1
            continue
        try:
            path.write_text(original.replace(old, new))
            b = subprocess.run(["cmake", "--build", str(build), "--target", "gpu_tests"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if b.returncode != 0:
                print(f"{name:62} {rel:22} does not compile: the mutation needs updating")
                survived += 1
                continue
            results = {s: run_tests(build, filter_, s, extra_env) for s in schedules}
        finally:
            path.write_text(original)
        caught = all(rc != 0 for rc in results.values())
        survived += not caught
        detail = ", ".join(f"{s} rc={rc}" for s, rc in results.items())
        print(f"{name:62} {rel:22} {'caught' if caught else 'SURVIVED'} ({filter_}; {detail})")
    subprocess.run(["cmake", "--build", str(build), "--target", "gpu_tests"], stdout=subprocess.DEVNULL)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
