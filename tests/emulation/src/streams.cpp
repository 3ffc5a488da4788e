// Streams and events, and the schedules that decide when queued work runs. Eager runs each operation as it is
// issued. The deferred schedules leave work queued until the host waits for it (a stream or event
// synchronisation, a synchronous copy, cudaFree), then run only what that wait needs, in an order the events
// allow: copies first, kernels first, or a seeded random order. Work the host never waited for is still
// queued, so a missing wait shows as stale data instead of passing by luck.
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>

#include "cuda_emulation.h"
#include "emulation.hpp"

namespace cuda_emulation {
namespace {

struct Settings {
  Schedule schedule = Schedule::eager;
  std::string name = "eager";
  uint64_t seed = 1;
};

const Settings& settings() {
  static const Settings s = [] {
    Settings out;
    const char* v = std::getenv("MODECONN_EMULATE_SCHEDULE");
    const std::string name = v ? v : "";
    if (name.empty() || name == "eager") return out;
    out.name = name;
    if (name == "copies-first")
      out.schedule = Schedule::copies_first;
    else if (name == "compute-first")
      out.schedule = Schedule::compute_first;
    else if (name.rfind("random", 0) == 0 && (name.size() == 6 || name[6] == ':')) {
      out.schedule = Schedule::random;
      if (name.size() > 7) out.seed = std::strtoull(name.c_str() + 7, nullptr, 10);
    } else {
      fail("MODECONN_EMULATE_SCHEDULE='" + name +
           "': expected eager, copies-first, compute-first or random[:SEED]");
    }
    return out;
  }();
  return s;
}

std::mt19937_64& rng() {
  static std::mt19937_64 r(settings().seed);
  return r;
}

// Every stream ever made stays here (waits may name a destroyed one); live ones are also in `live`.
std::vector<std::unique_ptr<Stream>>& all_streams() {
  static std::vector<std::unique_ptr<Stream>> v;
  return v;
}
std::set<Stream*>& live() {
  static std::set<Stream*> s;
  return s;
}
Stream& legacy() {
  static Stream& s = *[] {
    all_streams().push_back(std::make_unique<Stream>());
    Stream* p = all_streams().back().get();
    live().insert(p);
    return p;
  }();
  return s;
}

bool is_data_movement(OpKind k) { return k == OpKind::copy || k == OpKind::memset; }
bool is_compute(OpKind k) { return k == OpKind::kernel || k == OpKind::blas; }

bool head_runnable(const Stream& s) {
  const Op& op = s.queue.front();
  return op.kind != OpKind::wait || op.wait_stream->completed >= op.wait_seq;
}

void run_head(Stream& s) {
  Op op = std::move(s.queue.front());
  s.queue.pop_front();
  if (op.run) op.run();
  ++s.completed;
}

// Which queued operations the goals need: every earlier one of their streams, and what their waits name.
std::map<Stream*, uint64_t> needed_for(const std::vector<std::pair<Stream*, uint64_t>>& goals) {
  std::map<Stream*, uint64_t> need, scanned;
  std::vector<std::pair<Stream*, uint64_t>> work(goals);
  while (!work.empty()) {
    auto [s, seq] = work.back();
    work.pop_back();
    if (seq <= s->completed || seq <= need[s]) continue;
    need[s] = seq;
    const uint64_t from = std::max(scanned[s], s->completed);
    for (uint64_t q = from; q < seq; ++q) {
      const Op& op = s->queue[static_cast<std::size_t>(q - s->completed)];
      if (op.kind == OpKind::wait) work.emplace_back(op.wait_stream, op.wait_seq);
    }
    scanned[s] = std::max(scanned[s], seq);
  }
  return need;
}

// The stream whose head runs next, among those with needed work that can run.
Stream* choose(const std::vector<Stream*>& ready) {
  // Waits, event records and stream-ordered allocations only keep books: run them at once.
  for (Stream* s : ready)
    if (!is_data_movement(s->queue.front().kind) && !is_compute(s->queue.front().kind)) return s;
  switch (settings().schedule) {
    case Schedule::random:
      return ready[pick(ready.size())];
    case Schedule::copies_first:
      for (Stream* s : ready)
        if (is_data_movement(s->queue.front().kind)) return s;
      return ready.front();
    case Schedule::compute_first:
      for (auto it = ready.rbegin(); it != ready.rend(); ++it)
        if (is_compute((*it)->queue.front().kind)) return *it;
      return ready.back();
    case Schedule::eager:
      break;
  }
  return ready.front();
}

void run_goals(const std::vector<std::pair<Stream*, uint64_t>>& goals) {
  const std::map<Stream*, uint64_t> need = needed_for(goals);
  for (;;) {
    std::vector<Stream*> ready;
    bool pending = false;
    for (const auto& [s, seq] : need) {
      if (s->completed >= seq) continue;
      pending = true;
      if (head_runnable(*s)) ready.push_back(s);
    }
    if (!pending) return;
    if (ready.empty()) fail("queued work waits on itself: no stream can make progress");
    run_head(*choose(ready));
  }
}

struct EventState {
  Stream* stream = nullptr;  // where it was last recorded (nullptr: never)
  uint64_t seq = 0;
  bool timing = true;
  std::shared_ptr<double> seconds;  // when the device reached the record, set by the marker
};
std::set<EventState*>& live_events() {
  static std::set<EventState*> e;
  return e;
}
EventState* event_of(cudaEvent_t e) {
  auto* p = reinterpret_cast<EventState*>(e);
  return live_events().count(p) ? p : nullptr;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Schedule schedule() { return settings().schedule; }
const char* schedule_name() { return settings().name.c_str(); }

std::size_t pick(std::size_t n) {
  return settings().schedule == Schedule::random && n > 1 ? static_cast<std::size_t>(rng()() % n) : 0;
}

Stream* stream_of(cudaStream_t handle) {
  if (handle == nullptr) return &legacy();
  auto* s = reinterpret_cast<Stream*>(handle);
  return live().count(s) ? s : nullptr;
}

Stream* new_stream(bool blocking) {
  legacy();  // the legacy stream is the first
  all_streams().push_back(std::make_unique<Stream>());
  Stream* s = all_streams().back().get();
  s->id = all_streams().size() - 1;
  s->blocking = blocking;
  live().insert(s);
  return s;
}

void destroy_stream(Stream* s) {
  synchronize(s);  // its remaining work still runs, as on a GPU
  s->destroyed = true;
  live().erase(s);
}

uint64_t enqueue(Stream* s, Op op) {
  Stream& l = legacy();
  // The legacy default stream and blocking streams wait for each other's earlier work.
  if (s != &l && s->blocking && l.issued > l.completed) {
    s->queue.push_back(Op{OpKind::wait, {}, &l, l.issued});
    ++s->issued;
  }
  if (s == &l)
    for (Stream* t : live())
      if (t != &l && t->blocking && t->issued > t->completed) {
        l.queue.push_back(Op{OpKind::wait, {}, t, t->issued});
        ++l.issued;
      }
  s->queue.push_back(std::move(op));
  const uint64_t seq = ++s->issued;
  if (settings().schedule == Schedule::eager) run_until(s, seq);
  return seq;
}

void run_until(Stream* s, uint64_t seq) { run_goals({{s, seq}}); }

void synchronize(Stream* s) { run_until(s, s->issued); }

void synchronize_device() {
  std::vector<std::pair<Stream*, uint64_t>> goals;
  for (Stream* s : live()) goals.emplace_back(s, s->issued);
  run_goals(goals);
}

}  // namespace cuda_emulation

using namespace cuda_emulation;

extern "C" {

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  std::lock_guard lock(api_mutex());
  if (stream == nullptr || (flags & ~unsigned{cudaStreamNonBlocking}) != 0)
    return record(cudaErrorInvalidValue);
  *stream = reinterpret_cast<cudaStream_t>(new_stream((flags & cudaStreamNonBlocking) == 0));
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  std::lock_guard lock(api_mutex());
  Stream* s = stream_of(stream);
  if (s == nullptr || stream == nullptr) return record(cudaErrorInvalidResourceHandle);
  destroy_stream(s);
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  std::lock_guard lock(api_mutex());
  Stream* s = stream_of(stream);
  if (s == nullptr) return record(cudaErrorInvalidResourceHandle);
  synchronize(s);
  return cudaSuccess;
}

cudaError_t cudaStreamQuery(cudaStream_t stream) {
  std::lock_guard lock(api_mutex());
  Stream* s = stream_of(stream);
  if (s == nullptr) return record(cudaErrorInvalidResourceHandle);
  return s->completed == s->issued ? cudaSuccess : cudaErrorNotReady;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  std::lock_guard lock(api_mutex());
  Stream* s = stream_of(stream);
  EventState* e = event_of(event);
  if (s == nullptr || e == nullptr) return record(cudaErrorInvalidResourceHandle);
  if (flags != 0) return record(cudaErrorInvalidValue);
  if (e->stream != nullptr)
    enqueue(s, Op{OpKind::wait, {}, e->stream, e->seq});  // an unrecorded event: no wait
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  std::lock_guard lock(api_mutex());
  if (event == nullptr || (flags & ~unsigned{cudaEventBlockingSync | cudaEventDisableTiming}) != 0)
    return record(cudaErrorInvalidValue);
  auto* e = new EventState;
  e->timing = (flags & cudaEventDisableTiming) == 0;
  live_events().insert(e);
  *event = reinterpret_cast<cudaEvent_t>(e);
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  std::lock_guard lock(api_mutex());
  EventState* e = event_of(event);
  if (e == nullptr) return record(cudaErrorInvalidResourceHandle);
  live_events().erase(e);
  delete e;  // queued waits copied what they need; markers hold the time by shared pointer
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  std::lock_guard lock(api_mutex());
  Stream* s = stream_of(stream);
  EventState* e = event_of(event);
  if (s == nullptr || e == nullptr) return record(cudaErrorInvalidResourceHandle);
  auto seconds = std::make_shared<double>(-1.0);
  e->seconds = seconds;
  e->stream = s;
  e->seq = enqueue(s, Op{OpKind::marker, [seconds] { *seconds = now_seconds(); }});
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  std::lock_guard lock(api_mutex());
  EventState* e = event_of(event);
  if (e == nullptr) return record(cudaErrorInvalidResourceHandle);
  if (e->stream != nullptr) run_until(e->stream, e->seq);
  return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  std::lock_guard lock(api_mutex());
  EventState* e = event_of(event);
  if (e == nullptr) return record(cudaErrorInvalidResourceHandle);
  return e->stream == nullptr || e->stream->completed >= e->seq ? cudaSuccess : cudaErrorNotReady;
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  std::lock_guard lock(api_mutex());
  EventState* a = event_of(start);
  EventState* b = event_of(end);
  if (ms == nullptr) return record(cudaErrorInvalidValue);
  if (a == nullptr || b == nullptr || !a->timing || !b->timing) return record(cudaErrorInvalidResourceHandle);
  if (!a->seconds || !b->seconds) return record(cudaErrorInvalidResourceHandle);
  if (*a->seconds < 0 || *b->seconds < 0) return record(cudaErrorNotReady);
  *ms = static_cast<float>((*b->seconds - *a->seconds) * 1e3);
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) {
  std::lock_guard lock(api_mutex());
  synchronize_device();
  return cudaSuccess;
}

}  // extern "C"
