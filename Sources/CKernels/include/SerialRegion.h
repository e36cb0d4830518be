#ifndef NMT_SERIAL_REGION_H
#define NMT_SERIAL_REGION_H

// Whether the calling thread is inside Parallel.serially: a thread that runs a whole job of its own
// (one batch of sentences while another thread runs the next) keeps its parallel regions to
// itself. A thread-local counter, which Swift cannot declare; entered and left in pairs.
int nmt_serial_region_depth(void);
void nmt_serial_region_enter(void);
void nmt_serial_region_leave(void);

#endif
