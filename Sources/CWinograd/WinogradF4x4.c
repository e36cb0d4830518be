#include "CWinograd.h"
#include <string.h>

// Eight tiles, one lane each (GCC/Clang vector extension: arithmetic element-wise, scalars broadcast).
typedef float lanes __attribute__((vector_size(32), aligned(4)));

// On x86-64 each entry point is compiled twice, for AVX2 + FMA (eight lanes in one register) and for
// the baseline, and the loader picks the one the processor runs (an ifunc); elsewhere, once.
#if defined(__x86_64__) && defined(__linux__)
#define ENTRY __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ENTRY
#endif
#define HELPER static inline __attribute__((always_inline))

// The one-dimensional transforms, on six (or four) vectors of lanes. The two-dimensional
// transform T X Tᵀ applies T to each column of X, then to each row of the result.

// Bᵀ, points 0, ±1, ±2, ∞.
HELPER void input_1d(const lanes d[6], lanes o[6]) {
    o[0] = 4 * d[0] - 5 * d[2] + d[4];
    o[1] = -4 * d[1] - 4 * d[2] + d[3] + d[4];
    o[2] = 4 * d[1] - 4 * d[2] - d[3] + d[4];
    o[3] = -2 * d[1] - d[2] + 2 * d[3] + d[4];
    o[4] = 2 * d[1] - d[2] - 2 * d[3] + d[4];
    o[5] = 4 * d[1] - 5 * d[3] + d[5];
}

// B = (Bᵀ)ᵀ, the adjoint of input_1d.
HELPER void input_adjoint_1d(const lanes v[6], lanes o[6]) {
    o[0] = 4 * v[0];
    o[1] = -4 * v[1] + 4 * v[2] - 2 * v[3] + 2 * v[4] + 4 * v[5];
    o[2] = -5 * v[0] - 4 * v[1] - 4 * v[2] - v[3] - v[4];
    o[3] = v[1] - v[2] + 2 * v[3] - 2 * v[4] - 5 * v[5];
    o[4] = v[0] + v[1] + v[2] + v[3] + v[4];
    o[5] = v[5];
}

// Aᵀ: six transformed values to four outputs.
HELPER void output_1d(const lanes m[6], lanes y[4]) {
    y[0] = m[0] + m[1] + m[2] + m[3] + m[4];
    y[1] = m[1] - m[2] + 2 * m[3] - 2 * m[4];
    y[2] = m[1] + m[2] + 4 * m[3] + 4 * m[4];
    y[3] = m[1] - m[2] + 8 * m[3] - 8 * m[4] + m[5];
}

// A = (Aᵀ)ᵀ, the adjoint of output_1d: four output gradients to six.
HELPER void output_adjoint_1d(const lanes g[4], lanes o[6]) {
    o[0] = g[0];
    o[1] = g[0] + g[1] + g[2] + g[3];
    o[2] = g[0] - g[1] + g[2] - g[3];
    o[3] = g[0] + 2 * g[1] + 4 * g[2] + 8 * g[3];
    o[4] = g[0] - 2 * g[1] + 4 * g[2] - 8 * g[3];
    o[5] = g[3];
}

// Unaligned loads and stores of eight floats (macros: a vector passed by value would change the
// calling convention between the AVX2 and the baseline clones).
#define LOAD8(target, source) memcpy(&(target), (source), sizeof(lanes))
#define STORE8(target, value) memcpy((target), &(value), sizeof(lanes))

ENTRY void nmt_winograd4_transform_input(const float *plane, const ptrdiff_t *offsets, ptrdiff_t rowStride,
                                   ptrdiff_t tiles, float *V, ptrdiff_t planeStride) {
    for (ptrdiff_t first = 0; first < tiles; first += 8) {
        lanes d[6][6], column[6], t[6][6], row[6], out[6];
        for (int j = 0; j < 8; j++) {
            const float *block = plane + offsets[first + j];
            for (int r = 0; r < 6; r++)
                for (int q = 0; q < 6; q++) d[r][q][j] = block[r * rowStride + q];
        }
        for (int q = 0; q < 6; q++) {
            lanes c[6] = {d[0][q], d[1][q], d[2][q], d[3][q], d[4][q], d[5][q]};
            input_1d(c, column);
            for (int r = 0; r < 6; r++) t[r][q] = column[r];
        }
        for (int r = 0; r < 6; r++) {
            for (int q = 0; q < 6; q++) row[q] = t[r][q];
            input_1d(row, out);
            for (int q = 0; q < 6; q++) STORE8(V + (r * 6 + q) * planeStride + first, out[q]);
        }
    }
}

ENTRY void nmt_winograd4_transform_output(const float *M, ptrdiff_t planeStride, const ptrdiff_t *offsets,
                                    ptrdiff_t rowStride, ptrdiff_t tiles, float *plane) {
    for (ptrdiff_t first = 0; first < tiles; first += 8) {
        lanes m[6][6], column[4], t[4][6], row[6], y[4][4];
        for (int xi = 0; xi < 36; xi++) LOAD8(m[xi / 6][xi % 6], M + xi * planeStride + first);
        for (int q = 0; q < 6; q++) {
            lanes c[6] = {m[0][q], m[1][q], m[2][q], m[3][q], m[4][q], m[5][q]};
            output_1d(c, column);
            for (int a = 0; a < 4; a++) t[a][q] = column[a];
        }
        for (int a = 0; a < 4; a++) {
            for (int q = 0; q < 6; q++) row[q] = t[a][q];
            output_1d(row, y[a]);
        }
        ptrdiff_t count = tiles - first < 8 ? tiles - first : 8;
        for (int j = 0; j < count; j++) {
            float *block = plane + offsets[first + j];
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++) block[a * rowStride + b] = y[a][b][j];
        }
    }
}

ENTRY void nmt_winograd4_transform_output_gradient(const float *plane, const ptrdiff_t *offsets, ptrdiff_t rowStride,
                                             ptrdiff_t tiles, float *dM, ptrdiff_t planeStride) {
    for (ptrdiff_t first = 0; first < tiles; first += 8) {
        lanes g[4][4], column[6], t[6][4], out[6];
        for (int j = 0; j < 8; j++) {
            const float *block = plane + offsets[first + j];
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++) g[a][b][j] = block[a * rowStride + b];
        }
        for (int b = 0; b < 4; b++) {
            lanes c[4] = {g[0][b], g[1][b], g[2][b], g[3][b]};
            output_adjoint_1d(c, column);
            for (int r = 0; r < 6; r++) t[r][b] = column[r];
        }
        for (int r = 0; r < 6; r++) {
            output_adjoint_1d(t[r], out);
            for (int q = 0; q < 6; q++) STORE8(dM + (r * 6 + q) * planeStride + first, out[q]);
        }
    }
}

ENTRY void nmt_winograd4_fold_input_gradient(const float *dV, ptrdiff_t planeStride, const ptrdiff_t *offsets,
                                       ptrdiff_t rowStride, ptrdiff_t tiles, float *plane) {
    for (ptrdiff_t first = 0; first < tiles; first += 8) {
        lanes v[6][6], column[6], t[6][6], row[6], out[6][6];
        for (int xi = 0; xi < 36; xi++) LOAD8(v[xi / 6][xi % 6], dV + xi * planeStride + first);
        for (int q = 0; q < 6; q++) {
            lanes c[6] = {v[0][q], v[1][q], v[2][q], v[3][q], v[4][q], v[5][q]};
            input_adjoint_1d(c, column);
            for (int r = 0; r < 6; r++) t[r][q] = column[r];
        }
        for (int r = 0; r < 6; r++) {
            for (int q = 0; q < 6; q++) row[q] = t[r][q];
            input_adjoint_1d(row, out[r]);
        }
        ptrdiff_t count = tiles - first < 8 ? tiles - first : 8;
        for (int j = 0; j < count; j++) {
            float *block = plane + offsets[first + j];
            for (int r = 0; r < 6; r++)
                for (int q = 0; q < 6; q++) block[r * rowStride + q] += out[r][q][j];
        }
    }
}
