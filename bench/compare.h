/* bench/compare.h -- what the library comparisons (bench-onednn, bench-xnnpack) share: their
 * options, and mobitune's tuned and reference engines on the same weights and input. */
#ifndef MBT_BENCH_COMPARE_H
#define MBT_BENCH_COMPARE_H

#include "common/common.h"
#include "net/net.h"
#include "tuner/tuner.h"

struct mbt_cmp {
  enum mbt_net_kind net;
  int threads, runs, have_plan;
  const char *plan_path;
  struct mbt_model m;
  struct mbt_plan pl;
  mbt_engine_t tuned, ref; /* the plan's (or default) variants; the reference kernels */
  float *in;               /* the input both sides run on */
};

/* Parse [--net v1|v2 | --net-file FILE] [--threads N] [--runs N] [--plan FILE], pin the
 * threads, build MobileNet 1.0/224 (or the described network) and both engines, and run them
 * once.  Exits with a message naming @p prog
 * on bad options (2) or failure (1). */
void mbt_cmp_setup(struct mbt_cmp *c, const char *prog, int argc, char **argv);
/* Max |a - b| over n. */
double mbt_cmp_max_err(const float *a, const float *b, int n);
void mbt_cmp_free(struct mbt_cmp *c);

#endif
