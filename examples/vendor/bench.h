/* The three functions a vendor supplies to examples/vendor/bench.c: its runtime behind a
 * plain C interface. Widths are indices into the vectors' widths (narrowest first, labels in
 * namx_vec_width_label). Each returns 0 on success; anything else stops the bench. */
#ifndef NAMX_BENCH_H
#define NAMX_BENCH_H

#ifdef __cplusplus
extern "C" {
#endif

/* Start a stream at `width` from that width's initial state (spec A2 §7.1). */
int vendor_start(int width, const char *label);

/* A width is requested at a block boundary (spec A2 §7.3): a different width starts from its own
 * initial state and the old state is discarded; the width already active changes nothing. */
int vendor_set_width(int width, const char *label);

/* Process one block: n input samples to n output samples, carrying the state to the next call.
 * Block lengths vary (1 to the largest block size in the vectors). */
int vendor_process(const float *in, float *out, unsigned long n);

#ifdef __cplusplus
}
#endif

#endif
