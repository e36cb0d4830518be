#ifndef NMT_ROW_KERNELS_H
#define NMT_ROW_KERNELS_H

#include <stddef.h>
#include <stdint.h>

// Row-wise kernels of decoding, one pass over each row of the logits (Tensor/Kernels/RowSummary.swift
// holds the Swift side and the reference these must reproduce).
//
// Two paths compute the same thing: a portable one (GCC/Clang vector extensions, so SSE2 on baseline
// x86-64 and NEON on ARM, with the arithmetic of the Swift reference) and, on x86-64, one for AVX2 +
// FMA in its own functions (RowKernelsAVX2.c), so the rest of the library stays baseline x86-64. The
// entry point without a suffix asks the processor once and takes the AVX2 path where it can.

/// The summary of rows of logits (rows × count, row r at logits + r·stride):
///
///   normalizers[r]  log Σ_v e^z[v] (so log p(v) = z[v] − normalizers[r]); −inf for a row whose
///                   largest value is −inf
///   bestLogits / bestTokens [r·keep + i], i < bestCounts[r]
///                   the `keep` largest logits of the row and their tokens, largest first, ties by
///                   the lower token first; never the tokens `excludedA` or `excludedB` (−1: none),
///                   never −inf or NaN (so fewer than `keep` when the row has fewer such values)
///
/// Rows are independent: the caller may split them over threads.
typedef struct {
    const float *logits;
    ptrdiff_t count;
    ptrdiff_t stride;
    ptrdiff_t keep;
    ptrdiff_t excludedA;
    ptrdiff_t excludedB;
    float *normalizers;
    float *bestLogits;
    int32_t *bestTokens;
    int32_t *bestCounts;
} nmt_row_summary;

/// Rows firstRow ..< firstRow + rowCount of `s`, on the fastest path the processor runs.
void nmt_rows_summarize(const nmt_row_summary *s, ptrdiff_t firstRow, ptrdiff_t rowCount);
/// The same on the portable path (any processor).
void nmt_rows_summarize_portable(const nmt_row_summary *s, ptrdiff_t firstRow, ptrdiff_t rowCount);
/// The same on the AVX2 + FMA path; only where nmt_rows_avx2_supported() says 1.
void nmt_rows_summarize_avx2(const nmt_row_summary *s, ptrdiff_t firstRow, ptrdiff_t rowCount);

/// 1 when the processor has AVX2 and FMA and the operating system saves the ymm registers (cpuid and
/// xgetbv, asked once); 0 otherwise and on every processor that is not x86-64.
int nmt_rows_avx2_supported(void);

#endif
