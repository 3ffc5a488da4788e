// Test hooks of modeconn's CUDA emulation: switches a real GPU does not offer. Only tests built against the
// emulation (MODECONN_CUDA_EMULATION) include this.
#pragma once

namespace cuda_emulation {

// The next `n` device allocations succeed and the one after fails with cudaErrorMemoryAllocation, once;
// -1 turns the hook off.
void fail_allocations_after(long n);

// The stream schedule in force (MODECONN_EMULATE_SCHEDULE): eager, copies-first, compute-first or random.
const char* schedule_name();

}  // namespace cuda_emulation
