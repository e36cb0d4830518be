#include "RowKernels.h"

#if defined(__x86_64__)
#include "RowTopK.h"
#include <cpuid.h>
#include <immintrin.h>
#include <math.h>

// The AVX2 + FMA path of the row kernels. Functions carry their own target attribute, so the rest of
// the library stays baseline x86-64; nmt_rows_summarize asks nmt_rows_avx2_supported() first.
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

static int detect_avx2_fma(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned fma = 1u << 12, osxsave = 1u << 27, avx = 1u << 28;
    if ((ecx & (fma | osxsave | avx)) != (fma | osxsave | avx)) return 0;
    unsigned xcrLow, xcrHigh;
    __asm__("xgetbv" : "=a"(xcrLow), "=d"(xcrHigh) : "c"(0));
    if ((xcrLow & 6) != 6) return 0;  // the operating system saves xmm and ymm state
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ebx & (1u << 5)) != 0;    // AVX2
}

int nmt_rows_avx2_supported(void) {
    // −1 until asked; every thread that asks first computes the same answer, so the race is benign.
    static int supported = -1;
    int answer = __atomic_load_n(&supported, __ATOMIC_RELAXED);
    if (answer < 0) {
        answer = detect_avx2_fma();
        __atomic_store_n(&supported, answer, __ATOMIC_RELAXED);
    }
    return answer;
}

/// e^x per lane, the portable path's method (RowKernels.c) with fused multiply-adds: 2^n · e^y,
/// n = round(x / ln 2), y = x − n·ln 2 in two parts, e^y by its Taylor polynomial to degree 7. The
/// clamp to [−87, 88] lets NaN through (min/max return their second operand when unordered).
AVX2_INLINE __m256 exp8(__m256 x) {
    __m256 clamped = _mm256_max_ps(_mm256_set1_ps(-87.0f), _mm256_min_ps(_mm256_set1_ps(88.0f), x));
    const __m256 magic = _mm256_set1_ps(12582912.0f);  // 1.5 · 2^23
    __m256 shifted = _mm256_fmadd_ps(clamped, _mm256_set1_ps(1.44269504f), magic);
    __m256 n = _mm256_sub_ps(shifted, magic);
    __m256 y = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.69314575f), clamped);
    y = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.4286068e-6f), y);
    __m256 p = _mm256_fmadd_ps(y, _mm256_set1_ps(1.0f / 5040), _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f));
    __m256i exponent = _mm256_slli_epi32(
        _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000 - 127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(exponent));
}

AVX2_INLINE float summarize_row(const float *z, ptrdiff_t count, const nmt_row_summary *s, nmt_top_k *top) {
    const ptrdiff_t full = count / 8 * 8;
    // The maximum: lanes that meet NaN keep their value (max returns its second operand).
    __m256 largest = _mm256_set1_ps(-INFINITY);
    for (ptrdiff_t i = 0; i < full; i += 8) largest = _mm256_max_ps(_mm256_loadu_ps(z + i), largest);
    float lane[8];
    _mm256_storeu_ps(lane, largest);
    float m = -INFINITY;
    for (int j = 0; j < 8; j++) m = lane[j] > m ? lane[j] : m;
    for (ptrdiff_t i = full; i < count; i++) m = z[i] > m ? z[i] : m;

    // One pass for Σ e^(z − m) and the best: a block is looked at lane by lane only when one of its
    // values beats the bar (rare once the list is full).
    const int exponentials = m != -INFINITY;
    const __m256 shift = _mm256_set1_ps(m);
    __m256 sum8 = _mm256_setzero_ps();
    for (ptrdiff_t i = 0; i < full; i += 8) {
        __m256 v = _mm256_loadu_ps(z + i);
        if (exponentials) sum8 = _mm256_add_ps(sum8, exp8(_mm256_sub_ps(v, shift)));
        int beats = _mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(top->bar), _CMP_GT_OQ));
        while (beats) {
            ptrdiff_t token = i + __builtin_ctz((unsigned)beats);
            beats &= beats - 1;
            if (z[token] > top->bar && token != s->excludedA && token != s->excludedB)
                nmt_top_k_offer(top, z[token], token);
        }
    }
    for (ptrdiff_t v = full; v < count; v++)
        if (z[v] > top->bar && v != s->excludedA && v != s->excludedB) nmt_top_k_offer(top, z[v], v);
    if (!exponentials) return -INFINITY;
    // The lanes in order, then the tail, as the portable path adds them.
    _mm256_storeu_ps(lane, sum8);
    float sum = -0.0f;
    for (int j = 0; j < 8; j++) sum += lane[j];
    for (ptrdiff_t i = full; i < count; i++) sum += expf(z[i] - m);
    return m + logf(sum);
}

AVX2 void nmt_rows_summarize_avx2(const nmt_row_summary *s, ptrdiff_t firstRow, ptrdiff_t rowCount) {
    for (ptrdiff_t r = firstRow; r < firstRow + rowCount; r++) {
        nmt_top_k top = nmt_top_k_start(s->bestLogits + r * s->keep, s->bestTokens + r * s->keep, s->keep);
        s->normalizers[r] = summarize_row(s->logits + r * s->stride, s->count, s, &top);
        s->bestCounts[r] = (int32_t)top.count;
    }
}

#else

// Not x86-64: no AVX2 path; the portable one answers if called anyway.
int nmt_rows_avx2_supported(void) { return 0; }

void nmt_rows_summarize_avx2(const nmt_row_summary *s, ptrdiff_t firstRow, ptrdiff_t rowCount) {
    nmt_rows_summarize_portable(s, firstRow, rowCount);
}

#endif
