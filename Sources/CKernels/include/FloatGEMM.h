#ifndef NMT_FLOAT_GEMM_H
#define NMT_FLOAT_GEMM_H

#include <stddef.h>

// The float32 product of inference from weights packed once, when the model loads (the Swift side is
// Tensor/InferenceWeights/PackedWeight.swift):
//
//   y (M, N) = x (M, K) · Wᵀ + bias,   then ReLU if asked, then + residual
//
// Why not sgemm: BLAS repacks W into its kernel's layout on every call. Decoding multiplies a few
// dozen rows by the same weights thousands of times, and that repacking (OpenBLAS's sgemm_incopy)
// took a fifth of float32 greedy decoding (docs/BENCHMARKS.md). Packed here once, the weights are
// read as they are stored.

/// The packed weights: panels of 16 output columns; panel p holds, for k = 0 … K − 1, the 16 values
/// W[16p + j][k] (j = 0 … 15) side by side. Columns past N are zeros.
#define NMT_F32_PANEL_COLUMNS 16

/// Floats in the packed form of an (N, K) matrix: N rounded up to a panel, times K.
ptrdiff_t nmt_f32_packed_size(ptrdiff_t columns, ptrdiff_t depth);

/// packed ← W (N, K), row-major, in the panel layout.
void nmt_f32_pack_weights(const float *weights, ptrdiff_t columns, ptrdiff_t depth, float *packed);

/// Everything one product reads and writes.
typedef struct {
    const float *input;        // (M, inputStride) x
    ptrdiff_t inputStride;
    ptrdiff_t depth;           // K
    ptrdiff_t columns;         // N
    const float *packed;       // W in the panel layout
    const float *bias;         // (N) or NULL
    int relu;                  // nonzero: y = max(y, 0) after the bias
    const float *residual;     // (M, residualStride) added last, or NULL
    ptrdiff_t residualStride;
    float *output;             // (M, outputStride)
    ptrdiff_t outputStride;
} nmt_f32_product;

#if defined(__x86_64__)
/// Whether this processor runs nmt_f32_gemm_avx2: AVX2, FMA, and the OS saving ymm registers.
int nmt_f32_avx2_supported(void);

/// Rows [firstRow, firstRow + rowCount) × columns [firstColumn, firstColumn + columnCount) of the
/// product, six rows by sixteen columns at a time with FMA; firstColumn is a multiple of a panel.
/// Each output is Σ_k x·w in order of k from 0 (one fused multiply–add a term), then + bias, ReLU,
/// + residual.
void nmt_f32_gemm_avx2(const nmt_f32_product *product, ptrdiff_t firstRow, ptrdiff_t rowCount,
                       ptrdiff_t firstColumn, ptrdiff_t columnCount);
#endif

#endif
