// Running a grid: blocks one after another, the threads of a block as fibers (annotated for
// AddressSanitizer), so that __syncthreads() suspends a thread until every thread of its block has arrived. A
// fiber runs thread after thread until one waits at a barrier, so a block without barriers costs one switch.
// The schedules also vary the order of blocks and of threads (forward, reversed, rotated), so that code
// relying on an order CUDA does not promise gives different results under different schedules.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "emulation.hpp"
#include "fiber_switch.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define MODECONN_START_SWITCH(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define MODECONN_FINISH_SWITCH(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define MODECONN_START_SWITCH(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define MODECONN_FINISH_SWITCH(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#endif

uint3 threadIdx{0, 0, 0};
uint3 blockIdx{0, 0, 0};
dim3 blockDim{1, 1, 1};
dim3 gridDim{1, 1, 1};

namespace cuda_emulation {
namespace {

constexpr std::size_t kStackBytes = std::size_t{512} << 10;

struct Fiber {
  Fiber() = default;
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;
  ~Fiber() {
    if (mapping) munmap(mapping, mapping_size);
  }
  FiberContext context;
  void* mapping = nullptr;  // the stack and a guard page below it
  std::size_t mapping_size = 0;
  void* stack = nullptr;
  void* fake_stack = nullptr;  // AddressSanitizer's, while switched out
  unsigned thread = 0;         // linear index in the block of the thread it runs
  enum class State { idle, running, barrier } state = State::idle;
};

// The order threads start in, and in which a barrier releases them: forward, reversed, or rotated.
struct Order {
  enum class Kind { forward, reverse, rotate } kind = Kind::forward;
  uint64_t offset = 0;
  uint64_t at(uint64_t i, uint64_t n) const {
    switch (kind) {
      case Kind::forward:
        return i;
      case Kind::reverse:
        return n - 1 - i;
      case Kind::rotate:
        return (i + offset) % n;
    }
    return i;
  }
};

Order order_for(uint64_t n) {
  switch (schedule()) {
    case Schedule::compute_first:
      return {Order::Kind::reverse, 0};
    case Schedule::random:
      return {pick(2) ? Order::Kind::reverse : Order::Kind::rotate,
              pick(static_cast<std::size_t>(std::min<uint64_t>(n, 1u << 30)))};
    case Schedule::eager:
    case Schedule::copies_first:
      break;
  }
  return {};
}

struct BlockRun {
  const std::function<void()>* thread = nullptr;
  unsigned threads = 0, started = 0, finished = 0;
  Order order;
};

FiberContext scheduler_context;
void* scheduler_fake_stack = nullptr;
const void* scheduler_stack_bottom = nullptr;
std::size_t scheduler_stack_size = 0;
BlockRun* current_run = nullptr;
Fiber* current_fiber = nullptr;
std::vector<std::unique_ptr<Fiber>> fibers;
std::vector<Fiber*> idle_fibers;

void set_thread(unsigned t) {
  if (blockDim.y == 1 && blockDim.z == 1) {  // the common one-dimensional block, without divisions
    threadIdx = {t, 0, 0};
    return;
  }
  threadIdx.x = t % blockDim.x;
  threadIdx.y = (t / blockDim.x) % blockDim.y;
  threadIdx.z = t / (blockDim.x * blockDim.y);
}

void to_scheduler(Fiber* self) {
  MODECONN_START_SWITCH(&self->fake_stack, scheduler_stack_bottom, scheduler_stack_size);
  switch_fiber(self->context, scheduler_context);
  MODECONN_FINISH_SWITCH(self->fake_stack, &scheduler_stack_bottom, &scheduler_stack_size);
}

// A fiber's whole life: run the block's threads that have not started, one after another; when none is left,
// wait to be given the next block.
void fiber_main() {
  MODECONN_FINISH_SWITCH(nullptr, &scheduler_stack_bottom, &scheduler_stack_size);
  for (;;) {
    Fiber* self = current_fiber;
    while (current_run->started < current_run->threads) {
      self->thread =
          static_cast<unsigned>(current_run->order.at(current_run->started++, current_run->threads));
      set_thread(self->thread);
      (*current_run->thread)();
      ++current_run->finished;
    }
    self->state = Fiber::State::idle;
    to_scheduler(self);
  }
}

Fiber* idle_fiber() {
  if (!idle_fibers.empty()) {
    Fiber* f = idle_fibers.back();
    idle_fibers.pop_back();
    return f;
  }
  auto f = std::make_unique<Fiber>();
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  f->mapping_size = kStackBytes + page;
  f->mapping = mmap(nullptr, f->mapping_size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (f->mapping == MAP_FAILED) fail("cannot map a fiber stack for a block's thread");
  mprotect(f->mapping, page, PROT_NONE);  // a thread that overflows its stack faults instead of corrupting
  f->stack = static_cast<char*>(f->mapping) + page;
  start_fiber(f->context, f->stack, kStackBytes, fiber_main);
  fibers.push_back(std::move(f));
  return fibers.back().get();
}

void switch_to(Fiber* f) {
  current_fiber = f;
  f->state = Fiber::State::running;
  MODECONN_START_SWITCH(&scheduler_fake_stack, f->stack, kStackBytes);
  switch_fiber(scheduler_context, f->context);
  MODECONN_FINISH_SWITCH(scheduler_fake_stack, nullptr, nullptr);
  current_fiber = nullptr;
}

std::string block_name() {
  return "block (" + std::to_string(blockIdx.x) + ", " + std::to_string(blockIdx.y) + ", " +
         std::to_string(blockIdx.z) + ")";
}

void run_block(BlockRun& run) {
  current_run = &run;
  static std::vector<Fiber*> waiting, released;  // kept between blocks: no allocation per block
  waiting.clear();
  const auto resume = [&](Fiber* f) {
    switch_to(f);
    (f->state == Fiber::State::barrier ? waiting : idle_fibers).push_back(f);
  };
  while (run.started < run.threads) resume(idle_fiber());
  while (!waiting.empty()) {
    if (run.finished > 0)
      fail("__syncthreads() in " + block_name() + ": " + std::to_string(waiting.size()) +
           " threads wait at a barrier that " + std::to_string(run.finished) +
           " threads of the block left the kernel without reaching");
    // Every thread waits here (none finished), so the release order is by thread index, whatever the order
    // they arrived in: forward, reversed (thread 0 last) or rotated, as the schedule says.
    released.assign(run.threads, nullptr);
    for (Fiber* f : waiting) released[f->thread] = f;
    waiting.clear();
    const Order order = order_for(released.size());
    for (std::size_t i = 0; i < released.size(); ++i) {
      Fiber* f = released[order.at(i, released.size())];
      set_thread(f->thread);
      resume(f);
    }
  }
  current_run = nullptr;
}

}  // namespace

void run_grid(dim3 grid, dim3 block, const std::function<void()>& thread) {
  gridDim = grid;
  blockDim = block;
  const uint64_t blocks = uint64_t{grid.x} * grid.y * grid.z;
  const Order order = order_for(blocks);
  for (uint64_t i = 0; i < blocks; ++i) {
    const uint64_t b = order.at(i, blocks);
    blockIdx.x = static_cast<unsigned>(b % grid.x);
    blockIdx.y = static_cast<unsigned>((b / grid.x) % grid.y);
    blockIdx.z = static_cast<unsigned>(b / (uint64_t{grid.x} * grid.y));
    BlockRun run;
    run.thread = &thread;
    run.threads = block.x * block.y * block.z;
    run.order = order_for(run.threads);
    run_block(run);
  }
}

void expect_block_threads(unsigned threads, const char* who) {
  const unsigned have = blockDim.x * blockDim.y * blockDim.z;
  if (have != threads)
    fail(std::string(who) + " is made for blocks of " + std::to_string(threads) +
         " threads, but the kernel runs with " + std::to_string(have));
}

}  // namespace cuda_emulation

void __syncthreads() {
  using namespace cuda_emulation;
  Fiber* self = current_fiber;
  if (self == nullptr) fail("__syncthreads() called outside a kernel");
  self->state = Fiber::State::barrier;
  to_scheduler(self);
}
