// The emulation's insides shared by its files: failures, device memory, streams and their schedules, blocks.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cuda_emulation {

// ---- failures.cpp
// A misuse real CUDA would punish with a crash, a fault or silent garbage: says what, prints the stack,
// aborts.
[[noreturn]] void fail(const std::string& message);
// The name of a kernel for messages (its symbol where one is known, else its address).
std::string kernel_name(const void* kernel);
// Every API call holds this: host threads take turns, and work runs on the thread that waits for it.
std::recursive_mutex& api_mutex();
// Records a failed call's error for cudaGetLastError and returns it.
cudaError_t record(cudaError_t e);
std::string describe(const void* p);

// ---- memory.cpp
enum class MemoryKind { device, pinned };

struct Allocation {
  std::uintptr_t base = 0;
  std::size_t size = 0;
  MemoryKind kind = MemoryKind::device;
  bool ready = true;  // false between cudaMallocAsync and the point its stream reaches it
  bool contains(const void* p, std::size_t bytes) const {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    return a >= base && a - base <= size && bytes <= size - (a - base);
  }
};

// The live allocation that holds address p (nullptr for host memory, or memory already freed).
const Allocation* find_allocation(const void* p);
// nullptr when the device is out of memory. Device memory is poisoned for the host (AddressSanitizer) until
// device work touches it.
void* allocate(std::size_t bytes, MemoryKind kind, bool ready);
void mark_ready(void* p);
void release(void* p);
std::size_t device_memory_total();
std::size_t device_memory_used();
// The test hook fail_allocations_after counts down here: true when this allocation is to fail.
bool injected_allocation_failure();

// While alive, the emulated device may touch these allocations: they are unpoisoned for AddressSanitizer and
// poisoned again afterwards. The allocations must be live device or pinned memory (checked, with `who`).
class DeviceAccess {
 public:
  DeviceAccess(const std::vector<const void*>& pointers, const std::function<std::string()>& who);
  DeviceAccess(const DeviceAccess&) = delete;
  DeviceAccess& operator=(const DeviceAccess&) = delete;
  ~DeviceAccess();

 private:
  std::vector<std::pair<void*, std::size_t>> opened_;
};

// ---- streams.cpp
enum class OpKind { kernel, copy, memset, blas, wait, marker, alloc, free };

struct Op {
  OpKind kind = OpKind::marker;
  std::function<void()> run;
  struct Stream* wait_stream = nullptr;  // kind wait: runs once that stream has completed wait_seq ops
  uint64_t wait_seq = 0;
};

struct Stream {
  uint64_t id = 0;
  bool blocking = true;  // synchronises with the legacy default stream
  bool destroyed = false;
  std::deque<Op> queue;  // issued, not yet run
  uint64_t issued = 0, completed = 0;
};

enum class Schedule { eager, copies_first, compute_first, random };
Schedule schedule();
// The stream behind a handle (nullptr: the legacy default stream); nullptr for a destroyed or unknown handle.
Stream* stream_of(cudaStream_t handle);
Stream* new_stream(bool blocking);
void destroy_stream(Stream* s);
// Queues op on s (after the implicit waits of the legacy default stream); the eager schedule runs it at once.
// Returns its sequence number in s.
uint64_t enqueue(Stream* s, Op op);
// Runs queued work, in the schedule's order, until s has completed `seq` ops (and whatever that waits for).
void run_until(Stream* s, uint64_t seq);
void synchronize(Stream* s);
void synchronize_device();
// Lets the schedule pick: a number in [0, n).
std::size_t pick(std::size_t n);

// ---- blocks.cpp
// Runs every block of the grid, each thread calling `thread` with threadIdx/blockIdx set; threads of a block
// are fibers, so that __syncthreads() is a real barrier.
void run_grid(dim3 grid, dim3 block, const std::function<void()>& thread);

}  // namespace cuda_emulation
