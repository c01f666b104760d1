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
  int cotenant;                       /**< 1: also time the plans beside a synthetic co-tenant */
  int cotenant_cpu, cotenant_nice;    /**< its CPU and nice level */
};

/* A synthetic co-tenant (bench/cotenant.c): a busy loop pinned to one CPU at a nice level,
 * held stopped except while loaded runs are timed. */
struct mbt_cotenant {
  int pid, cpu, nice;
};
/* MBT_OK when @p cpu is one of this machine's online CPUs (else MBT_EINVAL, named). */
enum mbt_status mbt_cotenant_valid(int cpu);
/* Start it (stopped).  @return MBT_EINVAL (no such CPU) or MBT_EUNSUPPORTED (cannot fork or
 * pin it). */
enum mbt_status mbt_cotenant_start(struct mbt_cotenant *c, int cpu, int nice_level);
/* Let it run (@p on = 1) or stop it (0: returns once it has stopped). */
void mbt_cotenant_run(const struct mbt_cotenant *c, int on);
/* Kill it. */
void mbt_cotenant_stop(struct mbt_cotenant *c);

/**
 * Time every runnable variant on every distinct layer of @p model (median, spread, GFLOP/s,
 * GB/s of compulsory traffic), then the whole network with the plan @p pl (may be NULL),
 * with each single variant family forced everywhere it applies, and with the reference
 * kernels; ratios against the reference are measured in the same run.
 */
enum mbt_status mbt_bench(const struct mbt_model *model, const struct mbt_plan *pl,
                          const struct mbt_bench_opts *o, FILE *out);

#endif
