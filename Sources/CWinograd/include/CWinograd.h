#ifndef NMT_CWINOGRAD_H
#define NMT_CWINOGRAD_H

#include <stddef.h>

// The transforms of the F(4×4, 3×3) Winograd convolution (ImageKernels/WinogradConvolution.swift
// holds the algorithm and the data layout), written in C so that each runs as straight-line vector
// code on eight tiles at once. Every function handles one channel of one group of images:
//
//   plane      one channel of every image of the group, zero-bordered (WinogradTiling)
//   offsets    where each tile's block starts in `plane`; rowStride the plane's row length
//   planeStride the distance between the 36 planes (ξ) of V, M, dM or dV
//   tiles      tiles to process; where a count must be a multiple of 8 it says so

// V[ξ·planeStride + t] = (Bᵀ d B)[ξ] for the 6×6 block d at plane + offsets[t]; tiles a multiple of 8.
void nmt_winograd4_transform_input(const float *plane, const ptrdiff_t *offsets, ptrdiff_t rowStride,
                                   ptrdiff_t tiles, float *V, ptrdiff_t planeStride);

// The 4×4 block at plane + offsets[t] = Aᵀ M[·][t] A, for t < tiles (M readable up to a multiple of 8).
void nmt_winograd4_transform_output(const float *M, ptrdiff_t planeStride, const ptrdiff_t *offsets,
                                    ptrdiff_t rowStride, ptrdiff_t tiles, float *plane);

// dM[ξ·planeStride + t] = (A g Aᵀ)[ξ] for the 4×4 block g at plane + offsets[t]; tiles a multiple of 8.
void nmt_winograd4_transform_output_gradient(const float *plane, const ptrdiff_t *offsets, ptrdiff_t rowStride,
                                             ptrdiff_t tiles, float *dM, ptrdiff_t planeStride);

// The 6×6 block at plane + offsets[t] += B dV[·][t] Bᵀ, for t < tiles (dV readable up to a multiple of 8).
void nmt_winograd4_fold_input_gradient(const float *dV, ptrdiff_t planeStride, const ptrdiff_t *offsets,
                                       ptrdiff_t rowStride, ptrdiff_t tiles, float *plane);

#endif
