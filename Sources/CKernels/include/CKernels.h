#ifndef NMT_CKERNELS_H
#define NMT_CKERNELS_H

#include <stddef.h>
#include "RowKernels.h"
#include "Int8GEMM.h"
#include "FloatGEMM.h"
#include "SpinWait.h"
#include "SerialRegion.h"

// The translation engine's kernels written in C, where Swift's code generation falls short; Tensor
// imports them. The image model's Winograd transforms live apart, in CWinograd (ImageKernels).

#endif
