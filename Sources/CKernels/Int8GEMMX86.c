#include "Int8GEMM.h"

#if defined(__x86_64__)
#include "Int8Quantization.h"
#include <cpuid.h>
#include <immintrin.h>
#include <string.h>

// The x86 paths of the int8 product: AVX2 (vpmaddubsw, vpmaddwd) and AVX-512 VNNI (vpdpbusd), which
// share the packing, the quantization and the store, and differ in the multiply-add of the inner
// loop and the block of the product they hold in registers. Functions carry their own target
// attribute, so the rest of the library stays baseline x86-64; callers check
// nmt_int8_avx2_supported() / nmt_int8_vnni_supported() once.
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))
#define VNNI_TARGET "avx2,fma,avx512f,avx512vl,avx512bw,avx512vnni"
#define VNNI __attribute__((target(VNNI_TARGET)))
#define VNNI_INLINE static inline __attribute__((always_inline, target(VNNI_TARGET)))

int nmt_int8_avx2_supported(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned osxsave = 1u << 27, avx = 1u << 28;
    if ((ecx & (osxsave | avx)) != (osxsave | avx)) return 0;
    unsigned xcrLow, xcrHigh;
    __asm__("xgetbv" : "=a"(xcrLow), "=d"(xcrHigh) : "c"(0));
    if ((xcrLow & 6) != 6) return 0;  // the OS saves xmm and ymm state
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ebx & (1u << 5)) != 0;    // AVX2
}

int nmt_int8_vnni_supported(void) {
    if (!nmt_int8_avx2_supported()) return 0;
    unsigned eax, ebx, ecx, edx;
    unsigned xcrLow, xcrHigh;
    __asm__("xgetbv" : "=a"(xcrLow), "=d"(xcrHigh) : "c"(0));
    // The OS saves the opmask and zmm state: even the 256-bit EVEX form needs it enabled.
    if ((xcrLow & 0xE6) != 0xE6) return 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned avx512f = 1u << 16, avx512bw = 1u << 30, avx512vl = 1u << 31, vnni = 1u << 11;
    return (ebx & (avx512f | avx512bw | avx512vl)) == (avx512f | avx512bw | avx512vl) && (ecx & vnni) != 0;
}

// MARK: quantization

AVX2_INLINE float horizontal_min(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_min_ss(m, _mm_shuffle_ps(m, m, 1)));
}

AVX2_INLINE float horizontal_max(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
}

/// rint(x · s) + z clamped to [0, 127], eight lanes as int32.
AVX2_INLINE __m256i codes8(const float *x, __m256 scale, __m256i zeroPoint) {
    __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), scale)), zeroPoint);
    return _mm256_min_epi32(_mm256_max_epi32(q, _mm256_setzero_si256()),
                            _mm256_set1_epi32(NMT_INT8_ACTIVATION_LEVELS));
}

AVX2 void nmt_int8_quantize_rows_avx2(const float *x, ptrdiff_t rows, ptrdiff_t depth, ptrdiff_t ldx,
                                      uint8_t *codes, ptrdiff_t ldq, int32_t *zeroPoints, float *factors) {
    const ptrdiff_t padded = nmt_int8_padded_depth(depth);
    const __m256 largest = _mm256_set1_ps(FLT_MAX), signBit = _mm256_set1_ps(-0.0f);
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *row = x + r * ldx;
        uint8_t *code = codes + r * ldq;
        // The range and whether any value is infinite or NaN (|x| > FLT_MAX, unordered included).
        __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
        ptrdiff_t k = 0;
        for (; k + 8 <= depth; k += 8) {
            __m256 v = _mm256_loadu_ps(row + k);
            lo = _mm256_min_ps(lo, v);
            hi = _mm256_max_ps(hi, v);
            bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_andnot_ps(signBit, v), largest, _CMP_NLE_UQ));
        }
        float low = horizontal_min(lo), high = horizontal_max(hi);
        int finite = _mm256_movemask_ps(bad) == 0;
        for (; k < depth; k++) {
            if (row[k] < low) low = row[k];
            if (row[k] > high) high = row[k];
            finite &= nmt_int8_is_finite(row[k]);
        }
        float scale = nmt_int8_row_parameters(low, high, finite, &zeroPoints[r], &factors[r]);
        if (!finite) {
            memset(code, 0, (size_t)padded);
            continue;
        }
        const __m256 scales = _mm256_set1_ps(scale);
        const __m256i zeroPoint = _mm256_set1_epi32(zeroPoints[r]);
        // 32 codes at a time: int32 → int16 → uint8 packs work within 128-bit lanes, so the result
        // is permuted back into order.
        const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        for (k = 0; k + 32 <= depth; k += 32) {
            __m256i q01 = _mm256_packs_epi32(codes8(row + k, scales, zeroPoint), codes8(row + k + 8, scales, zeroPoint));
            __m256i q23 = _mm256_packs_epi32(codes8(row + k + 16, scales, zeroPoint), codes8(row + k + 24, scales, zeroPoint));
            __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(q01, q23), order);
            _mm256_storeu_si256((__m256i *)(code + k), bytes);
        }
        for (; k < depth; k++) code[k] = nmt_int8_code(row[k], scale, zeroPoints[r]);
        for (; k < padded; k++) code[k] = 0;
    }
}

// MARK: the product

enum { GROUP_BYTES = NMT_INT8_PANEL_COLUMNS * NMT_INT8_GROUP_DEPTH };

/// Four codes of a row as one int32, for a broadcast.
AVX2_INLINE int32_t four_codes(const uint8_t *codes) {
    int32_t v;
    memcpy(&v, codes, sizeof v);
    return v;
}

/// Writes one row's eight columns of a panel, starting at `column`, of which `valid` are inside the
/// product: the exact integers, or the dequantized floats with bias and ReLU.
AVX2_INLINE void store_panel(const nmt_int8_product *p, ptrdiff_t row, ptrdiff_t column, ptrdiff_t valid, __m256i sum) {
    __m256i exact = _mm256_sub_epi32(sum, _mm256_mullo_epi32(_mm256_set1_epi32(p->zeroPoints[row]),
                                                             _mm256_loadu_si256((const __m256i *)(p->columnSums + column))));
    if (p->exactOutput) {
        int32_t *target = p->exactOutput + row * p->outputStride + column;
        if (valid == NMT_INT8_PANEL_COLUMNS) {
            _mm256_storeu_si256((__m256i *)target, exact);
        } else {
            int32_t lanes[NMT_INT8_PANEL_COLUMNS];
            _mm256_storeu_si256((__m256i *)lanes, exact);
            memcpy(target, lanes, (size_t)valid * sizeof(int32_t));
        }
        return;
    }
    // The reference's order: scale = rowFactor · columnFactor; y = exact · scale; y + bias; ReLU; + residual.
    __m256 scale = _mm256_mul_ps(_mm256_set1_ps(p->rowFactors[row]), _mm256_loadu_ps(p->columnFactors + column));
    __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(exact), scale);
    if (p->bias) {
        float bias[NMT_INT8_PANEL_COLUMNS] = {0};
        const float *source = p->bias + column;
        if (valid < NMT_INT8_PANEL_COLUMNS) source = memcpy(bias, source, (size_t)valid * sizeof(float));
        y = _mm256_add_ps(y, _mm256_loadu_ps(source));
    }
    if (p->relu) y = _mm256_max_ps(y, _mm256_setzero_ps());
    if (p->residual) {
        float residual[NMT_INT8_PANEL_COLUMNS] = {0};
        const float *source = p->residual + row * p->residualStride + column;
        if (valid < NMT_INT8_PANEL_COLUMNS) source = memcpy(residual, source, (size_t)valid * sizeof(float));
        y = _mm256_add_ps(y, _mm256_loadu_ps(source));
    }
    float *target = p->output + row * p->outputStride + column;
    if (valid == NMT_INT8_PANEL_COLUMNS) {
        _mm256_storeu_ps(target, y);
    } else {
        float lanes[NMT_INT8_PANEL_COLUMNS];
        _mm256_storeu_ps(lanes, y);
        memcpy(target, lanes, (size_t)valid * sizeof(float));
    }
}

/// rows × panels of the product, both constants after inlining, so the accumulators live in
/// registers: per group of 4 k, each row's 4 codes are broadcast and multiply-added (MAC) with a
/// panel's 8 × 4 weights into the row's 8 int32 sums of that panel.
#define DEFINE_BLOCK(NAME, INLINE, MAC, MAX_ROWS, MAX_PANELS)                                                    \
    INLINE void NAME(const nmt_int8_product *p, ptrdiff_t row, int rows, ptrdiff_t panel, int panels,           \
                     ptrdiff_t groups, ptrdiff_t endColumn) {                                                   \
        __m256i sum[MAX_ROWS][MAX_PANELS];                                                                      \
        for (int i = 0; i < rows; i++)                                                                          \
            for (int j = 0; j < panels; j++) sum[i][j] = _mm256_setzero_si256();                                \
        const uint8_t *codes[MAX_ROWS];                                                                         \
        for (int i = 0; i < rows; i++) codes[i] = p->codes + (row + i) * p->codeStride;                         \
        const int8_t *weights = p->packedWeights + panel * groups * GROUP_BYTES;                                \
        for (ptrdiff_t g = 0; g < groups; g++) {                                                                \
            __m256i w[MAX_PANELS];                                                                              \
            for (int j = 0; j < panels; j++)                                                                    \
                w[j] = _mm256_loadu_si256((const __m256i *)(weights + (j * groups + g) * GROUP_BYTES));         \
            for (int i = 0; i < rows; i++) {                                                                    \
                __m256i u = _mm256_set1_epi32(four_codes(codes[i] + g * NMT_INT8_GROUP_DEPTH));                 \
                for (int j = 0; j < panels; j++) sum[i][j] = MAC(sum[i][j], u, w[j]);                           \
            }                                                                                                   \
        }                                                                                                       \
        for (int j = 0; j < panels; j++) {                                                                      \
            ptrdiff_t column = (panel + j) * NMT_INT8_PANEL_COLUMNS;                                            \
            ptrdiff_t valid = endColumn - column < NMT_INT8_PANEL_COLUMNS ? endColumn - column : NMT_INT8_PANEL_COLUMNS; \
            for (int i = 0; i < rows; i++) store_panel(p, row + i, column, valid, sum[i][j]);                   \
        }                                                                                                       \
    }

/// The loops around the blocks, for one path: BLOCK_CASES(B) lists the block shapes of block
/// function B, widest first, as CASE(B, rows, panels).
#define DEFINE_GEMM(NAME, ATTRIBUTE, BLOCK, MAX_ROWS, MAX_PANELS, BLOCK_CASES)                                  \
    ATTRIBUTE void NAME(const nmt_int8_product *p, ptrdiff_t firstRow, ptrdiff_t rowCount,                       \
                        ptrdiff_t firstColumn, ptrdiff_t columnCount) {                                         \
        if (rowCount <= 0 || columnCount <= 0) return;                                                          \
        const ptrdiff_t padded = nmt_int8_padded_depth(p->depth), groups = padded / NMT_INT8_GROUP_DEPTH;       \
        const ptrdiff_t endColumn = firstColumn + columnCount;                                                  \
        const ptrdiff_t firstPanel = firstColumn / NMT_INT8_PANEL_COLUMNS;                                      \
        const ptrdiff_t endPanel = (endColumn + NMT_INT8_PANEL_COLUMNS - 1) / NMT_INT8_PANEL_COLUMNS;           \
        /* A block's panels (8 · K bytes each) stay in L1 while every row of a chunk passes; the chunk's */     \
        /* codes (about 96 kB) stay in L2 while the panels pass. */                                             \
        ptrdiff_t chunk = (96 * 1024 / padded) / MAX_ROWS * MAX_ROWS;                                           \
        if (chunk < MAX_ROWS) chunk = MAX_ROWS;                                                                 \
        const ptrdiff_t endRow = firstRow + rowCount;                                                           \
        for (ptrdiff_t chunkStart = firstRow; chunkStart < endRow; chunkStart += chunk) {                       \
            const ptrdiff_t chunkEnd = chunkStart + chunk < endRow ? chunkStart + chunk : endRow;               \
            for (ptrdiff_t panel = firstPanel; panel < endPanel; panel += MAX_PANELS) {                         \
                const int panels = endPanel - panel < MAX_PANELS ? (int)(endPanel - panel) : MAX_PANELS;        \
                for (ptrdiff_t row = chunkStart; row < chunkEnd; row += MAX_ROWS) {                             \
                    const int rows = chunkEnd - row < MAX_ROWS ? (int)(chunkEnd - row) : MAX_ROWS;              \
                    BLOCK_CASES(BLOCK)                                                                          \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }

/// One specialisation per block shape: `rows` and `panels` become constants.
#define CASE(BLOCK, R, P) \
    if (rows == R && panels == P) { BLOCK(p, row, R, panel, P, groups, endColumn); continue; }

// AVX2: vpmaddubsw multiplies pairs of u8 × s8 and sums each pair to int16 (at most 2 · 127 · 127,
// never saturating), vpmaddwd by ones sums the pairs to int32. 4 rows × 2 panels: 8 sums, 2
// weights and a broadcast in the 16 ymm registers.
AVX2_INLINE __m256i mac_avx2(__m256i sum, __m256i u, __m256i w) {
    return _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(u, w), _mm256_set1_epi16(1)));
}
DEFINE_BLOCK(block_avx2, AVX2_INLINE, mac_avx2, 4, 2)
#define AVX2_CASES(B) \
    CASE(B, 4, 2) CASE(B, 3, 2) CASE(B, 2, 2) CASE(B, 1, 2) CASE(B, 4, 1) CASE(B, 3, 1) CASE(B, 2, 1) CASE(B, 1, 1)
DEFINE_GEMM(nmt_int8_gemm_avx2, AVX2, block_avx2, 4, 2, AVX2_CASES)

// AVX-512 VNNI: vpdpbusd does the four u8 × s8 products of each int32 lane and their sum into it in
// one instruction, exactly (no int16 step). The 256-bit form reads the AVX2 packing as it is; its 32
// registers hold 6 rows × 4 panels: 24 sums, 4 weights and a broadcast.
VNNI_INLINE __m256i mac_vnni(__m256i sum, __m256i u, __m256i w) { return _mm256_dpbusd_epi32(sum, u, w); }
DEFINE_BLOCK(block_vnni, VNNI_INLINE, mac_vnni, 6, 4)
#define VNNI_CASES(B)                                                                                   \
    CASE(B, 6, 4) CASE(B, 5, 4) CASE(B, 4, 4) CASE(B, 3, 4) CASE(B, 2, 4) CASE(B, 1, 4)                 \
    CASE(B, 6, 3) CASE(B, 5, 3) CASE(B, 4, 3) CASE(B, 3, 3) CASE(B, 2, 3) CASE(B, 1, 3)                 \
    CASE(B, 6, 2) CASE(B, 5, 2) CASE(B, 4, 2) CASE(B, 3, 2) CASE(B, 2, 2) CASE(B, 1, 2)                 \
    CASE(B, 6, 1) CASE(B, 5, 1) CASE(B, 4, 1) CASE(B, 3, 1) CASE(B, 2, 1) CASE(B, 1, 1)
DEFINE_GEMM(nmt_int8_gemm_vnni, VNNI, block_vnni, 6, 4, VNNI_CASES)

#endif
