// Copies and memsets, stream-ordered. As on a GPU, a copy from pageable host memory reads it when it is
// issued (the driver stages it), while a copy from pinned memory reads it when the copy runs, and a copy to
// the host writes when it runs: a host that reuses a pinned buffer or reads a result before waiting sees the
// difference.
#include <cstring>
#include <string>
#include <vector>

#include "emulation.hpp"

namespace cuda_emulation {
namespace {

enum class Side { device, pinned, pageable };

Side side_of(const void* p) {
  const Allocation* a = find_allocation(p);
  if (a == nullptr) return Side::pageable;
  return a->kind == MemoryKind::device ? Side::device : Side::pinned;
}

const char* name_of(Side s) {
  switch (s) {
    case Side::device:
      return "device memory";
    case Side::pinned:
      return "pinned host memory";
    case Side::pageable:
      return "pageable host memory";
  }
  return "";
}

void check_range(const char* who, const char* which, const void* p, std::size_t bytes) {
  const Allocation* a = find_allocation(p);
  if (a != nullptr && !a->contains(p, bytes))
    fail(std::string(who) + ": the " + which + " range [" + describe(p) + ", +" + std::to_string(bytes) +
         " bytes) runs past its allocation of " + std::to_string(a->size) + " bytes at " +
         describe(reinterpret_cast<const void*>(a->base)));
}

cudaError_t copy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, Stream* s,
                 const char* who) {
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) return record(cudaErrorInvalidMemcpyDirection);
  if (bytes == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return record(cudaErrorInvalidValue);
  const Side d = side_of(dst), from = side_of(src);
  if (kind != cudaMemcpyDefault) {
    const bool want_dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool want_src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (want_dst_device != (d == Side::device) || want_src_device != (from == Side::device))
      fail(std::string(who) + ": the copy's direction does not match its pointers: destination " +
           describe(dst) + " is " + name_of(d) + ", source " + describe(src) + " is " + name_of(from));
  }
  check_range(who, "destination", dst, bytes);
  check_range(who, "source", src, bytes);
  const std::string what = who;
  // Checked again when the copy runs: still allocated (and reached, for stream-ordered allocations).
  std::vector<const void*> registered;
  if (d != Side::pageable) registered.push_back(dst);
  if (from != Side::pageable) registered.push_back(src);
  if (from == Side::pageable && d == Side::device) {
    // Staged now: the caller may reuse its buffer as soon as the call returns.
    auto staged = std::make_shared<std::vector<unsigned char>>(
        static_cast<const unsigned char*>(src), static_cast<const unsigned char*>(src) + bytes);
    enqueue(s, Op{OpKind::copy, [dst, staged, what] {
                    DeviceAccess access({dst}, [&] { return what; });
                    std::memcpy(dst, staged->data(), staged->size());
                  }});
  } else {
    enqueue(s, Op{OpKind::copy, [dst, src, bytes, what, registered] {
                    DeviceAccess access(registered, [&] { return what; });
                    std::memmove(dst, src, bytes);
                  }});
  }
  return cudaSuccess;
}

cudaError_t set(void* ptr, int value, std::size_t bytes, Stream* s, const char* who) {
  if (bytes == 0) return cudaSuccess;
  if (side_of(ptr) != Side::device) fail(std::string(who) + ": " + describe(ptr) + " is not device memory");
  check_range(who, "destination", ptr, bytes);
  const std::string what = who;
  enqueue(s, Op{OpKind::memset, [ptr, value, bytes, what] {
                  DeviceAccess access({ptr}, [&] { return what; });
                  std::memset(ptr, value, bytes);
                }});
  return cudaSuccess;
}

}  // namespace
}  // namespace cuda_emulation

using namespace cuda_emulation;

extern "C" {

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  std::lock_guard lock(api_mutex());
  Stream* s = stream_of(nullptr);
  const cudaError_t e = copy(dst, src, bytes, kind, s, "cudaMemcpy");
  if (e == cudaSuccess) synchronize(s);
  return e;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  std::lock_guard lock(api_mutex());
  Stream* s = stream_of(stream);
  if (s == nullptr) return record(cudaErrorInvalidResourceHandle);
  return copy(dst, src, bytes, kind, s, "cudaMemcpyAsync");
}

cudaError_t cudaMemset(void* ptr, int value, std::size_t bytes) {
  std::lock_guard lock(api_mutex());
  Stream* s = stream_of(nullptr);
  const cudaError_t e = set(ptr, value, bytes, s, "cudaMemset");
  if (e == cudaSuccess) synchronize(s);
  return e;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t bytes, cudaStream_t stream) {
  std::lock_guard lock(api_mutex());
  Stream* s = stream_of(stream);
  if (s == nullptr) return record(cudaErrorInvalidResourceHandle);
  return set(ptr, value, bytes, s, "cudaMemsetAsync");
}

}  // extern "C"
