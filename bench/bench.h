/* bench/bench.h -- 'mobitune bench': per-variant and end-to-end timings.  Above the library (it
 * times the library's parts, as the benchmarks beside it do), so not in the public header. */
#ifndef MBT_BENCH_H
#define MBT_BENCH_H

#include <stdio.h>

#include "include/mobitune.h"

struct mbt_bench_opts {
  int quick;    /**< shorter timings */
  int runs;     /**< end-to-end timed runs per configuration */
  int threads;  /**< threads for the end-to-end runs */
  struct mbt_profile *profile; /**< when set, each layer's % of its roofline bound; a ceiling a
                                    variant beat beyond the noise is marked suspect in it (the
                                    caller saves it when mbt_profile_suspects grew) */
  const struct mbt_plan *compare[2];  /**< other plans timed beside the plan (NULL = none) */
  const char *compare_name[2];        /**< their labels */
  int e2e_only;                       /**< 1 = skip the per-variant table */
  const char *save;                   /**< when set, the end-to-end results are written there
                                           as JSON (the report reads them) */
};

/**
 * Time every runnable variant on every distinct layer of @p model (median, spread, GFLOP/s,
 * GB/s of compulsory traffic), then the whole network with the plan @p pl (may be NULL),
 * with each single variant family forced everywhere it applies, and with the reference
 * kernels; ratios against the reference are measured in the same run.
 */
enum mbt_status mbt_bench(const struct mbt_model *model, const struct mbt_plan *pl,
                          const struct mbt_bench_opts *o, FILE *out);

#endif
