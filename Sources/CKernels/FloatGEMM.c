#include "FloatGEMM.h"
#include <string.h>

// The plain parts of the packed float32 product: its size and the packing. The AVX2 product is
// FloatGEMMAVX2.c; the reference it is tested against is ReferenceKernels.linear (Swift).

static ptrdiff_t panels_of(ptrdiff_t columns) {
    return (columns + NMT_F32_PANEL_COLUMNS - 1) / NMT_F32_PANEL_COLUMNS;
}

ptrdiff_t nmt_f32_packed_size(ptrdiff_t columns, ptrdiff_t depth) {
    return panels_of(columns) * NMT_F32_PANEL_COLUMNS * depth;
}

void nmt_f32_pack_weights(const float *weights, ptrdiff_t columns, ptrdiff_t depth, float *packed) {
    memset(packed, 0, (size_t)nmt_f32_packed_size(columns, depth) * sizeof(float));
    for (ptrdiff_t n = 0; n < columns; n++) {
        const float *row = weights + n * depth;
        float *panel = packed + (n / NMT_F32_PANEL_COLUMNS) * NMT_F32_PANEL_COLUMNS * depth + n % NMT_F32_PANEL_COLUMNS;
        for (ptrdiff_t k = 0; k < depth; k++) panel[k * NMT_F32_PANEL_COLUMNS] = row[k];
    }
}
