#include "FloatGEMM.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#include <string.h>

// The AVX2 path of the packed float32 product. Functions carry their own target attribute, so the
// rest of the library stays baseline x86-64; callers check nmt_f32_avx2_supported() once.
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

int nmt_f32_avx2_supported(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned fma = 1u << 12, osxsave = 1u << 27, avx = 1u << 28;
    if ((ecx & (fma | osxsave | avx)) != (fma | osxsave | avx)) return 0;
    unsigned xcrLow, xcrHigh;
    __asm__("xgetbv" : "=a"(xcrLow), "=d"(xcrHigh) : "c"(0));
    if ((xcrLow & 6) != 6) return 0;  // the OS saves xmm and ymm state
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ebx & (1u << 5)) != 0;    // AVX2
}

enum { MAX_ROWS = 6, HALF = NMT_F32_PANEL_COLUMNS / 2 };

/// Eight outputs of one row from column `column`, of which `valid` are inside the product: + bias,
/// ReLU, + residual, stored.
AVX2_INLINE void store8(const nmt_f32_product *p, ptrdiff_t row, ptrdiff_t column, ptrdiff_t valid, __m256 y) {
    if (valid <= 0) return;
    if (valid >= HALF) {
        if (p->bias) y = _mm256_add_ps(y, _mm256_loadu_ps(p->bias + column));
        if (p->relu) y = _mm256_max_ps(y, _mm256_setzero_ps());
        if (p->residual) y = _mm256_add_ps(y, _mm256_loadu_ps(p->residual + row * p->residualStride + column));
        _mm256_storeu_ps(p->output + row * p->outputStride + column, y);
        return;
    }
    float lanes[HALF];
    _mm256_storeu_ps(lanes, y);
    for (ptrdiff_t j = 0; j < valid; j++) {
        float v = lanes[j];
        if (p->bias) v += p->bias[column + j];
        if (p->relu) v = v > 0 ? v : 0;
        if (p->residual) v += p->residual[row * p->residualStride + column + j];
        p->output[row * p->outputStride + column + j] = v;
    }
}

/// rows (≤ 6, a constant after inlining) × one panel: 2·rows accumulators, two loads of the panel
/// and one broadcast a row for each k — the register block of the classic Haswell sgemm kernel.
AVX2_INLINE void block(const nmt_f32_product *p, ptrdiff_t row, int rows, ptrdiff_t panel, ptrdiff_t endColumn) {
    __m256 sum[MAX_ROWS][2];
    for (int i = 0; i < rows; i++) sum[i][0] = sum[i][1] = _mm256_setzero_ps();
    const float *x[MAX_ROWS];
    for (int i = 0; i < rows; i++) x[i] = p->input + (row + i) * p->inputStride;
    const float *w = p->packed + panel * NMT_F32_PANEL_COLUMNS * p->depth;
    for (ptrdiff_t k = 0; k < p->depth; k++, w += NMT_F32_PANEL_COLUMNS) {
        __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + HALF);
        for (int i = 0; i < rows; i++) {
            __m256 v = _mm256_broadcast_ss(x[i] + k);
            sum[i][0] = _mm256_fmadd_ps(v, w0, sum[i][0]);
            sum[i][1] = _mm256_fmadd_ps(v, w1, sum[i][1]);
        }
    }
    const ptrdiff_t column = panel * NMT_F32_PANEL_COLUMNS;
    for (int i = 0; i < rows; i++) {
        store8(p, row + i, column, endColumn - column, sum[i][0]);
        store8(p, row + i, column + HALF, endColumn - column - HALF, sum[i][1]);
    }
}

/// `block` with its row count as a constant, one specialisation each.
AVX2_INLINE void dispatch_block(const nmt_f32_product *p, ptrdiff_t row, int rows, ptrdiff_t panel, ptrdiff_t endColumn) {
    switch (rows) {
    case 6: block(p, row, 6, panel, endColumn); break;
    case 5: block(p, row, 5, panel, endColumn); break;
    case 4: block(p, row, 4, panel, endColumn); break;
    case 3: block(p, row, 3, panel, endColumn); break;
    case 2: block(p, row, 2, panel, endColumn); break;
    default: block(p, row, 1, panel, endColumn); break;
    }
}

AVX2 void nmt_f32_gemm_avx2(const nmt_f32_product *p, ptrdiff_t firstRow, ptrdiff_t rowCount,
                            ptrdiff_t firstColumn, ptrdiff_t columnCount) {
    if (rowCount <= 0 || columnCount <= 0) return;
    const ptrdiff_t endColumn = firstColumn + columnCount;
    const ptrdiff_t firstPanel = firstColumn / NMT_F32_PANEL_COLUMNS;
    const ptrdiff_t endPanel = (endColumn + NMT_F32_PANEL_COLUMNS - 1) / NMT_F32_PANEL_COLUMNS;
    // A panel (64 · K bytes) stays in L1 or L2 while the rows of a chunk pass it; the chunk's rows
    // (about 128 kB) stay in L2 while the panels pass.
    ptrdiff_t chunk = (128 * 1024 / (ptrdiff_t)sizeof(float) / p->depth) / MAX_ROWS * MAX_ROWS;
    if (chunk < MAX_ROWS) chunk = MAX_ROWS;
    const ptrdiff_t endRow = firstRow + rowCount;
    for (ptrdiff_t chunkStart = firstRow; chunkStart < endRow; chunkStart += chunk) {
        const ptrdiff_t chunkEnd = chunkStart + chunk < endRow ? chunkStart + chunk : endRow;
        for (ptrdiff_t panel = firstPanel; panel < endPanel; panel++) {
            for (ptrdiff_t row = chunkStart; row < chunkEnd; row += MAX_ROWS) {
                const int rows = chunkEnd - row < MAX_ROWS ? (int)(chunkEnd - row) : MAX_ROWS;
                dispatch_block(p, row, rows, panel, endColumn);
            }
        }
    }
}

#endif
