// Device and pinned memory: host allocations the emulation keeps a registry of, so that every pointer given
// to a kernel, a copy or cuBLAS can be checked against them. Device memory stays poisoned for
// AddressSanitizer while no device work runs on it: host code that dereferences a device pointer fails as it
// would on a GPU.
#include <sanitizer/asan_interface.h>

#include <cstdlib>
#include <map>
#include <string>

#include "cuda_emulation.h"
#include "emulation.hpp"

namespace cuda_emulation {
namespace {

constexpr std::size_t kAlignment = 256;  // what cudaMalloc guarantees

std::map<std::uintptr_t, Allocation>& registry() {
  static std::map<std::uintptr_t, Allocation> r;
  return r;
}

std::size_t used_bytes = 0;
long allocations_before_failure = -1;

}  // namespace

void fail_allocations_after(long n) {
  std::lock_guard lock(api_mutex());
  allocations_before_failure = n;
}

bool injected_allocation_failure() {
  if (allocations_before_failure < 0) return false;
  if (allocations_before_failure-- > 0) return false;
  return true;  // the count reached -1: this one fails, and the hook is off again
}

std::size_t device_memory_total() {
  static const std::size_t total = [] {
    const char* v = std::getenv("MODECONN_EMULATE_MEMORY");
    return v && *v ? static_cast<std::size_t>(std::strtoull(v, nullptr, 10)) : std::size_t{8} << 30;
  }();
  return total;
}

std::size_t device_memory_used() { return used_bytes; }

const Allocation* find_allocation(const void* p) {
  if (p == nullptr) return nullptr;
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  auto& r = registry();
  auto it = r.upper_bound(a);
  if (it == r.begin()) return nullptr;
  --it;
  return a - it->second.base < it->second.size ? &it->second : nullptr;
}

void* allocate(std::size_t bytes, MemoryKind kind, bool ready) {
  if (kind == MemoryKind::device &&
      (injected_allocation_failure() ||
       bytes > device_memory_total() - std::min(used_bytes, device_memory_total())))
    return nullptr;
  void* p = nullptr;
  if (posix_memalign(&p, kAlignment, bytes) != 0) return nullptr;
  registry()[reinterpret_cast<std::uintptr_t>(p)] =
      Allocation{reinterpret_cast<std::uintptr_t>(p), bytes, kind, ready};
  if (kind == MemoryKind::device) {
    used_bytes += bytes;
    ASAN_POISON_MEMORY_REGION(p, bytes);
  }
  return p;
}

void mark_ready(void* p) {
  auto it = registry().find(reinterpret_cast<std::uintptr_t>(p));
  if (it != registry().end()) it->second.ready = true;
}

void release(void* p) {
  auto it = registry().find(reinterpret_cast<std::uintptr_t>(p));
  if (it == registry().end())
    fail("freeing " + describe(p) + ", which is not the start of a live allocation");
  if (it->second.kind == MemoryKind::device) {
    used_bytes -= it->second.size;
    ASAN_UNPOISON_MEMORY_REGION(p, it->second.size);
  }
  registry().erase(it);
  std::free(p);
}

DeviceAccess::DeviceAccess(const std::vector<const void*>& pointers,
                           const std::function<std::string()>& who) {
  for (const void* p : pointers) {
    if (p == nullptr) continue;
    const Allocation* a = find_allocation(p);
    if (a == nullptr)
      fail(who() + ": " + describe(p) +
           " is not device memory (a host pointer, or device memory already freed)");
    if (!a->ready)
      fail(who() + ": " + describe(p) +
           " comes from cudaMallocAsync on a stream that has not reached the allocation");
    if (a->kind != MemoryKind::device) continue;
    void* base = reinterpret_cast<void*>(a->base);
    bool seen = false;
    for (const auto& o : opened_) seen = seen || o.first == base;
    if (seen) continue;
    ASAN_UNPOISON_MEMORY_REGION(base, a->size);
    opened_.emplace_back(base, a->size);
  }
}

DeviceAccess::~DeviceAccess() {
  for (const auto& [base, size] : opened_) ASAN_POISON_MEMORY_REGION(base, size);
}

}  // namespace cuda_emulation

using namespace cuda_emulation;

extern "C" {

cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  std::lock_guard lock(api_mutex());
  if (ptr == nullptr) return record(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  *ptr = allocate(bytes, MemoryKind::device, true);
  return *ptr ? cudaSuccess : record(cudaErrorMemoryAllocation);
}

cudaError_t cudaFree(void* ptr) {
  std::lock_guard lock(api_mutex());
  if (ptr == nullptr) return cudaSuccess;
  const Allocation* a = find_allocation(ptr);
  if (a == nullptr || a->kind != MemoryKind::device || a->base != reinterpret_cast<std::uintptr_t>(ptr))
    return record(cudaErrorInvalidValue);
  synchronize_device();  // cudaFree waits for the whole device
  release(ptr);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, std::size_t bytes) {
  return cudaHostAlloc(ptr, bytes, cudaHostAllocDefault);
}

cudaError_t cudaHostAlloc(void** ptr, std::size_t bytes, unsigned int) {
  std::lock_guard lock(api_mutex());
  if (ptr == nullptr) return record(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  *ptr = allocate(bytes, MemoryKind::pinned, true);
  return *ptr ? cudaSuccess : record(cudaErrorMemoryAllocation);
}

cudaError_t cudaFreeHost(void* ptr) {
  std::lock_guard lock(api_mutex());
  if (ptr == nullptr) return cudaSuccess;
  const Allocation* a = find_allocation(ptr);
  if (a == nullptr || a->kind != MemoryKind::pinned || a->base != reinterpret_cast<std::uintptr_t>(ptr))
    return record(cudaErrorInvalidValue);
  synchronize_device();  // as cudaFreeHost does: no queued copy may still read it
  release(ptr);
  return cudaSuccess;
}

cudaError_t cudaMallocAsync(void** ptr, std::size_t bytes, cudaStream_t stream) {
  std::lock_guard lock(api_mutex());
  Stream* s = stream_of(stream);
  if (ptr == nullptr) return record(cudaErrorInvalidValue);
  if (s == nullptr) return record(cudaErrorInvalidResourceHandle);
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  void* p = allocate(bytes, MemoryKind::device, false);
  if (p == nullptr) return record(cudaErrorMemoryAllocation);
  *ptr = p;
  // Usable by work ordered after this point of the stream; other streams must wait for it.
  enqueue(s, Op{OpKind::alloc, [p] { mark_ready(p); }});
  return cudaSuccess;
}

cudaError_t cudaFreeAsync(void* ptr, cudaStream_t stream) {
  std::lock_guard lock(api_mutex());
  Stream* s = stream_of(stream);
  if (s == nullptr) return record(cudaErrorInvalidResourceHandle);
  if (ptr == nullptr) return cudaSuccess;
  const Allocation* a = find_allocation(ptr);
  if (a == nullptr || a->kind != MemoryKind::device || a->base != reinterpret_cast<std::uintptr_t>(ptr))
    return record(cudaErrorInvalidValue);
  enqueue(s, Op{OpKind::free, [ptr] { release(ptr); }});
  return cudaSuccess;
}

cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* pool, int device) {
  static int the_pool;
  if (pool == nullptr) return record(cudaErrorInvalidValue);
  if (device != 0) return record(cudaErrorInvalidDevice);
  *pool = reinterpret_cast<cudaMemPool_t>(&the_pool);
  return cudaSuccess;
}

namespace {
uint64_t release_threshold = 0;
}

cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool, cudaMemPoolAttr attr, void* value) {
  if (pool == nullptr || value == nullptr || attr != cudaMemPoolAttrReleaseThreshold)
    return record(cudaErrorInvalidValue);
  release_threshold = *static_cast<uint64_t*>(value);  // kept, not acted on: the host allocator pools anyway
  return cudaSuccess;
}

cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t pool, cudaMemPoolAttr attr, void* value) {
  if (pool == nullptr || value == nullptr || attr != cudaMemPoolAttrReleaseThreshold)
    return record(cudaErrorInvalidValue);
  *static_cast<uint64_t*>(value) = release_threshold;
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
  std::lock_guard lock(api_mutex());
  if (free_bytes == nullptr || total_bytes == nullptr) return record(cudaErrorInvalidValue);
  *total_bytes = device_memory_total();
  *free_bytes = *total_bytes - std::min(*total_bytes, device_memory_used());
  return cudaSuccess;
}

cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* ptr) {
  std::lock_guard lock(api_mutex());
  if (attributes == nullptr) return record(cudaErrorInvalidValue);
  const Allocation* a = find_allocation(ptr);
  attributes->device = 0;
  attributes->type = a == nullptr                    ? cudaMemoryTypeUnregistered
                     : a->kind == MemoryKind::device ? cudaMemoryTypeDevice
                                                     : cudaMemoryTypeHost;
  attributes->devicePointer = a ? const_cast<void*>(ptr) : nullptr;
  attributes->hostPointer = a && a->kind == MemoryKind::pinned ? const_cast<void*>(ptr) : nullptr;
  return cudaSuccess;
}

}  // extern "C"
