#ifndef NMT_INT8_QUANTIZATION_H
#define NMT_INT8_QUANTIZATION_H

// What the reference and the AVX2 path share, so that both derive a row's scale and zero point
// from its range with the same operations (and therefore the same bits).

#include "Int8GEMM.h"
#include <float.h>
#include <math.h>

#pragma STDC FP_CONTRACT OFF

/// s, z and 1 / s of a row whose values span [lo, hi] (lo ≤ 0 ≤ hi); `finite` is 0 when the row
/// holds an infinity or NaN. Returns s; the codes are clamp(rint(x · s) + z, 0, 127).
static inline float nmt_int8_row_parameters(float lo, float hi, int finite, int32_t *zeroPoint, float *factor) {
    float range = hi - lo;
    if (!finite || !(range <= FLT_MAX)) {
        // Codes of 0 with z = 0 make every product 0, and 0 · NaN carries the NaN to the output.
        *zeroPoint = 0;
        *factor = NAN;
        return 0;
    }
    float scale = (float)NMT_INT8_ACTIVATION_LEVELS / range;
    if (!(range > 0) || !(scale <= FLT_MAX)) {
        // All zeros, or values so small (below 1e-36) that they round to zero codes anyway.
        *zeroPoint = 0;
        *factor = 1;
        return 1;
    }
    *zeroPoint = (int32_t)nearbyintf(-lo * scale);
    *factor = 1 / scale;
    return scale;
}

/// The code of one value: rint(x · s) + z within [0, 127] (rint rounds half to even, as cvtps2dq).
static inline uint8_t nmt_int8_code(float x, float scale, int32_t zeroPoint) {
    int32_t q = (int32_t)nearbyintf(x * scale) + zeroPoint;
    if (q < 0) q = 0;
    if (q > NMT_INT8_ACTIVATION_LEVELS) q = NMT_INT8_ACTIVATION_LEVELS;
    return (uint8_t)q;
}

/// Whether |x| is a finite number (false for ±inf and NaN).
static inline int nmt_int8_is_finite(float x) { return fabsf(x) <= FLT_MAX; }

#endif
