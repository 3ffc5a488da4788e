// Switching between fibers: on x86-64 a few instructions that save the callee-saved registers and the stack
// pointer (swapcontext would also make a system call for the signal mask at every switch); elsewhere
// ucontext.
#pragma once

#include <cstddef>

#if defined(__x86_64__)

namespace cuda_emulation {

struct FiberContext {
  void* stack_pointer = nullptr;
};

// Makes `fiber` start `entry` (which must never return) on the given stack at its first switch.
void start_fiber(FiberContext& fiber, void* stack, std::size_t size, void (*entry)());
// Saves the running context into `from` and continues `to`.
void switch_fiber(FiberContext& from, FiberContext& to);

}  // namespace cuda_emulation

#else

#include <ucontext.h>

namespace cuda_emulation {

struct FiberContext {
  ucontext_t context{};
};

inline void start_fiber(FiberContext& fiber, void* stack, std::size_t size, void (*entry)()) {
  getcontext(&fiber.context);
  fiber.context.uc_stack.ss_sp = stack;
  fiber.context.uc_stack.ss_size = size;
  fiber.context.uc_link = nullptr;
  makecontext(&fiber.context, entry, 0);
}

inline void switch_fiber(FiberContext& from, FiberContext& to) { swapcontext(&from.context, &to.context); }

}  // namespace cuda_emulation

#endif
