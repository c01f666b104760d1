/* tuner/tune.c -- the planner: every applicable variant of every distinct layer problem is
 * timed where it will run, inside the network.  The whole network runs repeatedly; in round j
 * each layer being tuned runs its j-th candidate, and every layer's own time is recorded, so one
 * network run times a candidate for every layer at once, with the caches in the state the
 * previous layers leave them (weights of deep layers arriving from memory, activations from the
 * layer before).  Rounds are interleaved (every candidate once per pass), which spreads the
 * machine's noise evenly, and each candidate's median over the passes is kept.  Layers that
 * share a problem key are scored by the sum of their medians.  The reference kernel is timed
 * once in isolation, only to report the speed-up over it. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "machine/machine.h"
#include "net/net.h"
#include "tuner/tuner.h"

#define MAXL MBT_MAX_LAYERS
#define MAXC 32

/* What the tuner knows of one candidate besides its in-network times (kept in the plan). */
struct cand_info {
  const struct mbt_variant *v;
  int out;          /* enum mbt_cand_out */
  double alone_ns;  /* isolated screen time (0 = not screened) */
  double bound_ns;  /* roofline lower bound at the tuning thread count (0 = no profile) */
};

struct layer_cands {
  int todo;                          /* 1 when this layer's key is being tuned */
  int n;                             /* candidates (reference excluded) */
  const struct mbt_variant *v[MAXC];
  struct cand_info info[MAXC];       /* of v[j] */
  int ngone;                         /* candidates dropped before the network runs */
  struct cand_info gone[MAXC];
  const struct mbt_variant *ref;
  int pruned;                        /* candidates dropped by the isolated pre-screen */
  int roof_pruned;                   /* of those, dropped by the roofline bound untimed */
};

/* The roofline's lower bound on the time of variant @p v on layer @p l at @p threads threads:
 * max(FLOPs / the best compute ceiling its code can reach, compulsory bytes / the L1 read
 * bandwidth).  Its code can reach the ceilings of its own ISA and the narrower ones, and the
 * baseline SIMD the compiler may vectorize plain C to (SSE on x86-64, NEON on aarch64), FMA,
 * mul+add and FMA+add mixes alike.  0 when the profile has no ceiling at that thread count. */
static double roof_bound_ns(const struct mbt_profile *p, const struct mbt_layer *l,
                            const struct mbt_variant *v, int threads) {
  if (!p) return 0;
  uint32_t top = MBT_ISA_SCALAR;
  for (uint32_t b = 1; b && b <= v->isa; b <<= 1)
    if (v->isa & b) top = b;
  double peak = 0;
  for (int k = 0; k < p->npeaks; k++) {
    const struct mbt_peak *pk = &p->peaks[k];
    if (pk->threads != threads) continue;
    const char *isa = pk->isa;
    const int reach = !strcmp(isa, "scalar") || !strcmp(isa, "sse") || !strcmp(isa, "neon") ||
                      (!strcmp(isa, "avx2") && top >= MBT_ISA_AVX2 && top != MBT_ISA_NEON) ||
                      (!strcmp(isa, "avx512f") && top == MBT_ISA_AVX512F);
    if (reach && pk->gflops.best > peak) peak = pk->gflops.best;
  }
  if (peak <= 0) return 0;
  double ns = 2.0 * l->macs / peak; /* GFLOP/s = FLOP/ns */
  if (p->nlevels > 0) {
    const int col = threads == 1 ? 0 : threads == p->threads ? 1 : -1;
    const double bw = col >= 0 ? p->levels[0].bw[MBT_BW_READ][col].best : 0;
    if (bw > 0 && l->bytes / bw > ns) ns = l->bytes / bw;
  }
  return ns;
}

/* Prune by a quick isolated timing: candidates more than PRUNE times slower than the fastest
 * one on their own cannot win inside the network, and timing them there would cost a network
 * run each (a scalar 1x1 layer alone can take longer than the whole tuned network).  With a
 * machine profile, candidates are screened in the order of their roofline bounds, and one whose
 * bound already exceeds the fastest time found is not run at all: it cannot win. */
#define PRUNE 2.5
static void prune(const struct mbt_layer *l, struct layer_cands *c, int i,
                  const struct mbt_profile *prof) {
  struct mbt_layer_bufs b;
  if (c->n < 2 || mbt_layer_bufs_alloc(l, 0x9e3 + (uint64_t)i, &b) != MBT_OK) return;
  double ns[MAXC], bound1[MAXC], best = 0;
  int order[MAXC];
  for (int j = 0; j < c->n; j++) {
    bound1[j] = roof_bound_ns(prof, l, c->v[j], 1); /* the screen runs on one thread */
    int k = j; /* insertion sort by bound; equal bounds keep the registry's order */
    while (k > 0 && bound1[order[k - 1]] > bound1[j]) order[k] = order[k - 1], k--;
    order[k] = j;
  }
  for (int o = 0; o < c->n; o++) {
    const int j = order[o];
    struct mbt_exec x = b.x;
    float *packed;
    ns[j] = 0;
    if (best > 0 && bound1[j] > best) {
      c->info[j].out = MBT_CAND_ROOFLINE;
      continue;
    }
    if (mbt_variant_pack(c->v[j], &x.s, b.w, &packed) != MBT_OK) continue;
    mbt_exec_bind(&x, c->v[j], packed);
    struct mbt_timing t;
    mbt_measure(c->v[j], &x, 1, 0.2, 3, &t);
    mbt_free(packed);
    ns[j] = c->info[j].alone_ns = t.median_ns;
    if (best == 0 || ns[j] < best) best = ns[j];
  }
  int k = 0;
  for (int j = 0; j < c->n; j++) {
    if (ns[j] > 0 && ns[j] <= PRUNE * best) {
      c->info[k] = c->info[j];
      c->v[k++] = c->v[j];
      continue;
    }
    if (c->info[j].out == MBT_CAND_TIMED) c->info[j].out = MBT_CAND_SCREEN;
    c->roof_pruned += c->info[j].out == MBT_CAND_ROOFLINE;
    if (c->ngone < MAXC) c->gone[c->ngone++] = c->info[j];
  }
  c->pruned = c->n - k;
  c->n = k;
  mbt_layer_bufs_free(&b);
}

/* Time the reference once in isolation (it is 10-100x slower than anything else). */
static double ref_time(const struct mbt_layer *l, const struct mbt_variant *ref, int i) {
  struct mbt_layer_bufs b;
  if (!ref || mbt_layer_bufs_alloc(l, 0x5eed + (uint64_t)i, &b) != MBT_OK) return 0;
  struct mbt_timing t;
  mbt_measure(ref, &b.x, 1, 0.0, 1, &t);
  mbt_layer_bufs_free(&b);
  return t.median_ns;
}

/* The per-candidate time limit inside the network: slower than this factor x the fastest
 * candidate of the problem in the warm-up pass, a candidate is not timed again. */
#define LIMIT 10.0

/* Fusion is taken only when it saves more than this fraction; a smaller gain is within the
 * noise of this machine, and the layers apart are the simpler plan. */
#define TIE 0.02

/* Cold caches: stream a buffer of twice the last-level cache (read and write) so that what the
 * next run touches comes from DRAM. */
static volatile float cold_sink;
static float *cold; /* the flush buffer of a cold tuning (NULL: warm, the default) */
static size_t ncold;
static void flush_caches(float *buf, size_t n) {
  if (!buf) return;
  float s = 0;
  for (size_t i = 0; i < n; i += 16) s += buf[i]++;
  cold_sink = s;
}

/* 1 when variant a is simpler than b: fewer block parameters and packed layouts, then the
 * lower static rank. */
static int simpler(const struct mbt_variant *a, const struct mbt_variant *b) {
  const int ca = (a->mc > 0) + (a->kc > 0) + (a->packer != NULL);
  const int cb = (b->mc > 0) + (b->kc > 0) + (b->packer != NULL);
  return ca != cb ? ca < cb : a->rank < b->rank;
}

/* Set by mbt_tune_interrupt (a SIGINT handler may call it): the tuner stops at the next
 * network run, keeps every measurement made so far and returns MBT_EINTR. */
static volatile sig_atomic_t interrupted;
void mbt_tune_interrupt(void) { interrupted = 1; }

/* Before each pass: is every core of the tuning team free?  Another process on one of its
 * cores (this VM's other tenant, a build) slows the whole team, and a pass would time that
 * load rather than the kernels.  The tuner waits for it to pass, within a budget
 * for the whole tuning; a pass that runs busy all the same is counted, and the tuner says so
 * at the end. */
#define BUSY_SHARE 0.8 /* below this mbt_team_share, the machine is busy */
static double wait_left_ns; /* waiting budget left in this tuning */
static int busy_passes, team_passes;
static double busy_worst;
static int busy_cpu = -1;   /* the CPU another process held most often */
static int busy_hits[MBT_LOAD_MAX];
static int repeats_left;    /* disturbed passes that may still be repeated in this tuning */
static int repeats_done;
static int forced_busy;      /* 1: too busy, kept by --force */

static void settle(int threads, int verbose) {
  team_passes++;
  double s = mbt_team_share(threads);
  if (s >= BUSY_SHARE) return;
  if (verbose && wait_left_ns > 0)
    fprintf(stderr, "tune: the machine is busy (a tuning thread runs at %.0f%% of its free "
            "speed): waiting up to %.1f s for it\n", 100 * s, wait_left_ns / 1e9);
  while (s < BUSY_SHARE && wait_left_ns > 0 && !interrupted) {
    const double t0 = mbt_now_ns();
    const struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
    s = mbt_team_share(threads);
    wait_left_ns -= mbt_now_ns() - t0;
  }
  (void)s; /* a pass that runs busy all the same is caught by pass_disturbed */
}

/* After a pass: did a tuning thread have less than PASS_SHARE of its CPU while it ran (its CPU
 * time over the wall time: another process held that CPU)?  Such a pass measured the load, not
 * the kernels: @return 1 when it is to be repeated (within a budget for the whole tuning, said
 * even with --quiet), 0 when it stands (counted as busy when it was disturbed). */
#define PASS_SHARE 0.90
static double pass_ns, busy_ns; /* time of the passes that count, and of those that ran busy */
static int pass_disturbed(struct mbt_load *lp, const char *phase, int pass, int passes) {
  const double s = mbt_load_end(lp), wall = mbt_now_ns() - lp->wall0;
  if (s >= PASS_SHARE) {
    pass_ns += wall;
    return 0;
  }
  if (lp->cpu >= 0 && lp->cpu < MBT_LOAD_MAX && ++busy_hits[lp->cpu] > (busy_cpu >= 0 ? busy_hits[busy_cpu] : 0))
    busy_cpu = lp->cpu;
  busy_worst = s < busy_worst ? s : busy_worst;
  if (repeats_left > 0 && !interrupted) {
    repeats_left--, repeats_done++;
    fprintf(stderr, "tune: %s pass %d/%d ran while another process held CPU %d (tuning thread "
            "%d had %.0f%% of it): repeating it (%d repeat%s left)\n", phase, pass + 1, passes,
            lp->cpu, lp->busiest, 100 * s, repeats_left, repeats_left == 1 ? "" : "s");
    return 1;
  }
  busy_passes++;
  pass_ns += wall, busy_ns += wall;
  return 0;
}

/* Keys this tuning put into the plan (to mark them when it was forced on a busy machine). */
static char (*put_keys)[96];
static int nput, put_cap;
static enum mbt_status put(struct mbt_plan *pl, const struct mbt_choice *c) {
  if (nput == put_cap) {
    const int cap = put_cap ? 2 * put_cap : 64;
    char (*k)[96] = realloc(put_keys, (size_t)cap * sizeof *k);
    if (!k) return mbt_fail(MBT_ENOMEM, "cannot grow the tuner's key list");
    put_keys = k, put_cap = cap;
  }
  memcpy(put_keys[nput++], c->key, sizeof put_keys[0]);
  return mbt_plan_put(pl, c);
}

/* Strip heights tried for fusion (0 = the two layers apart). */
static const int rows_measure[] = {0, 1, 2, 4, 8}, rows_exhaustive[] = {0, 1, 2, 3, 4, 6, 8, 14};
#define MAXFUSE 8
static const int *fuse_rows = rows_measure; /* set per tuning from its effort */
static int nfuse = 5;

static void rows_name(int rows, char *buf, size_t n) {
  if (rows) snprintf(buf, n, "fused[rows=%d]", rows);
  else snprintf(buf, n, "unfused");
}

/* Record the strip heights tried for a pair or block (score: per use, ns) as its candidates. */
static void rows_cands(struct mbt_choice *c, const double *score, int users, int oh) {
  for (int j = 0; j < nfuse && c->ncand < MBT_MAX_CANDS; j++) {
    if (fuse_rows[j] > oh) continue;
    struct mbt_cand *cd = &c->cand[c->ncand++];
    rows_name(fuse_rows[j], cd->variant, sizeof cd->variant);
    cd->ns = score[j] / users;
  }
}

/* The decision among strip heights for a pair or block (score[j]: time per use with
 * fuse_rows[j] rows, 0 = apart; heights over @p oh are not tried): the fastest, taken only when
 * it beats apart beyond TIE, and the runner-up, as a plan choice that records every height
 * tried.  @return the index of the height chosen. */
static int strip_choice(const char *key, const double *score, int users, int oh,
                        const struct mbt_tune_opts *o, struct mbt_choice *c) {
  int best = 0, second = -1;
  for (int j = 1; j < nfuse; j++) {
    if (fuse_rows[j] > oh) continue;
    if (score[j] < score[best]) second = best, best = j;
    else if (second < 0 || score[j] < score[second]) second = j;
  }
  if (best && score[best] > (1.0 - TIE) * score[0]) second = best, best = 0; /* within noise */
  memset(c, 0, sizeof *c);
  c->effort = o->effort, c->cold = o->cold != 0;
  snprintf(c->key, sizeof c->key, "%s", key);
  rows_name(fuse_rows[best], c->variant, sizeof c->variant);
  c->ns = score[best] / users;
  if (second >= 0) {
    rows_name(fuse_rows[second], c->runner_up, sizeof c->runner_up);
    c->runner_up_ns = score[second] / users;
  }
  c->ref_ns = score[0] / users; /* the layers as they ran apart: what fusion must beat */
  rows_cands(c, score, users, oh);
  return best;
}

/* 1 when @p key must be measured: no entry, one made at a lower effort, or --redo. */
static int need(const struct mbt_plan *pl, const char *key, const struct mbt_tune_opts *o) {
  const struct mbt_choice *c = mbt_plan_find(pl, key);
  return o->redo || !c || c->effort < o->effort || c->cold != (o->cold != 0);
}

static enum mbt_status tune_fusion(mbt_engine_t e, const struct mbt_model *model,
                                   const struct mbt_tune_opts *o, struct mbt_plan *pl,
                                   int passes, const float *in, int threads) {
  const int n = model->nlayers;
  static char pkey[MAXL][96];
  int todo[MAXL] = {0}, any = 0;
  for (int i = 0; i + 1 < n; i++) {
    if (!mbt_pair_fusable(model, i)) continue;
    char k[96];
    mbt_pair_key(&model->layers[i], &model->layers[i + 1], k, sizeof k);
    mbt_key_threads(k, threads, pkey[i], sizeof pkey[i]);
    todo[i] = need(pl, pkey[i], o);
    any |= todo[i];
  }
  if (!any) return MBT_OK;
  double *t = calloc((size_t)n * nfuse * (size_t)passes, sizeof *t);
  if (!t) return mbt_fail(MBT_ENOMEM, "cannot allocate the fusion timings");
  enum mbt_status st = MBT_OK;
  for (int pass = -1; pass < passes && st == MBT_OK; pass++) {
    settle(threads, o->verbose);
    struct mbt_load lp;
    mbt_load_begin(&lp, threads);
    for (int j = 0; j < nfuse && st == MBT_OK; j++) {
      for (int i = 0; i < n && st == MBT_OK; i++)
        if (todo[i]) st = mbt_engine_fuse(e, i, fuse_rows[j] <= model->layers[i].oh ? fuse_rows[j] : 0);
      flush_caches(cold, ncold);
      mbt_engine_run(e, in);
      for (int i = 0; pass >= 0 && i < n; i++)
        if (todo[i])
          t[((size_t)i * nfuse + (size_t)j) * passes + pass] =
              mbt_engine_layer_ns(e, i) + mbt_engine_layer_ns(e, i + 1);
      if (interrupted) { /* a partial pass decides nothing */
        free(t);
        return st;
      }
    }
    if (pass >= 0 && pass_disturbed(&lp, "fusion", pass, passes)) pass--;
  }
  for (int i = 0; i < n && st == MBT_OK; i++) {
    int first = todo[i];
    for (int k = 0; k < i && first; k++) first = !todo[k] || strcmp(pkey[k], pkey[i]) != 0;
    if (!first) continue;
    double score[MAXFUSE] = {0};
    int users = 0;
    for (int k = i; k < n; k++)
      if (todo[k] && !strcmp(pkey[k], pkey[i])) {
        users++;
        for (int j = 0; j < nfuse; j++)
          score[j] += mbt_median(&t[((size_t)k * nfuse + (size_t)j) * passes], passes);
      }
    struct mbt_choice c;
    const int best = strip_choice(pkey[i], score, users, model->layers[i].oh, o, &c);
    st = put(pl, &c);
    if (o->verbose)
      fprintf(stderr, "tune fuse %-6s+%-6s %-10s %.1f us, apart %.1f us (%.2fx)\n",
              model->layers[i].name, model->layers[i + 1].name, c.variant, c.ns / 1e3,
              score[0] / users / 1e3, score[0] / score[best]);
  }
  free(t);
  return st;
}


/* Phase 3: blocks (pointwise -> depthwise -> pointwise in strips), one problem key at a time
 * with every earlier decision in place, so a block is judged against its layers as they run
 * now (the pair fused or not) and against the blocks it overlaps.  Score: the sum of the
 * three layers' times over every block with the key (median over interleaved passes). */
static enum mbt_status tune_blocks(mbt_engine_t e, const struct mbt_model *model,
                                   const struct mbt_tune_opts *o, struct mbt_plan *pl,
                                   int passes, const float *in, int threads) {
  const int n = model->nlayers;
  static char bkey[MAXL][96];
  int todo[MAXL] = {0};
  for (int i = 0; i + 2 < n; i++) {
    if (!mbt_block_fusable(model, i)) continue;
    char k[96];
    mbt_block_key(&model->layers[i], &model->layers[i + 1], &model->layers[i + 2], k, sizeof k);
    mbt_key_threads(k, threads, bkey[i], sizeof bkey[i]);
    todo[i] = need(pl, bkey[i], o);
  }
  double *t = calloc((size_t)nfuse * (size_t)passes, sizeof *t);
  if (!t) return mbt_fail(MBT_ENOMEM, "cannot allocate the block timings");
  enum mbt_status st = MBT_OK;
  for (int i = 0; i < n && st == MBT_OK; i++) {
    int first = todo[i];
    for (int k = 0; k < i && first; k++) first = !todo[k] || strcmp(bkey[k], bkey[i]) != 0;
    if (!first) continue;
    const int oh = model->layers[i + 1].oh;
    for (int pass = -1; pass < passes && st == MBT_OK && !interrupted; pass++) {
      settle(threads, o->verbose);
      struct mbt_load lp;
      mbt_load_begin(&lp, threads);
      for (int j = 0; j < nfuse && st == MBT_OK; j++) {
        if (fuse_rows[j] > oh) continue;
        for (int k = i; k < n && st == MBT_OK; k++)
          if (todo[k] && !strcmp(bkey[k], bkey[i])) st = mbt_engine_block(e, k, fuse_rows[j]);
        flush_caches(cold, ncold);
        mbt_engine_run(e, in);
        double sum = 0;
        for (int k = i; k < n; k++)
          if (todo[k] && !strcmp(bkey[k], bkey[i]))
            sum += mbt_engine_layer_ns(e, k) + mbt_engine_layer_ns(e, k + 1) +
                   mbt_engine_layer_ns(e, k + 2);
        if (pass >= 0) t[(size_t)j * passes + pass] = sum;
      }
      if (pass >= 0 && pass_disturbed(&lp, "block", pass, passes)) pass--;
    }
    if (interrupted) break; /* decided blocks stay; this one is not measured in full */
    int users = 0;
    double score[MAXFUSE];
    for (int j = 0; j < nfuse; j++) score[j] = mbt_median(&t[(size_t)j * passes], passes);
    for (int k = i; k < n; k++) users += todo[k] && !strcmp(bkey[k], bkey[i]);
    /* the three layers as they ran before (pairs decided) are what a block must beat */
    struct mbt_choice c;
    const int best = strip_choice(bkey[i], score, users, oh, o, &c);
    for (int k = i; k < n && st == MBT_OK; k++)
      if (todo[k] && !strcmp(bkey[k], bkey[i]))
        st = mbt_engine_block(e, k, fuse_rows[best]); /* later keys see this decision */
    if (st == MBT_OK) st = put(pl, &c);
    if (o->verbose)
      fprintf(stderr, "tune block %s+%s+%s %-14s %.1f us, as before %.1f us (%.2fx)\n",
              model->layers[i].name, model->layers[i + 1].name, model->layers[i + 2].name,
              c.variant, c.ns / 1e3, c.ref_ns / 1e3, score[0] / score[best]);
  }
  free(t);
  return st;
}

/* MBT_ESTIMATE: runs nothing.  Each layer gets its best-ranked variant (the registry's static
 * preference: widest ISA, register-tiled) and, as its time, the roofline bound inside the
 * network (FLOPs over the attainable rate, or bytes over the bandwidth for a layer without
 * FLOPs).  Fusion is not estimated: a later measure decides it. */
static enum mbt_status estimate(const struct mbt_machine *m, const struct mbt_model *model,
                                const struct mbt_tune_opts *o,
                                struct mbt_plan *pl, const struct layer_cands *lc,
                                char (*keys)[96], const int *first, int threads) {
  if (!o->profile)
    return mbt_fail(MBT_ENOTFOUND, "the estimate effort needs a machine profile: run "
                                   "'mobitune roofline' first");
  enum mbt_status st = MBT_OK;
  for (int i = 0; i < model->nlayers && st == MBT_OK; i++) {
    if (!first[i]) continue;
    struct mbt_place pc;
    mbt_roofline_place(o->profile, model, i, threads, &pc);
    struct mbt_choice c;
    memset(&c, 0, sizeof c);
    c.effort = MBT_ESTIMATE;
    memcpy(c.key, keys[i], sizeof c.key);
    snprintf(c.variant, sizeof c.variant, "%s", lc[i].v[0]->name);
    c.ns = pc.net_attainable > 0 ? pc.flops / pc.net_attainable
           : pc.bw > 0 ? model->layers[i].bytes / pc.bw : 1;
    if (!(isfinite(c.ns) && c.ns > 0 && c.ns <= MBT_PLAN_NS_MAX))
      return mbt_fail(MBT_EINVAL, "the profile's roofline gives layer %s a time of %g ns, not in "
                      "(0, %g]: no entry written (is the profile sane? run 'mobitune roofline')",
                      model->layers[i].name, c.ns, MBT_PLAN_NS_MAX);
    st = mbt_plan_put(pl, &c);
    if (o->verbose)
      fprintf(stderr, "tune estimate %-10s %-48s %s  %.1f us (roofline)\n", model->layers[i].name,
              keys[i], c.variant, c.ns / 1e3);
  }
  if (st == MBT_OK && o->save_path) st = mbt_plan_store(pl, m, o->save_path, 0);
  return st;
}

/* 1 when a fusable pair or block of @p model has no plan entry at @p threads (an interrupted
 * tuning stores its layers before it decides fusion). */
static int groups_todo(const struct mbt_model *model, const struct mbt_plan *pl, int threads,
                       const struct mbt_tune_opts *o) {
  for (int i = 0; i + 1 < model->nlayers; i++) {
    char k[96], kt[96];
    const struct mbt_layer *l = model->layers;
    if (mbt_pair_fusable(model, i)) {
      mbt_pair_key(&l[i], &l[i + 1], k, sizeof k);
      mbt_key_threads(k, threads, kt, sizeof kt);
      if (need(pl, kt, o)) return 1;
    }
    if (mbt_block_fusable(model, i)) {
      mbt_block_key(&l[i], &l[i + 1], &l[i + 2], k, sizeof k);
      mbt_key_threads(k, threads, kt, sizeof kt);
      if (need(pl, kt, o)) return 1;
    }
  }
  return 0;
}

/* After the passes: a tuning whose passes ran disturbed (after their repeats) for more than a
 * quarter of their time measured the load; without --force nothing of it may be stored (MBT_EBUSY),
 * with it every entry it made is marked busy.  Fewer disturbed passes are said (medians over
 * the passes outvote them).  Said even with --quiet. */
static enum mbt_status busy_verdict(const struct mbt_tune_opts *o, struct mbt_plan *pl, int threads) {
  if (busy_passes == 0) {
    if (repeats_done > 0)
      fprintf(stderr, "tune: %d disturbed pass%s repeated; every pass that counts ran undisturbed\n",
              repeats_done, repeats_done > 1 ? "es" : "");
    return MBT_OK;
  }
  const int too_busy = 4 * busy_ns > pass_ns;
  forced_busy = too_busy;
  if (too_busy && !o->force)
    return mbt_fail(MBT_EBUSY, "another process held CPU %d during %d of %d passes on %d "
                    "thread(s) (%.0f%% of their time), even after %d repeats (a tuning thread had "
                    "%.0f%% of its CPU at worst); nothing was stored: tune again when it is "
                    "quiet, or with --force to keep choices marked as measured under load",
                    busy_cpu, busy_passes, team_passes, threads, 100 * busy_ns / pass_ns,
                    repeats_done, 100 * busy_worst);
  fprintf(stderr, "tune: warning: %d of %d passes on %d thread(s) ran while another process held "
          "CPU %d (a tuning thread had %.0f%% of its CPU at worst)%s\n", busy_passes,
          team_passes, threads, busy_cpu, 100 * busy_worst,
          too_busy ? "; forced: every choice made is marked busy in the plan; tune again with "
                     "--redo when it is quiet" : "; the medians over the passes outvote them");
  for (int k = 0; too_busy && k < nput; k++) {
    const struct mbt_choice *c = mbt_plan_find(pl, put_keys[k]);
    if (c) ((struct mbt_choice *)c)->busy = 1;
  }
  return MBT_OK;
}

void mbt_check_print(const struct mbt_check *c, FILE *out) {
  fprintf(out, "check (%s, %d interleaved rounds): tuned %.3f ms, default %.3f ms (%.2fx)",
          c->key, c->rounds, c->tuned_ns / 1e6, c->default_ns / 1e6,
          c->tuned_ns > 0 ? c->default_ns / c->tuned_ns : 0);
  if (c->fixed[0])
    fprintf(out, ", best fixed %s %.3f ms (%.2fx)", c->fixed, c->fixed_ns / 1e6,
            c->tuned_ns > 0 ? c->fixed_ns / c->tuned_ns : 0);
  fprintf(out, ": %s", c->outcome == MBT_CHECK_FASTER ? "the tuned plan is not slower"
                       : c->outcome == MBT_CHECK_FALLBACK ? "slower choices were put back to the default"
                                                          : "STILL SLOWER than the default");
  if (c->fallbacks) fprintf(out, " (%d fallback%s)", c->fallbacks, c->fallbacks > 1 ? "s" : "");
  if (c->busy_passes) fprintf(out, "; %d of %d passes ran busy", c->busy_passes, c->passes);
  fprintf(out, "\n");
}

enum mbt_status mbt_tune(const struct mbt_machine *m, const struct mbt_model *model,
                         const struct mbt_tune_opts *o, struct mbt_plan *pl) {
  static const int effort_passes[] = {0, 7, 11, 15};
  const int effort = o->effort >= MBT_ESTIMATE && o->effort <= MBT_EXHAUSTIVE ? o->effort : MBT_MEASURE;
  const int passes = o->reps > 0 ? o->reps : effort_passes[effort > 0 ? effort : 1];
  const int n = model->nlayers;
  fuse_rows = effort == MBT_EXHAUSTIVE ? rows_exhaustive : rows_measure;
  nfuse = effort == MBT_EXHAUSTIVE ? 8 : 5;
  const double t_begin = mbt_now_ns();
  const int threads = o->threads > 1 ? o->threads : 1;
  if (n > MAXL) return mbt_fail(MBT_EUNSUPPORTED, "more than %d layers", MAXL);
  interrupted = 0;
  if (o->verbose && mbt_counters_get()->nevents == 0) fprintf(stderr, "tune: %s\n", m->counters_note);
  if (mbt_pin_threads(threads) != MBT_OK && o->verbose)
    fprintf(stderr, "tune: could not pin the tuning threads; timings may be noisier\n");
  wait_left_ns = (o->quick ? 1.0 : 10.0) * 1e9;
  busy_passes = team_passes = repeats_done = 0;
  repeats_left = passes; /* up to twice the passes in all */
  busy_worst = 1, busy_cpu = -1, forced_busy = 0;
  memset(busy_hits, 0, sizeof busy_hits);
  pass_ns = busy_ns = 0;
  nput = 0;

  static struct layer_cands lc[MAXL];
  static char keys[MAXL][96];
  int first[MAXL]; /* layer i is tuned, and the first with its key (later ones share it) */
  int maxn = 0, ntodo = 0;
  for (int i = 0; i < n; i++) {
    const struct mbt_layer *l = &model->layers[i];
    char k[96];
    mbt_layer_key(l, k, sizeof k);
    mbt_key_threads(k, threads, keys[i], sizeof keys[i]);
    memset(&lc[i], 0, sizeof lc[i]);
    lc[i].todo = need(pl, keys[i], o);
    const struct mbt_variant *all[MAXC];
    const struct mbt_kshape ks = mbt_layer_kshape(l);
    const int na = mbt_registry_candidates(&ks, all, MAXC);
    for (int k = 0; k < na; k++) {
      if (strncmp(all[k]->name, "ref/", 4) == 0) {
        lc[i].ref = all[k];
        continue;
      }
      lc[i].info[lc[i].n].v = all[k];
      lc[i].info[lc[i].n].bound_ns = roof_bound_ns(o->profile, l, all[k], threads);
      lc[i].v[lc[i].n++] = all[k];
    }
    if (lc[i].n == 0) lc[i].todo = 0; /* only the reference: nothing to choose */
    first[i] = lc[i].todo && !mbt_layer_repeats(model, i);
    if (first[i] && effort == MBT_MEASURE) prune(l, &lc[i], i, o->profile); /* patient: none */
    else if (lc[i].todo) /* same problem as an earlier layer: same surviving candidates */
      for (int k = 0; k < i; k++)
        if (!strcmp(keys[k], keys[i])) {
          lc[i] = lc[k];
          break;
        }
    if (lc[i].todo && lc[i].n > maxn) maxn = lc[i].n;
    ntodo += lc[i].todo;
  }
  if (ntodo == 0 && !groups_todo(model, pl, threads, o)) return MBT_OK;
  if (effort == MBT_ESTIMATE) return estimate(m, model, o, pl, lc, keys, first, threads);

  mbt_engine_t e;
  enum mbt_status st = mbt_engine_create(model, pl, NULL, 1, &e);
  if (st != MBT_OK) return st;
  mbt_engine_set_threads(e, threads);
  float *in = mbt_alloc((size_t)model->res * model->res, 3 * sizeof(float));
  double *t = calloc((size_t)n * MAXC * (size_t)passes, sizeof *t);
  /* Counters around every layer of every timed run, when the component has events: the
   * counts of candidate j of layer i in pass p are cn[((i * MAXC + j) * passes + p) * nev]. */
  const int nev = mbt_engine_count(e, 1) ? mbt_counters_get()->nevents : 0;
  double *cn = nev ? calloc((size_t)n * MAXC * (size_t)passes * (size_t)nev, sizeof *cn) : NULL;
  if (!in || !t || (nev && !cn)) {
    st = mbt_fail(MBT_ENOMEM, "cannot allocate the tuner's buffers");
    goto done;
  }
  if ((st = mbt_engine_apply_plan(e, pl)) != MBT_OK) goto done;
  /* Phase 1 times layers apart: a fused pair reports its time on the depthwise layer only. */
  for (int i = 0; i + 1 < n; i++)
    if ((st = mbt_engine_fuse(e, i, 0)) != MBT_OK || (st = mbt_engine_block(e, i, 0)) != MBT_OK)
      goto done;
  mbt_engine_fill_input(e, in, 3);
  if (o->cold) {
    size_t llc = 0;
    for (int lv = 1; lv <= 4; lv++) {
      const struct mbt_cache *c = mbt_machine_cache(m, lv);
      if (c) llc = (size_t)c->size * (size_t)(c->instances > 0 ? c->instances : 1);
    }
    ncold = 2 * (llc ? llc : (size_t)64 << 20) / sizeof(float);
    if (!(cold = mbt_alloc(ncold, sizeof(float)))) {
      st = mbt_fail(MBT_ENOMEM, "cannot allocate the cache-flush buffer");
      goto done;
    }
    memset(cold, 0, ncold * sizeof(float));
    if (o->verbose)
      fprintf(stderr, "tune: cold caches: %zu MiB streamed before every timed run\n",
              ncold * sizeof(float) >> 20);
  }
  const double t_start = mbt_now_ns();
  int done_passes = 0; /* complete passes: an interrupted one is dropped */
  /* Per-candidate time limit: a candidate more than LIMIT x slower than its problem's fastest
   * in the warm-up pass is not timed again (the fastest stands in for it in later runs). */
  static double warm[MAXL][MAXC];
  static unsigned char drop[MAXL][MAXC];
  memset(drop, 0, sizeof drop);
  int best_warm[MAXL] = {0}, dropped = 0;
  for (int pass = -1; pass < passes && !interrupted; pass++) { /* -1 warms caches, packs */
    settle(threads, o->verbose);
    struct mbt_load lp;
    mbt_load_begin(&lp, threads);
    for (int j = 0; j < maxn && !interrupted; j++) {
      for (int i = 0; i < n; i++)
        if (lc[i].todo &&
            (st = mbt_engine_use(e, i, lc[i].v[j < lc[i].n && !drop[i][j] ? j : best_warm[i]])) !=
                MBT_OK)
          goto done;
      flush_caches(cold, ncold);
      mbt_engine_run(e, in);
      for (int i = 0; i < n; i++)
        if (lc[i].todo && j < lc[i].n) {
          if (pass < 0) warm[i][j] = mbt_engine_layer_ns(e, i);
          else {
            const size_t at = ((size_t)i * MAXC + (size_t)j) * passes + pass;
            const long long *cv = mbt_engine_layer_counts(e, i);
            t[at] = mbt_engine_layer_ns(e, i);
            for (int k = 0; k < nev; k++) cn[at * nev + k] = (double)cv[k];
          }
        }
    }
    if (pass < 0 && !interrupted) /* the limit, per problem key over all its layers */
      for (int i = 0; i < n; i++) {
        if (!first[i]) continue;
        double sum[MAXC] = {0};
        for (int k = i; k < n; k++)
          if (!strcmp(keys[k], keys[i]))
            for (int j = 0; j < lc[i].n; j++) sum[j] += warm[k][j];
        int b = 0;
        for (int j = 1; j < lc[i].n; j++) b = sum[j] < sum[b] ? j : b;
        for (int k = i; k < n; k++)
          if (!strcmp(keys[k], keys[i])) {
            best_warm[k] = b;
            for (int j = 0; j < lc[i].n; j++) drop[k][j] = sum[j] > LIMIT * sum[b];
          }
        for (int j = 0; j < lc[i].n; j++) dropped += drop[i][j];
      }
    if (pass >= 0 && !interrupted && pass_disturbed(&lp, "layer", pass, passes)) {
      pass--;
      continue;
    }
    if (pass < 0 && dropped && o->verbose)
      fprintf(stderr, "tune: %d candidates over %.0fx their problem's fastest in the warm-up "
              "pass are not timed further (time limit)\n", dropped, LIMIT);
    if (!interrupted && pass >= 0) {
      done_passes = pass + 1;
      if (o->verbose > 0 && maxn > 0) { /* progress: one line per pass, with the time left */
        const double el = (mbt_now_ns() - t_start) / 1e9;
        fprintf(stderr, "tune: pass %d/%d: %d network runs timing %d layers, %.1f s, about "
                "%.0f s left in this phase\n", done_passes, passes, maxn, ntodo, el,
                el / (done_passes + 1) * (passes - done_passes));
      }
    }
    /* a budget: keep at least 3 passes, and leave some of it to the fusion phases */
    if (o->budget_s > 0 && done_passes >= 3 && done_passes < passes &&
        mbt_now_ns() - t_begin > 0.6e9 * o->budget_s) {
      if (o->verbose)
        fprintf(stderr, "tune: budget: %d of %d passes, then fusion\n", done_passes, passes);
      break;
    }
  }

  const int np = done_passes;
  if (interrupted && o->verbose)
    fprintf(stderr, "tune: interrupted after %d complete passes: keeping what they measured\n",
            done_passes);
  /* Score per problem key: the sum over its layers of each candidate's median. */
  int done_keys = 0, distinct = 0;
  for (int i = 0; i < n; i++) distinct += first[i];
  for (int i = 0; i < n && np > 0; i++) {
    if (!first[i]) continue;
    double score[MAXC] = {0}, spread[MAXC] = {0};
    int users = 0;
    for (int k = i; k < n; k++) {
      if (strcmp(keys[k], keys[i]) != 0) continue;
      users++;
      for (int j = 0; j < lc[i].n; j++) {
        const double *s = &t[((size_t)k * MAXC + (size_t)j) * passes];
        double lo = s[0], hi = s[0];
        for (int p = 1; p < np; p++) lo = s[p] < lo ? s[p] : lo, hi = s[p] > hi ? s[p] : hi;
        const double med = mbt_median(s, np);
        score[j] += med;
        spread[j] = (hi - lo) / med > spread[j] ? (hi - lo) / med : spread[j];
      }
    }
    int best = best_warm[i], second = -1;
    for (int j = 0; j < lc[i].n; j++) {
      if (j == best || drop[i][j]) continue;
      if (score[j] < score[best]) second = best, best = j;
      else if (second < 0 || score[j] < score[second]) second = j;
    }
    /* A winner must beat the runner-up beyond the noise; within it the simpler one is kept
     * (fewer block parameters and packing, then the lower static rank) and the tie recorded. */
    const int tie = second >= 0 && score[second] <= (1.0 + TIE) * score[best];
    if (tie && simpler(lc[i].v[second], lc[i].v[best])) {
      const int b = best;
      best = second, second = b;
    }
    struct mbt_choice c;
    memset(&c, 0, sizeof c);
    c.effort = o->effort, c.cold = o->cold != 0;
    memcpy(c.key, keys[i], sizeof c.key);
    c.tie = tie;
    snprintf(c.variant, sizeof c.variant, "%s", lc[i].v[best]->name);
    c.ns = score[best] / users;
    c.spread = spread[best];
    if (second >= 0) {
      snprintf(c.runner_up, sizeof c.runner_up, "%s", lc[i].v[second]->name);
      c.runner_up_ns = score[second] / users;
    }
    c.ref_ns = o->quick || threads > 1 ? 0 : ref_time(&model->layers[i], lc[i].ref, i);
    /* every candidate with its times, bound, counts and why it stopped being timed */
    c.nevents = nev;
    for (int k = 0; k < nev; k++)
      snprintf(c.events[k], sizeof c.events[k], "%s", mbt_counters_get()->events[k]);
    for (int j = 0; j < lc[i].n + lc[i].ngone && c.ncand < MBT_MAX_CANDS; j++) {
      const int alive = j < lc[i].n;
      const struct cand_info *ci = alive ? &lc[i].info[j] : &lc[i].gone[j - lc[i].n];
      struct mbt_cand *cd = &c.cand[c.ncand++];
      snprintf(cd->variant, sizeof cd->variant, "%s", ci->v->name);
      cd->alone_ns = ci->alone_ns, cd->bound_ns = ci->bound_ns, cd->out = ci->out;
      if (!alive) continue;
      if (drop[i][j]) { /* its warm-up run is all there is */
        double w = 0;
        for (int k = i; k < n; k++) w += !strcmp(keys[k], keys[i]) ? warm[k][j] : 0;
        cd->ns = w / users, cd->out = MBT_CAND_LIMIT;
        continue;
      }
      cd->ns = score[j] / users, cd->spread = spread[j];
      for (int e2 = 0; e2 < nev; e2++) {
        double sum = 0, v[64];
        const int nc = np < 64 ? np : 64;
        for (int k = i; k < n; k++) {
          if (strcmp(keys[k], keys[i]) != 0) continue;
          for (int p = 0; p < nc; p++)
            v[p] = cn[((((size_t)k * MAXC + (size_t)j) * passes) + p) * nev + e2];
          sum += mbt_median(v, nc);
        }
        cd->counts[e2] = (long long)(sum / users + 0.5);
      }
    }
    if ((st = put(pl, &c)) != MBT_OK) goto done;
    done_keys++;
    if (o->verbose) {
      const struct mbt_layer *l = &model->layers[i];
      fprintf(stderr, "tune [%2d/%2d] %-10s %-48s %2d+%d variants, best %s  %.1f us  %.1f GFLOP/s",
              done_keys, distinct, l->name, keys[i], lc[i].n, lc[i].pruned, c.variant, c.ns / 1e3,
              2.0 * l->macs / c.ns);
      if (lc[i].roof_pruned) fprintf(stderr, "  [%d by the roofline]", lc[i].roof_pruned);
      if (second >= 0) fprintf(stderr, "  (next %.2fx", c.runner_up_ns / c.ns);
      if (c.ref_ns > 0) fprintf(stderr, "%s%.1fx ref", second >= 0 ? ", " : "  (", c.ref_ns / c.ns);
      fprintf(stderr, "%s\n", second >= 0 || c.ref_ns > 0 ? ")" : "");
    }
  }
  if (o->verbose)
    fprintf(stderr, "tune: %d network runs x %d passes in %.1f s, timed inside the network "
                    "(N+M variants: N timed there, M pruned as %.1fx slower alone, or not run "
                    "where the roofline bound cannot beat the fastest)\n",
            maxn, passes + 1, (mbt_now_ns() - t_start) / 1e9, PRUNE);
  /* Phase 2: with every layer on its winner, decide fusion of each dw -> pw pair. */
  for (int i = 0; i < n; i++)
    if (lc[i].todo) {
      const struct mbt_choice *c = mbt_plan_find(pl, keys[i]);
      const struct mbt_kshape ks = mbt_layer_kshape(&model->layers[i]);
      const struct mbt_variant *v = c ? mbt_registry_find(c->variant, &ks) : NULL;
      if (v && (st = mbt_engine_use(e, i, v)) != MBT_OK) goto done;
    }
  const int over = o->budget_s > 0 && mbt_now_ns() - t_begin > 1e9 * o->budget_s;
  if (over && o->verbose)
    fprintf(stderr, "tune: the %.0f s budget is spent: fusion is left for the next tune\n",
            o->budget_s);
  if (!interrupted && !over) st = tune_fusion(e, model, o, pl, passes, in, threads);
  /* Phase 3: with the pairs decided, blocks of three layers. */
  const int over2 = o->budget_s > 0 && mbt_now_ns() - t_begin > 1e9 * o->budget_s;
  if (st == MBT_OK && !interrupted && !over2) st = mbt_engine_apply_plan(e, pl);
  if (st == MBT_OK && !interrupted && !over2) st = tune_blocks(e, model, o, pl, passes, in, threads);
  if (st == MBT_OK) st = busy_verdict(o, pl, threads);
  if (st == MBT_OK && !interrupted && o->check >= 0) {
    struct mbt_check ck;
    st = mbt_tune_check(model, pl, threads, o->quick ? 5 : o->check, o->verbose, &ck);
    ck.busy_passes = busy_passes, ck.passes = team_passes, ck.busy = forced_busy;
    if (st == MBT_OK) st = mbt_plan_put_check(pl, &ck);
  }
  if (st == MBT_OK && o->save_path) st = mbt_plan_store(pl, m, o->save_path, 0);
  if (st == MBT_OK && interrupted)
    st = mbt_fail(MBT_EINTR, "tuning interrupted; the plan keeps every problem measured in "
                             "%d complete passes", np);
done:
  free(cn);
  mbt_free(cold);
  cold = NULL, ncold = 0;
  free(t);
  mbt_free(in);
  mbt_engine_destroy(e);
  return st;
}
