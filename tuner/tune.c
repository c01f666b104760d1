/* tuner/tune.c -- the first-cut planner: for each distinct layer problem of a network, time
 * every applicable variant the host can run and keep the fastest in the plan. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "machine/machine.h"
#include "tuner/tuner.h"

enum mbt_status mbt_tune(const struct mbt_machine *m, const struct mbt_model *model,
                         const struct mbt_tune_opts *o, struct mbt_plan *pl) {
  const double min_ms = o->min_ms > 0 ? o->min_ms : 1.0;
  const int reps = o->reps > 0 ? o->reps : 5;
  const struct mbt_counters *cc = mbt_counters_get();
  if (o->verbose && cc->nevents == 0)
    fprintf(stderr, "tune: %s\n", m->counters_note);
  if (mbt_topo_pin(0) != 0 && o->verbose)
    fprintf(stderr, "tune: could not pin the tuning thread (no hwloc); timings may be noisier\n");
  /* first[i]: layer i is the first with its problem key (later ones share its measurement) */
  int first[64] = {0}, distinct = 0, done = 0;
  for (int i = 0; i < model->nlayers && i < 64; i++) {
    char key[96], k2[96];
    mbt_layer_key(&model->layers[i], key, sizeof key);
    first[i] = 1;
    for (int j = 0; j < i && first[i]; j++) {
      mbt_layer_key(&model->layers[j], k2, sizeof k2);
      first[i] = strcmp(key, k2) != 0;
    }
    distinct += first[i];
  }
  for (int i = 0; i < model->nlayers && i < 64; i++) {
    const struct mbt_layer *l = &model->layers[i];
    char key[96];
    mbt_layer_key(l, key, sizeof key);
    if (!first[i] || (mbt_plan_find(pl, key) && !o->redo)) continue; /* measured already */
    done++;
    const struct mbt_variant *cand[32];
    const int n = mbt_registry_candidates(l, cand, 32);
    struct mbt_layer_bufs b;
    enum mbt_status st = mbt_layer_bufs_alloc(l, 0x5eed + (uint64_t)i, &b);
    if (st != MBT_OK) return st;
    struct mbt_choice c;
    memset(&c, 0, sizeof c);
    snprintf(c.key, sizeof c.key, "%s", key);
    struct mbt_timing best = {0}, t;
    for (int v = 0; v < n; v++) {
      struct mbt_exec x = b.x;
      float *packed;
      if ((st = mbt_variant_pack(cand[v], l, b.w, &packed)) != MBT_OK) break;
      mbt_exec_bind(&x, cand[v], packed);
      mbt_measure(cand[v], &x, 1, min_ms, reps, &t);
      mbt_free(packed);
      if (strncmp(cand[v]->name, "ref/", 4) == 0) c.ref_ns = t.median_ns;
      if (!c.variant[0] || t.median_ns < c.ns) {
        if (c.variant[0]) {
          snprintf(c.runner_up, sizeof c.runner_up, "%s", c.variant);
          c.runner_up_ns = c.ns;
        }
        snprintf(c.variant, sizeof c.variant, "%s", cand[v]->name);
        c.ns = t.median_ns;
        c.spread = (t.max_ns - t.min_ns) / t.median_ns;
        best = t;
      } else if (!c.runner_up[0] || t.median_ns < c.runner_up_ns) {
        snprintf(c.runner_up, sizeof c.runner_up, "%s", cand[v]->name);
        c.runner_up_ns = t.median_ns;
      }
    }
    mbt_layer_bufs_free(&b);
    if (st == MBT_OK) st = mbt_plan_put(pl, &c);
    if (st != MBT_OK) return st;
    if (o->verbose) {
      const double gflops = 2.0 * l->macs / c.ns;
      fprintf(stderr, "tune [%2d/%2d] %-10s %-48s %d variants, best %s  %.1f us  %.1f GFLOP/s"
                      "  (%.1fx ref)\n", done, distinct, l->name, key, n, c.variant, c.ns / 1e3,
              gflops, c.ref_ns > 0 ? c.ref_ns / c.ns : 0.0);
      if (best.ncounters)
        for (int k = 0; k < best.ncounters; k++)
          fprintf(stderr, "      %s = %lld per call\n", cc->events[k], best.counters[k]);
    }
    if (o->save_path) {
      st = mbt_plan_save(pl, m, o->save_path); /* keep every measurement made so far */
      if (st != MBT_OK) return st;
    }
  }
  return MBT_OK;
}
