#ifndef NMT_INT8_GEMM_H
#define NMT_INT8_GEMM_H

#include <stddef.h>
#include <stdint.h>

// The int8 matrix product of quantized inference (Tensor/InferenceWeights holds the Swift side):
//
//   y (M, N) = dequantize(A (M, K) · Wᵀ) + bias,   W (N, K) int8 rows with one scale per row
//
// Activations are quantized per row at run time to unsigned 7-bit codes with a zero point:
// x ≈ (u − z) / s, u in [0, 127], the range [min(x, 0), max(x, 0)] mapped onto 0…127. Weights are
// signed int8 in [−127, 127]. The integer product Σ_k (u − z)·w is computed as Σ_k u·w − z·Σ_k w,
// with the column sums Σ_k w precomputed when the weights are packed.
//
// Why 7 bits: the AVX2 path multiplies with vpmaddubsw, which adds two u8 × s8 products in a
// saturating int16. With u ≤ 127 and |w| ≤ 127 a pair is at most 2 · 127 · 127 = 32258 < 32767, so it
// never saturates and the AVX2 path equals the scalar reference on every input. Rows that are all of
// one sign (after ReLU) keep the full 127 steps over their range, as a signed 8-bit code would.
// The VNNI path (vpdpbusd sums in int32 and could take 8-bit codes) keeps the same codes, so a model
// translates the same on every processor.

/// Activation codes per row: u in [0, NMT_INT8_ACTIVATION_LEVELS].
#define NMT_INT8_ACTIVATION_LEVELS 127
/// Weight codes: w in [−NMT_INT8_WEIGHT_LEVELS, NMT_INT8_WEIGHT_LEVELS].
#define NMT_INT8_WEIGHT_LEVELS 127
/// The packed weights: panels of 8 output columns; within a panel, groups of 4 consecutive k, each
/// group 8 columns × 4 bytes (column c's w[c][4g … 4g+3] at byte 4c). K and N are padded with zeros.
#define NMT_INT8_PANEL_COLUMNS 8
#define NMT_INT8_GROUP_DEPTH 4

/// Activation rows must be this many bytes apart at least: K rounded up to a group (the x86 paths
/// read whole groups; the padding meets zero weights).
ptrdiff_t nmt_int8_padded_depth(ptrdiff_t depth);

/// Bytes of the packed form of an (N, K) matrix: N and K rounded up to a panel and a group.
ptrdiff_t nmt_int8_packed_size(ptrdiff_t columns, ptrdiff_t depth);

/// packed ← W (N, K) rows in the panel layout; columnSums[n] = Σ_k w[n][k] for n < N rounded up to a
/// panel (zero beyond N).
void nmt_int8_pack_weights(const int8_t *weights, ptrdiff_t columns, ptrdiff_t depth, int8_t *packed,
                           int32_t *columnSums);

/// Per row of x (rows, K), row stride ldx: codes (rows, ldq) with ldq ≥ padded depth (the padding
/// written as 0), zeroPoints[r] = z and factors[r] = 1 / s. A row of zeros has s = 1, z = 0; a row with
/// an infinity or NaN has codes 0, z = 0 and factor NaN, so its outputs are NaN.
void nmt_int8_quantize_rows_reference(const float *x, ptrdiff_t rows, ptrdiff_t depth, ptrdiff_t ldx,
                                      uint8_t *codes, ptrdiff_t ldq, int32_t *zeroPoints, float *factors);

/// Everything one product reads and writes.
typedef struct {
    const uint8_t *codes;          // (M, codeStride) activation codes
    ptrdiff_t codeStride;
    const int32_t *zeroPoints;     // (M)
    const float *rowFactors;       // (M) 1 / s of each activation row
    ptrdiff_t depth;               // K
    ptrdiff_t columns;             // N
    const int8_t *weightRows;      // (N, K), read by the reference
    const int8_t *packedWeights;   // the panel layout, read by the x86 paths
    const int32_t *columnSums;     // (N rounded up to a panel)
    const float *columnFactors;    // (N rounded up to a panel) 1 / (weight scale) of each row of W
    const float *bias;             // (N) or NULL
    int relu;                      // nonzero: y = max(y, 0) after the bias
    const float *residual;         // (M, residualStride) added last (a sublayer's residual connection), or NULL
    ptrdiff_t residualStride;
    float *output;                 // (M, outputStride): y
    ptrdiff_t outputStride;
    int32_t *exactOutput;          // when not NULL, written instead of output: Σ_k (u − z)·w, exact
} nmt_int8_product;

/// Rows [firstRow, firstRow + rowCount) × columns [firstColumn, firstColumn + columnCount) of the
/// product, by three loops over the weight rows:
/// y = (float)(Σ_k (u − z)·w) · (rowFactor · columnFactor) + bias, then ReLU if asked, then + residual.
void nmt_int8_gemm_reference(const nmt_int8_product *product, ptrdiff_t firstRow, ptrdiff_t rowCount,
                             ptrdiff_t firstColumn, ptrdiff_t columnCount);

#if defined(__x86_64__)
/// Whether this processor runs the AVX2 functions below (AVX2 and the OS saving ymm registers).
int nmt_int8_avx2_supported(void);

/// nmt_int8_quantize_rows_reference with AVX2: the same codes, zero points and factors, bit for bit.
void nmt_int8_quantize_rows_avx2(const float *x, ptrdiff_t rows, ptrdiff_t depth, ptrdiff_t ldx,
                                 uint8_t *codes, ptrdiff_t ldq, int32_t *zeroPoints, float *factors);

/// nmt_int8_gemm_reference from the packed weights with AVX2 (vpmaddubsw, vpmaddwd), bit for bit.
/// firstColumn must be a multiple of a panel.
void nmt_int8_gemm_avx2(const nmt_int8_product *product, ptrdiff_t firstRow, ptrdiff_t rowCount,
                        ptrdiff_t firstColumn, ptrdiff_t columnCount);

/// Whether this processor runs nmt_int8_gemm_vnni (AVX-512 F, BW, VL and VNNI, and the OS saving
/// their state).
int nmt_int8_vnni_supported(void);

/// nmt_int8_gemm_avx2 with AVX-512 VNNI (vpdpbusd) on the same packed weights, bit for bit.
void nmt_int8_gemm_vnni(const nmt_int8_product *product, ptrdiff_t firstRow, ptrdiff_t rowCount,
                        ptrdiff_t firstColumn, ptrdiff_t columnCount);
#endif

#endif
