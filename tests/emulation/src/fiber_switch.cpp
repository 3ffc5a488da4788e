// The x86-64 fiber switch (System V ABI): push the callee-saved registers, store the stack pointer, load the
// other fiber's, pop its registers, return into it. The x87 and SSE control words are not switched: no kernel
// changes the rounding mode, and saving them made the switch several times slower.
#include "fiber_switch.hpp"

#if defined(__x86_64__)

#include <cstdint>

extern "C" void modeconn_emulation_switch(void** save_stack_pointer, void* load_stack_pointer);

asm(R"(
    .text
    .globl modeconn_emulation_switch
    .hidden modeconn_emulation_switch
    .type modeconn_emulation_switch, @function
modeconn_emulation_switch:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .cfi_endproc
    .size modeconn_emulation_switch, .-modeconn_emulation_switch
)");

namespace cuda_emulation {

void start_fiber(FiberContext& fiber, void* stack, std::size_t size, void (*entry)()) {
  // The frame the switch pops: six registers (zero: rbp = 0 ends stack walks here), the entry as the return
  // address, and a zero return address for the entry itself, which keeps the ABI's 16-byte alignment.
  auto top = (reinterpret_cast<std::uintptr_t>(stack) + size) & ~std::uintptr_t{15};
  auto* frame = reinterpret_cast<uint64_t*>(top) - 8;
  for (int i = 0; i < 6; ++i) frame[i] = 0;
  frame[6] = reinterpret_cast<uint64_t>(entry);
  frame[7] = 0;
  fiber.stack_pointer = frame;
}

void switch_fiber(FiberContext& from, FiberContext& to) {
  modeconn_emulation_switch(&from.stack_pointer, to.stack_pointer);
}

}  // namespace cuda_emulation

#endif
