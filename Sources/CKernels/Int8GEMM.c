#include "Int8GEMM.h"
#include "Int8Quantization.h"
#include <string.h>

// The plain parts of the int8 product: sizes, packing, and the scalar reference that defines what
// the x86 paths (Int8GEMMX86.c: AVX2, AVX-512 VNNI) must reproduce bit for bit.

ptrdiff_t nmt_int8_padded_depth(ptrdiff_t depth) {
    return (depth + NMT_INT8_GROUP_DEPTH - 1) / NMT_INT8_GROUP_DEPTH * NMT_INT8_GROUP_DEPTH;
}

static ptrdiff_t panels_of(ptrdiff_t columns) {
    return (columns + NMT_INT8_PANEL_COLUMNS - 1) / NMT_INT8_PANEL_COLUMNS;
}

ptrdiff_t nmt_int8_packed_size(ptrdiff_t columns, ptrdiff_t depth) {
    return panels_of(columns) * NMT_INT8_PANEL_COLUMNS * nmt_int8_padded_depth(depth);
}

void nmt_int8_pack_weights(const int8_t *weights, ptrdiff_t columns, ptrdiff_t depth, int8_t *packed,
                           int32_t *columnSums) {
    const ptrdiff_t groups = nmt_int8_padded_depth(depth) / NMT_INT8_GROUP_DEPTH;
    const ptrdiff_t groupBytes = NMT_INT8_PANEL_COLUMNS * NMT_INT8_GROUP_DEPTH;
    memset(packed, 0, (size_t)nmt_int8_packed_size(columns, depth));
    for (ptrdiff_t n = 0; n < panels_of(columns) * NMT_INT8_PANEL_COLUMNS; n++) {
        int32_t sum = 0;
        if (n < columns) {
            const int8_t *row = weights + n * depth;
            int8_t *panel = packed + (n / NMT_INT8_PANEL_COLUMNS) * groups * groupBytes;
            for (ptrdiff_t k = 0; k < depth; k++) {
                panel[(k / NMT_INT8_GROUP_DEPTH) * groupBytes + (n % NMT_INT8_PANEL_COLUMNS) * NMT_INT8_GROUP_DEPTH
                      + k % NMT_INT8_GROUP_DEPTH] = row[k];
                sum += row[k];
            }
        }
        columnSums[n] = sum;
    }
}

void nmt_int8_quantize_rows_reference(const float *x, ptrdiff_t rows, ptrdiff_t depth, ptrdiff_t ldx,
                                      uint8_t *codes, ptrdiff_t ldq, int32_t *zeroPoints, float *factors) {
    const ptrdiff_t padded = nmt_int8_padded_depth(depth);
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *row = x + r * ldx;
        uint8_t *code = codes + r * ldq;
        float lo = 0, hi = 0;
        int finite = 1;
        for (ptrdiff_t k = 0; k < depth; k++) {
            if (row[k] < lo) lo = row[k];
            if (row[k] > hi) hi = row[k];
            finite &= nmt_int8_is_finite(row[k]);
        }
        float scale = nmt_int8_row_parameters(lo, hi, finite, &zeroPoints[r], &factors[r]);
        for (ptrdiff_t k = 0; k < depth; k++) code[k] = finite ? nmt_int8_code(row[k], scale, zeroPoints[r]) : 0;
        for (ptrdiff_t k = depth; k < padded; k++) code[k] = 0;
    }
}

void nmt_int8_gemm_reference(const nmt_int8_product *p, ptrdiff_t firstRow, ptrdiff_t rowCount,
                             ptrdiff_t firstColumn, ptrdiff_t columnCount) {
    for (ptrdiff_t r = firstRow; r < firstRow + rowCount; r++) {
        const uint8_t *code = p->codes + r * p->codeStride;
        const int32_t zeroPoint = p->zeroPoints[r];
        for (ptrdiff_t c = firstColumn; c < firstColumn + columnCount; c++) {
            const int8_t *weight = p->weightRows + c * p->depth;
            int32_t exact = 0;
            for (ptrdiff_t k = 0; k < p->depth; k++) exact += ((int32_t)code[k] - zeroPoint) * (int32_t)weight[k];
            if (p->exactOutput) {
                p->exactOutput[r * p->outputStride + c] = exact;
                continue;
            }
            float scale = p->rowFactors[r] * p->columnFactors[c];
            float y = (float)exact * scale;
            if (p->bias) y = y + p->bias[c];
            if (p->relu) y = y > 0 ? y : 0;
            if (p->residual) y = y + p->residual[r * p->residualStride + c];
            p->output[r * p->outputStride + c] = y;
        }
    }
}
