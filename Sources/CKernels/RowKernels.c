#include "RowKernels.h"
#include "RowTopK.h"
#include <math.h>
#include <string.h>

// The portable path of the row kernels, and the choice between paths. Its arithmetic is the Swift
// reference's (Tensor/Kernels/Exponential.swift): eight lanes, the same exponential polynomial with a
// separate multiply and add (no contraction into fused multiply-adds, which would round differently),
// the lanes summed in order, the tail through expf.
#pragma STDC FP_CONTRACT OFF

typedef float lanes __attribute__((vector_size(32), aligned(4)));
typedef uint32_t unsigned_lanes __attribute__((vector_size(32), aligned(4)));
typedef int32_t mask_lanes __attribute__((vector_size(32), aligned(4)));

#define LOAD8(target, source) memcpy(&(target), (source), sizeof(lanes))

// Helpers are macros or take pointers: a vector passed by value changes the calling convention
// between baseline and AVX code (clang warns), even where it is inlined.
#define SELECT(where, yes, no) ((lanes)(((where) & (mask_lanes)(yes)) | (~(where) & (mask_lanes)(no))))

/// e^x per lane: 2^n · e^y, n = round(x / ln 2), y = x − n·ln 2 (in two parts), e^y by its Taylor
/// polynomial to degree 7; the inputs clamped to [−87, 88] (NaN passes through).
static inline __attribute__((always_inline)) void exp_lanes(const lanes *argument, lanes *result) {
    const lanes x = *argument;
    const lanes low = {-87, -87, -87, -87, -87, -87, -87, -87}, high = {88, 88, 88, 88, 88, 88, 88, 88};
    lanes clamped = SELECT(x < low, low, x);
    clamped = SELECT(x > high, high, clamped);
    const float magic = 12582912.0f;  // 1.5 · 2^23: adding it leaves round(x / ln 2) in the low mantissa bits
    lanes shifted = clamped * 1.44269504f + magic;
    lanes n = shifted - magic;
    lanes y = clamped - n * 0.69314575f;
    y = y - n * 1.4286068e-6f;
    lanes p = y * (1.0f / 5040) + 1.0f / 720;
    p = p * y + 1.0f / 120;
    p = p * y + 1.0f / 24;
    p = p * y + 1.0f / 6;
    p = p * y + 0.5f;
    p = p * y + 1;
    p = p * y + 1;
    unsigned_lanes exponent = ((unsigned_lanes)shifted - (0x4B400000u - 127)) << 23;
    *result = p * (lanes)exponent;
}

static float summarize_row(const float *z, ptrdiff_t count, const nmt_row_summary *s, nmt_top_k *top) {
    const ptrdiff_t full = count / 8 * 8;
    lanes largest = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    for (ptrdiff_t i = 0; i < full; i += 8) {
        lanes v;
        LOAD8(v, z + i);
        largest = SELECT(v > largest, v, largest);
    }
    float m = -INFINITY;
    for (int j = 0; j < 8; j++) m = largest[j] > m ? largest[j] : m;
    for (ptrdiff_t i = full; i < count; i++) m = z[i] > m ? z[i] : m;

    for (ptrdiff_t v = 0; v < count; v++)
        if (z[v] > top->bar && v != s->excludedA && v != s->excludedB) nmt_top_k_offer(top, z[v], v);
    if (m == -INFINITY) return -INFINITY;

    lanes sum8 = {0, 0, 0, 0, 0, 0, 0, 0};
    for (ptrdiff_t i = 0; i < full; i += 8) {
        lanes v;
        LOAD8(v, z + i);
        lanes shifted = v - m, exponential;
        exp_lanes(&shifted, &exponential);
        sum8 += exponential;
    }
    float sum = -0.0f;
    for (int j = 0; j < 8; j++) sum += sum8[j];
    for (ptrdiff_t i = full; i < count; i++) sum += expf(z[i] - m);
    return m + logf(sum);
}

void nmt_rows_summarize_portable(const nmt_row_summary *s, ptrdiff_t firstRow, ptrdiff_t rowCount) {
    for (ptrdiff_t r = firstRow; r < firstRow + rowCount; r++) {
        nmt_top_k top = nmt_top_k_start(s->bestLogits + r * s->keep, s->bestTokens + r * s->keep, s->keep);
        s->normalizers[r] = summarize_row(s->logits + r * s->stride, s->count, s, &top);
        s->bestCounts[r] = (int32_t)top.count;
    }
}

void nmt_rows_summarize(const nmt_row_summary *s, ptrdiff_t firstRow, ptrdiff_t rowCount) {
    if (nmt_rows_avx2_supported()) nmt_rows_summarize_avx2(s, firstRow, rowCount);
    else nmt_rows_summarize_portable(s, firstRow, rowCount);
}
