#include "SerialRegion.h"

static _Thread_local int depth;

int nmt_serial_region_depth(void) { return depth; }
void nmt_serial_region_enter(void) { depth++; }
void nmt_serial_region_leave(void) { depth--; }
