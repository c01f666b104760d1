/* tuner/choice.c -- the planner's choices.  Each candidate's median over the passes is kept;
 * layers that share a problem key are scored by the sum of their medians.  A winner must beat
 * the runner-up beyond the noise, else the simpler one is kept and the tie recorded; every
 * candidate goes into the plan with its times, bound, counts and why it stopped being timed.
 * For pairs and blocks, the choice among strip heights; for MBT_ESTIMATE, the roofline's. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "tuner/tuner.h"

#define TIE MBT_TUNE_TIE

/* 1 when variant a is simpler than b: fewer block parameters and packed layouts, then the
 * lower static rank. */
static int simpler(const struct mbt_variant *a, const struct mbt_variant *b) {
  const int ca = (a->mc > 0) + (a->kc > 0) + (a->packer != NULL);
  const int cb = (b->mc > 0) + (b->kc > 0) + (b->packer != NULL);
  return ca != cb ? ca < cb : a->rank < b->rank;
}

/* The score of each candidate of the problem of layer @p i (the sum over its layers of their
 * medians) and its widest spread.  @return the layers with the key. */
static int score_key(const struct mbt_tuning *t, const struct mbt_layer_phase *ph, int i,
                     double *score, double *spread) {
  const int n = t->model->nlayers, np = ph->np;
  int users = 0;
  for (int k = i; k < n; k++) {
    if (strcmp(ph->keys[k], ph->keys[i]) != 0) continue;
    users++;
    for (int j = 0; j < ph->lc[i].n; j++) {
      const double *s = &ph->t[((size_t)k * MBT_TUNE_MAXC + (size_t)j) * t->passes];
      double lo = s[0], hi = s[0];
      for (int p = 1; p < np; p++) lo = s[p] < lo ? s[p] : lo, hi = s[p] > hi ? s[p] : hi;
      const double med = mbt_median(s, np);
      score[j] += med;
      spread[j] = (hi - lo) / med > spread[j] ? (hi - lo) / med : spread[j];
    }
  }
  return users;
}

/* The winner of layer @p i's problem (index), its runner-up (*second, -1: none), *tie. */
static int pick(const struct mbt_layer_phase *ph, int i, const double *score, int *second,
                int *tie) {
  const struct mbt_layer_cands *c = &ph->lc[i];
  int best = ph->best_warm[i];
  *second = -1;
  for (int j = 0; j < c->n; j++) {
    if (j == best || ph->drop[i][j]) continue;
    if (score[j] < score[best]) *second = best, best = j;
    else if (*second < 0 || score[j] < score[*second]) *second = j;
  }
  /* A winner must beat the runner-up beyond the noise; within it the simpler one is kept
   * (fewer block parameters and packing, then the lower static rank) and the tie recorded. */
  *tie = *second >= 0 && score[*second] <= (1.0 + TIE) * score[best];
  if (*tie && simpler(c->v[*second], c->v[best])) {
    const int b = best;
    best = *second, *second = b;
  }
  return best;
}

/* Candidate @p j's counts per run: over the layers with the key, the sum of the medians. */
static void cand_counts(const struct mbt_tuning *t, const struct mbt_layer_phase *ph, int i,
                        int j, int users, struct mbt_cand *cd) {
  const int n = t->model->nlayers, np = ph->np, nev = ph->nev;
  for (int e2 = 0; e2 < nev; e2++) {
    double sum = 0, v[64];
    const int nc = np < 64 ? np : 64;
    for (int k = i; k < n; k++) {
      if (strcmp(ph->keys[k], ph->keys[i]) != 0) continue;
      for (int p = 0; p < nc; p++)
        v[p] = ph->cn[((((size_t)k * MBT_TUNE_MAXC + (size_t)j) * t->passes) + p) * nev + e2];
      sum += mbt_median(v, nc);
    }
    cd->counts[e2] = (long long)(sum / users + 0.5);
  }
}

/* Every candidate of layer @p i's problem into @p c, with its times, bound and outcome. */
static void record_cands(const struct mbt_tuning *t, const struct mbt_layer_phase *ph, int i,
                         const double *score, const double *spread, int users,
                         struct mbt_choice *c) {
  const struct mbt_layer_cands *lc = &ph->lc[i];
  c->nevents = ph->nev;
  for (int k = 0; k < ph->nev; k++)
    snprintf(c->events[k], sizeof c->events[k], "%s", mbt_counters_get()->events[k]);
  for (int j = 0; j < lc->n + lc->ngone && c->ncand < MBT_MAX_CANDS; j++) {
    const int alive = j < lc->n;
    const struct mbt_cand_info *ci = alive ? &lc->info[j] : &lc->gone[j - lc->n];
    struct mbt_cand *cd = &c->cand[c->ncand++];
    snprintf(cd->variant, sizeof cd->variant, "%s", ci->v->name);
    cd->alone_ns = ci->alone_ns, cd->bound_ns = ci->bound_ns, cd->out = ci->out;
    if (!alive) continue;
    if (ph->drop[i][j]) { /* its warm-up run is all there is */
      double w = 0;
      for (int k = i; k < t->model->nlayers; k++)
        w += !strcmp(ph->keys[k], ph->keys[i]) ? ph->warm[k][j] : 0;
      cd->ns = w / users, cd->out = MBT_CAND_LIMIT;
      continue;
    }
    cd->ns = score[j] / users, cd->spread = spread[j];
    cand_counts(t, ph, i, j, users, cd);
  }
}

/* The choice for the problem of layer @p i (its first layer), with its runner-up. */
static void layer_choice(const struct mbt_tuning *t, const struct mbt_layer_phase *ph, int i,
                         struct mbt_choice *c, int *second) {
  double score[MBT_TUNE_MAXC] = {0}, spread[MBT_TUNE_MAXC] = {0};
  const struct mbt_tune_opts *o = t->o;
  const struct mbt_layer_cands *lc = &ph->lc[i];
  const int users = score_key(t, ph, i, score, spread);
  int tie;
  const int best = pick(ph, i, score, second, &tie);
  memset(c, 0, sizeof *c);
  c->effort = o->effort, c->cold = o->cold != 0;
  memcpy(c->key, ph->keys[i], sizeof c->key);
  c->tie = tie;
  snprintf(c->variant, sizeof c->variant, "%s", lc->v[best]->name);
  c->ns = score[best] / users;
  c->spread = spread[best];
  if (*second >= 0) {
    snprintf(c->runner_up, sizeof c->runner_up, "%s", lc->v[*second]->name);
    c->runner_up_ns = score[*second] / users;
  }
  c->ref_ns =
      o->quick || t->threads > 1 ? 0 : mbt_tune_ref_ns(&t->model->layers[i], lc->ref, i);
  record_cands(t, ph, i, score, spread, users, c);
}

enum mbt_status mbt_tune_choose_layers(struct mbt_tuning *t, struct mbt_layer_phase *ph) {
  const int n = t->model->nlayers;
  int done_keys = 0, distinct = 0;
  for (int i = 0; i < n; i++) distinct += ph->first[i];
  for (int i = 0; i < n && ph->np > 0; i++) {
    if (!ph->first[i]) continue;
    struct mbt_choice c;
    int second;
    layer_choice(t, ph, i, &c, &second);
    const enum mbt_status st = mbt_tune_put(t, &c);
    if (st != MBT_OK) return st;
    done_keys++;
    if (t->o->verbose) {
      const struct mbt_layer *l = &t->model->layers[i];
      fprintf(stderr, "tune [%2d/%2d] %-10s %-48s %2d+%d variants, best %s  %.1f us  %.1f GFLOP/s",
              done_keys, distinct, l->name, ph->keys[i], ph->lc[i].n, ph->lc[i].pruned, c.variant,
              c.ns / 1e3, 2.0 * l->macs / c.ns);
      if (ph->lc[i].roof_pruned) fprintf(stderr, "  [%d by the roofline]", ph->lc[i].roof_pruned);
      if (second >= 0) fprintf(stderr, "  (next %.2fx", c.runner_up_ns / c.ns);
      if (c.ref_ns > 0) fprintf(stderr, "%s%.1fx ref", second >= 0 ? ", " : "  (", c.ref_ns / c.ns);
      fprintf(stderr, "%s\n", second >= 0 || c.ref_ns > 0 ? ")" : "");
    }
  }
  if (t->o->verbose)
    fprintf(stderr, "tune: %d network runs x %d passes in %.1f s, timed inside the network "
                    "(N+M variants: N timed there, M pruned as %.1fx slower alone, or not run "
                    "where the roofline bound cannot beat the fastest)\n",
            ph->maxn, t->passes + 1, (mbt_now_ns() - ph->t_start) / 1e9, MBT_TUNE_PRUNE);
  return MBT_OK;
}

/* Record the strip heights tried for a pair or block (score: per use, ns) as its candidates. */
static void rows_cands(const struct mbt_tuning *t, struct mbt_choice *c, const double *score,
                       int users, int oh) {
  for (int j = 0; j < t->nfuse && c->ncand < MBT_MAX_CANDS; j++) {
    if (t->fuse_rows[j] > oh) continue;
    struct mbt_cand *cd = &c->cand[c->ncand++];
    mbt_rows_name(t->fuse_rows[j], cd->variant, sizeof cd->variant);
    cd->ns = score[j] / users;
  }
}

/* The fastest height, taken only when it beats apart beyond TIE, and the runner-up, as a plan
 * choice that records every height tried. */
int mbt_tune_strip_choice(const struct mbt_tuning *t, const char *key, const double *score,
                          int users, int oh, struct mbt_choice *c) {
  const int *rows = t->fuse_rows;
  int best = 0, second = -1;
  for (int j = 1; j < t->nfuse; j++) {
    if (rows[j] > oh) continue;
    if (score[j] < score[best]) second = best, best = j;
    else if (second < 0 || score[j] < score[second]) second = j;
  }
  if (best && score[best] > (1.0 - TIE) * score[0]) second = best, best = 0; /* within noise */
  memset(c, 0, sizeof *c);
  c->effort = t->o->effort, c->cold = t->o->cold != 0;
  snprintf(c->key, sizeof c->key, "%s", key);
  mbt_rows_name(rows[best], c->variant, sizeof c->variant);
  c->ns = score[best] / users;
  if (second >= 0) {
    mbt_rows_name(rows[second], c->runner_up, sizeof c->runner_up);
    c->runner_up_ns = score[second] / users;
  }
  c->ref_ns = score[0] / users; /* the layers as they ran apart: what fusion must beat */
  rows_cands(t, c, score, users, oh);
  return best;
}

/* MBT_ESTIMATE: runs nothing.  Each layer gets its best-ranked variant (the registry's static
 * preference: widest ISA, register-tiled) and, as its time, the roofline bound inside the
 * network (FLOPs over the attainable rate, or bytes over the bandwidth for a layer without
 * FLOPs).  Fusion is not estimated: a later measure decides it. */
enum mbt_status mbt_tune_estimate(struct mbt_tuning *t, const struct mbt_layer_phase *ph) {
  const struct mbt_tune_opts *o = t->o;
  const struct mbt_model *model = t->model;
  if (!o->profile)
    return mbt_fail(MBT_ENOTFOUND, "the estimate effort needs a machine profile: run "
                                   "'mobitune roofline' first");
  enum mbt_status st = MBT_OK;
  for (int i = 0; i < model->nlayers && st == MBT_OK; i++) {
    if (!ph->first[i]) continue;
    struct mbt_place pc;
    mbt_roofline_place(o->profile, model, i, t->threads, &pc);
    struct mbt_choice c;
    memset(&c, 0, sizeof c);
    c.effort = MBT_ESTIMATE;
    memcpy(c.key, ph->keys[i], sizeof c.key);
    snprintf(c.variant, sizeof c.variant, "%s", ph->lc[i].v[0]->name);
    c.ns = pc.net_attainable > 0 ? pc.flops / pc.net_attainable
           : pc.bw > 0 ? model->layers[i].bytes / pc.bw : 1;
    if (!(isfinite(c.ns) && c.ns > 0 && c.ns <= MBT_PLAN_NS_MAX))
      return mbt_fail(MBT_EINVAL, "the profile's roofline gives layer %s a time of %g ns, not in "
                      "(0, %g]: no entry written (is the profile sane? run 'mobitune roofline')",
                      model->layers[i].name, c.ns, MBT_PLAN_NS_MAX);
    st = mbt_plan_put(t->pl, &c);
    if (o->verbose)
      fprintf(stderr, "tune estimate %-10s %-48s %s  %.1f us (roofline)\n", model->layers[i].name,
              ph->keys[i], c.variant, c.ns / 1e3);
  }
  if (st == MBT_OK && o->save_path) st = mbt_plan_store(t->pl, t->m, o->save_path, 0);
  return st;
}
