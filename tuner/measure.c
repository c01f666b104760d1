/* tuner/measure.c -- calibrated timing of one variant on one layer. */
#include "config.h"

#include <string.h>

#include "common/common.h"
#include "net/net.h"
#include "tuner/tuner.h"

enum mbt_status mbt_layer_bufs_alloc(const struct mbt_layer *l, uint64_t seed,
                                     struct mbt_layer_bufs *b) {
  memset(b, 0, sizeof *b);
  /* a depthwise layer reads its input at the pixel stride the engine gives it (in MobileNets a
   * pointwise layer always produces it) */
  const size_t ldi = l->op == MBT_OP_DWCONV ? mbt_act_stride(l->ic) : (size_t)l->ic;
  const size_t nin = (size_t)l->ih * l->iw * ldi, nout = (size_t)l->oh * l->ow * l->oc;
  b->in = mbt_alloc(nin, sizeof(float));
  b->out = mbt_alloc(nout, sizeof(float));
  b->w = mbt_alloc(mbt_layer_weight_count(l), sizeof(float));
  b->b = mbt_alloc((size_t)l->oc, sizeof(float));
  if (l->res >= -1) b->res = mbt_alloc(nout, sizeof(float));
  if (!b->in || !b->out || !b->w || !b->b || (l->res >= -1 && !b->res)) {
    mbt_layer_bufs_free(b);
    return mbt_fail(MBT_ENOMEM, "cannot allocate buffers for layer %s", l->name);
  }
  struct mbt_rng r;
  mbt_rng_seed(&r, seed);
  for (size_t i = 0; i < nin; i++) b->in[i] = mbt_rng_range(&r, -1.0f, 1.0f);
  if (b->res)
    for (size_t i = 0; i < nout; i++) b->res[i] = mbt_rng_range(&r, -1.0f, 1.0f);
  mbt_layer_init_weights(l, b->w, b->b, &r);
  b->x = (struct mbt_exec){mbt_layer_kshape(l), b->in, b->out, b->res, b->w, b->b, 0, 0, NULL, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, NULL, 0};
  if (ldi != (size_t)l->ic) b->x.ldi = ldi;
  mbt_exec_act(&b->x);
  return MBT_OK;
}

void mbt_layer_bufs_free(struct mbt_layer_bufs *b) {
  mbt_free(b->in);
  mbt_free(b->out);
  mbt_free(b->res);
  mbt_free(b->w);
  mbt_free(b->b);
  memset(b, 0, sizeof *b);
}

void mbt_measure(const struct mbt_variant *v, const struct mbt_exec *x, int threads,
                 double min_ms, int reps, struct mbt_timing *t) {
  memset(t, 0, sizeof *t);
  if (reps < 1) reps = 1;
  if (reps > 64) reps = 64;
  mbt_run_rows(v, x, threads); /* warm-up: caches, pages, branch predictors */
  long iters = 1;
  for (;;) { /* calibrate: double until one repetition lasts min_ms */
    double t0 = mbt_now_ns();
    for (long i = 0; i < iters; i++) mbt_run_rows(v, x, threads);
    double dt = mbt_now_ns() - t0;
    if (dt >= min_ms * 1e6 || iters >= (1L << 24)) break;
    iters *= 2;
  }
  const struct mbt_counters *cc = mbt_counters_get();
  double ns[64];
  long long cv[64][MBT_MAX_EVENTS];
  for (int r = 0; r < reps; r++) {
    int counting = cc->nevents > 0 && cc->start() == 0;
    double t0 = mbt_now_ns();
    for (long i = 0; i < iters; i++) mbt_run_rows(v, x, threads);
    ns[r] = (mbt_now_ns() - t0) / (double)iters;
    if (counting && cc->stop(cv[r]) != 0) counting = 0;
    if (!counting) memset(cv[r], 0, sizeof cv[r]);
  }
  t->iters = iters;
  t->reps = reps;
  t->median_ns = mbt_median(ns, reps);
  t->min_ns = t->max_ns = ns[0];
  int med = 0;
  for (int r = 0; r < reps; r++) {
    t->min_ns = ns[r] < t->min_ns ? ns[r] : t->min_ns;
    t->max_ns = ns[r] > t->max_ns ? ns[r] : t->max_ns;
    if ((ns[r] - t->median_ns) * (ns[r] - t->median_ns) <
        (ns[med] - t->median_ns) * (ns[med] - t->median_ns))
      med = r;
  }
  t->ncounters = cc->nevents;
  for (int k = 0; k < cc->nevents; k++) t->counters[k] = cv[med][k] / iters;
}
