// The entry points of the CUDA backend module (libmodeconn_cuda.so). The core library loads the module only
// when a GPU is asked for or found, so that a run on the CPU never pays for loading cuBLAS and the CUDA
// runtime (about 0.15 s at every start). Plain C names, so dlsym finds them.
#pragma once

#include <cstddef>

namespace modeconn {
class Backend;
}

extern "C" {
// CUDA devices the runtime can use. With none, `why` (`size` bytes) receives the reason in a few words: no
// device, or the runtime's own error, such as a driver too old for the toolkit the module was built with.
using modeconn_cuda_device_count_fn = int(char* why, std::size_t size);
// A new CUDA backend on device 0 (FP32, or TF32 tensor-core GEMMs); throws modeconn::Error on failure.
using modeconn_cuda_make_backend_fn = modeconn::Backend*(bool tf32);
// Tests: fill intermediate buffers with NaN first, so that an element nothing wrote shows.
using modeconn_cuda_set_poison_fn = void(modeconn::Backend* backend, bool on);
}

#define MODECONN_CUDA_MODULE_FILE "libmodeconn_cuda.so"
