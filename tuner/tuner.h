/* tuner/tuner.h -- timing one layer variant (shared by the tuner and the benchmarks). */
#ifndef MBT_TUNER_H
#define MBT_TUNER_H

#include "kernels/kernels.h"
#include "machine/counters.h"

/* Buffers for one layer, filled from a seeded generator. */
struct mbt_layer_bufs {
  float *in, *out, *res, *w, *b;
  struct mbt_exec x;
};
enum mbt_status mbt_layer_bufs_alloc(const struct mbt_layer *l, uint64_t seed,
                                     struct mbt_layer_bufs *b);
void mbt_layer_bufs_free(struct mbt_layer_bufs *b);

struct mbt_timing {
  double median_ns, min_ns, max_ns; /* per call */
  long iters;                       /* calls per repetition */
  int reps;
  int ncounters;
  long long counters[MBT_MAX_EVENTS]; /* per call, from the median repetition's loop */
};

/* Warm up, double the call count until one repetition lasts min_ms, then time reps
 * repetitions; counters (when the component can count) are read around each repetition. */
void mbt_measure(const struct mbt_variant *v, const struct mbt_exec *x, int threads,
                 double min_ms, int reps, struct mbt_timing *t);

#endif
