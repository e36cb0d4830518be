#ifndef NMT_ROW_TOP_K_H
#define NMT_ROW_TOP_K_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

// The running list of a row's best (logit, token) pairs, which both paths of RowKernels share: kept
// sorted by logit, largest first, a new value placed after every equal one (tokens arrive in
// increasing order, so ties end up lower token first). `bar` is the value a logit must exceed to
// enter: −inf until the list is full (so −inf and NaN never enter), then its last value.
typedef struct {
    float *logits;
    int32_t *tokens;
    ptrdiff_t count;
    ptrdiff_t keep;
    float bar;
} nmt_top_k;

static inline nmt_top_k nmt_top_k_start(float *logits, int32_t *tokens, ptrdiff_t keep) {
    // With nothing to keep, no value may enter (no finite value exceeds +inf, and +inf does not).
    nmt_top_k top = {logits, tokens, 0, keep, keep > 0 ? -INFINITY : INFINITY};
    return top;
}

/// Offers z (the logit of `token`) to the list; the caller has checked z > top->bar.
static inline void nmt_top_k_offer(nmt_top_k *top, float z, ptrdiff_t token) {
    ptrdiff_t position = top->count < top->keep ? top->count++ : top->keep - 1;
    while (position > 0 && top->logits[position - 1] < z) {
        top->logits[position] = top->logits[position - 1];
        top->tokens[position] = top->tokens[position - 1];
        position--;
    }
    top->logits[position] = z;
    top->tokens[position] = (int32_t)token;
    if (top->count == top->keep) top->bar = top->logits[top->keep - 1];
}

#endif
