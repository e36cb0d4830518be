#ifndef NMT_SPIN_WAIT_H
#define NMT_SPIN_WAIT_H

// The processor's hint for a spin-wait loop (x86 `pause`, ARM `yield`): the waiting core stops
// issuing speculative loads for a few dozen cycles, which leaves the sibling hyperthread and the
// memory system to the thread doing the work, and costs no system call (WorkerPool waits this way
// between regions that are microseconds apart; sched_yield there was 7 % of a decoding's time).
static inline void nmt_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
