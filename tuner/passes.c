/* tuner/passes.c -- the planner's timed passes.  The whole network runs repeatedly; in round j
 * each layer being tuned runs its j-th candidate, and every layer's own time is recorded, so one
 * network run times a candidate for every layer at once, with the caches in the state the
 * previous layers leave them.  Rounds are interleaved (every candidate once per pass), which
 * spreads the machine's noise evenly.  Here too: what the load did to the passes (waiting for
 * a free team, repeating disturbed passes, the verdict at the end), kept in struct mbt_tuning;
 * the interrupt flag is the one file-scope state, as a signal handler must reach it. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "tuner/tuner.h"

/* Set by mbt_tune_interrupt (a SIGINT handler may call it): the tuner stops at the next
 * network run, keeps every measurement made so far and returns MBT_EINTR. */
static volatile sig_atomic_t interrupted;
void mbt_tune_interrupt(void) { interrupted = 1; }
int mbt_tune_interrupted(void) { return interrupted != 0; }

static const int rows_measure[] = {0, 1, 2, 4, 8}, rows_exhaustive[] = {0, 1, 2, 3, 4, 6, 8, 14};

void mbt_tuning_begin(struct mbt_tuning *t, const struct mbt_machine *m,
                      const struct mbt_model *model, const struct mbt_tune_opts *o,
                      struct mbt_plan *pl) {
  static const int effort_passes[] = {0, 7, 11, 15};
  memset(t, 0, sizeof *t);
  t->m = m, t->model = model, t->o = o, t->pl = pl;
  t->effort = o->effort >= MBT_ESTIMATE && o->effort <= MBT_EXHAUSTIVE ? o->effort : MBT_MEASURE;
  t->passes = o->reps > 0 ? o->reps : effort_passes[t->effort > 0 ? t->effort : 1];
  const int ex = t->effort == MBT_EXHAUSTIVE; /* strip heights tried for fusion (0: apart) */
  t->fuse_rows = ex ? rows_exhaustive : rows_measure;
  t->nfuse = ex ? 8 : 5;
  t->t_begin = mbt_now_ns();
  t->threads = o->threads > 1 ? o->threads : 1;
  interrupted = 0;
  if (o->verbose && mbt_counters_get()->nevents == 0)
    fprintf(stderr, "tune: %s\n", m->counters_note);
  if (mbt_pin_threads(t->threads) != MBT_OK && o->verbose)
    fprintf(stderr, "tune: could not pin the tuning threads; timings may be noisier\n");
  t->wait_left_ns = (o->quick ? 1.0 : 10.0) * 1e9;
  t->repeats_left = t->passes; /* up to twice the passes in all */
  t->busy_worst = 1, t->busy_cpu = -1;
}

void mbt_tuning_end(struct mbt_tuning *t) {
  mbt_free(t->cold);
  t->cold = NULL, t->ncold = 0;
  free(t->put_keys);
  t->put_keys = NULL, t->nput = t->put_cap = 0;
}

/* Before each pass: is every core of the tuning team free?  Another process on one of its
 * cores (this VM's other tenant, a build) slows the whole team, and a pass would time that
 * load rather than the kernels.  The tuner waits for it to pass, within a budget
 * for the whole tuning; a pass that runs busy all the same is counted, and the tuner says so
 * at the end. */
#define BUSY_SHARE 0.8 /* below this mbt_team_share, the machine is busy */
void mbt_tune_settle(struct mbt_tuning *t) {
  t->team_passes++;
  double s = mbt_team_share(t->threads);
  if (s >= BUSY_SHARE) return;
  if (t->o->verbose && t->wait_left_ns > 0)
    fprintf(stderr, "tune: the machine is busy (a tuning thread runs at %.0f%% of its free "
            "speed): waiting up to %.1f s for it\n", 100 * s, t->wait_left_ns / 1e9);
  while (s < BUSY_SHARE && t->wait_left_ns > 0 && !interrupted) {
    const double t0 = mbt_now_ns();
    const struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
    s = mbt_team_share(t->threads);
    t->wait_left_ns -= mbt_now_ns() - t0;
  }
  (void)s; /* a pass that runs busy all the same is caught by mbt_tune_disturbed */
}

/* After a pass: did a tuning thread have less than PASS_SHARE of its CPU while it ran (its CPU
 * time over the wall time: another process held that CPU)?  Such a pass measured the load, not
 * the kernels: @return 1 when it is to be repeated (within a budget for the whole tuning, said
 * even with --quiet), 0 when it stands (counted as busy when it was disturbed). */
#define PASS_SHARE 0.90
int mbt_tune_disturbed(struct mbt_tuning *t, struct mbt_load *lp, const char *phase, int pass) {
  const double s = mbt_load_end(lp), wall = mbt_now_ns() - lp->wall0;
  if (s >= PASS_SHARE) {
    t->pass_ns += wall;
    return 0;
  }
  if (lp->cpu >= 0 && lp->cpu < MBT_LOAD_MAX &&
      ++t->busy_hits[lp->cpu] > (t->busy_cpu >= 0 ? t->busy_hits[t->busy_cpu] : 0))
    t->busy_cpu = lp->cpu;
  t->busy_worst = s < t->busy_worst ? s : t->busy_worst;
  if (t->repeats_left > 0 && !interrupted) {
    t->repeats_left--, t->repeats_done++;
    fprintf(stderr, "tune: %s pass %d/%d ran while another process held CPU %d (tuning thread "
            "%d had %.0f%% of it): repeating it (%d repeat%s left)\n", phase, pass + 1, t->passes,
            lp->cpu, lp->busiest, 100 * s, t->repeats_left, t->repeats_left == 1 ? "" : "s");
    return 1;
  }
  t->busy_passes++;
  t->pass_ns += wall, t->busy_ns += wall;
  return 0;
}

/* Cold caches: stream a buffer of twice the last-level cache (read and write) so that what the
 * next run touches comes from DRAM. */
static volatile float cold_sink;
void mbt_tune_flush(struct mbt_tuning *t) {
  if (!t->cold) return;
  float s = 0;
  for (size_t i = 0; i < t->ncold; i += 16) s += t->cold[i]++;
  cold_sink = s;
}

enum mbt_status mbt_tune_cold(struct mbt_tuning *t) {
  size_t llc = 0;
  for (int lv = 1; lv <= 4; lv++) {
    const struct mbt_cache *c = mbt_machine_cache(t->m, lv);
    if (c) llc = (size_t)c->size * (size_t)(c->instances > 0 ? c->instances : 1);
  }
  t->ncold = 2 * (llc ? llc : (size_t)64 << 20) / sizeof(float);
  if (!(t->cold = mbt_alloc(t->ncold, sizeof(float))))
    return mbt_fail(MBT_ENOMEM, "cannot allocate the cache-flush buffer");
  memset(t->cold, 0, t->ncold * sizeof(float));
  if (t->o->verbose)
    fprintf(stderr, "tune: cold caches: %zu MiB streamed before every timed run\n",
            t->ncold * sizeof(float) >> 20);
  return MBT_OK;
}

enum mbt_status mbt_tune_put(struct mbt_tuning *t, const struct mbt_choice *c) {
  if (t->nput == t->put_cap) {
    const int cap = t->put_cap ? 2 * t->put_cap : 64;
    char (*k)[96] = realloc(t->put_keys, (size_t)cap * sizeof *k);
    if (!k) return mbt_fail(MBT_ENOMEM, "cannot grow the tuner's key list");
    t->put_keys = k, t->put_cap = cap;
  }
  memcpy(t->put_keys[t->nput++], c->key, sizeof t->put_keys[0]);
  return mbt_plan_put(t->pl, c);
}

/* A tuning whose passes ran disturbed (after their repeats) for more than a quarter of their
 * time measured the load; without --force nothing of it may be stored (MBT_EBUSY), with it
 * every entry it made is marked busy.  Fewer disturbed passes are said (medians over the
 * passes outvote them).  Said even with --quiet. */
enum mbt_status mbt_tune_verdict(struct mbt_tuning *t) {
  if (t->busy_passes == 0) {
    if (t->repeats_done > 0)
      fprintf(stderr, "tune: %d disturbed pass%s repeated; every pass that counts ran "
              "undisturbed\n", t->repeats_done, t->repeats_done > 1 ? "es" : "");
    return MBT_OK;
  }
  const int too_busy = 4 * t->busy_ns > t->pass_ns;
  t->forced_busy = too_busy;
  if (too_busy && !t->o->force)
    return mbt_fail(MBT_EBUSY, "another process held CPU %d during %d of %d passes on %d "
                    "thread(s) (%.0f%% of their time), even after %d repeats (a tuning thread had "
                    "%.0f%% of its CPU at worst); nothing was stored: tune again when it is "
                    "quiet, or with --force to keep choices marked as measured under load",
                    t->busy_cpu, t->busy_passes, t->team_passes, t->threads,
                    100 * t->busy_ns / t->pass_ns, t->repeats_done, 100 * t->busy_worst);
  fprintf(stderr, "tune: warning: %d of %d passes on %d thread(s) ran while another process held "
          "CPU %d (a tuning thread had %.0f%% of its CPU at worst)%s\n", t->busy_passes,
          t->team_passes, t->threads, t->busy_cpu, 100 * t->busy_worst,
          too_busy ? "; forced: every choice made is marked busy in the plan; tune again with "
                     "--redo when it is quiet" : "; the medians over the passes outvote them");
  for (int k = 0; too_busy && k < t->nput; k++) {
    const struct mbt_choice *c = mbt_plan_find(t->pl, t->put_keys[k]);
    if (c) ((struct mbt_choice *)c)->busy = 1;
  }
  return MBT_OK;
}

enum mbt_status mbt_tune_rounds(struct mbt_tuning *t, const char *phase, int nconf,
                                const struct mbt_rounds *r) {
  enum mbt_status st = MBT_OK;
  for (int pass = -1; pass < t->passes && st == MBT_OK; pass++) {
    mbt_tune_settle(t);
    struct mbt_load lp;
    mbt_load_begin(&lp, t->threads);
    for (int k = 0; k < nconf && st == MBT_OK; k++) {
      const int conf = (k + pass + 1) % nconf; /* each configuration first in turn */
      int skip = 0;
      if ((st = r->set(t, conf, r->ctx, &skip)) != MBT_OK || skip) continue;
      mbt_tune_flush(t);
      mbt_engine_run(t->e, t->in);
      if (pass >= 0) r->record(t, conf, pass, r->ctx);
      if (mbt_tune_interrupted()) return st;
    }
    if (st == MBT_OK && pass >= 0 && mbt_tune_disturbed(t, &lp, phase, pass)) pass--;
  }
  return st;
}

/* One round of network runs: run j times candidate j of every tuned layer (a candidate over the
 * time limit, or past a layer's last, stands in as its problem's fastest in the warm-up). */
static enum mbt_status layer_round(struct mbt_tuning *t, struct mbt_layer_phase *ph, int pass) {
  const int n = t->model->nlayers, passes = t->passes, nev = ph->nev;
  for (int j = 0; j < ph->maxn && !interrupted; j++) {
    for (int i = 0; i < n; i++) {
      const struct mbt_layer_cands *c = &ph->lc[i];
      if (!c->todo) continue;
      const enum mbt_status st =
          mbt_engine_use(t->e, i, c->v[j < c->n && !ph->drop[i][j] ? j : ph->best_warm[i]]);
      if (st != MBT_OK) return st;
    }
    mbt_tune_flush(t);
    mbt_engine_run(t->e, t->in);
    for (int i = 0; i < n; i++)
      if (ph->lc[i].todo && j < ph->lc[i].n) {
        if (pass < 0) ph->warm[i][j] = mbt_engine_layer_ns(t->e, i);
        else {
          const size_t at = ((size_t)i * MBT_TUNE_MAXC + (size_t)j) * passes + pass;
          const long long *cv = mbt_engine_layer_counts(t->e, i);
          ph->t[at] = mbt_engine_layer_ns(t->e, i);
          for (int k = 0; k < nev; k++) ph->cn[at * nev + k] = (double)cv[k];
        }
      }
  }
  return MBT_OK;
}

/* The per-candidate time limit inside the network: slower than this factor x the fastest
 * candidate of the problem in the warm-up pass, a candidate is not timed again. */
#define LIMIT 10.0

/* The limit, per problem key over all its layers, from the warm-up pass. */
static void warm_limit(const struct mbt_tuning *t, struct mbt_layer_phase *ph) {
  const int n = t->model->nlayers;
  for (int i = 0; i < n; i++) {
    if (!ph->first[i]) continue;
    const int nc = ph->lc[i].n;
    double sum[MBT_TUNE_MAXC] = {0};
    for (int k = i; k < n; k++)
      if (!strcmp(ph->keys[k], ph->keys[i]))
        for (int j = 0; j < nc; j++) sum[j] += ph->warm[k][j];
    int b = 0;
    for (int j = 1; j < nc; j++) b = sum[j] < sum[b] ? j : b;
    for (int k = i; k < n; k++)
      if (!strcmp(ph->keys[k], ph->keys[i])) {
        ph->best_warm[k] = b;
        for (int j = 0; j < nc; j++) ph->drop[k][j] = sum[j] > LIMIT * sum[b];
      }
    for (int j = 0; j < nc; j++) ph->dropped += ph->drop[i][j];
  }
}

enum mbt_status mbt_tune_layer_passes(struct mbt_tuning *t, struct mbt_layer_phase *ph) {
  const struct mbt_tune_opts *o = t->o;
  const int passes = t->passes;
  ph->t_start = mbt_now_ns();
  int done_passes = 0; /* complete passes: an interrupted one is dropped */
  for (int pass = -1; pass < passes && !interrupted; pass++) { /* -1 warms caches, packs */
    mbt_tune_settle(t);
    struct mbt_load lp;
    mbt_load_begin(&lp, t->threads);
    const enum mbt_status st = layer_round(t, ph, pass);
    if (st != MBT_OK) return st;
    if (pass < 0 && !interrupted) warm_limit(t, ph);
    if (pass >= 0 && !interrupted && mbt_tune_disturbed(t, &lp, "layer", pass)) {
      pass--;
      continue;
    }
    if (pass < 0 && ph->dropped && o->verbose)
      fprintf(stderr, "tune: %d candidates over %.0fx their problem's fastest in the warm-up "
              "pass are not timed further (time limit)\n", ph->dropped, LIMIT);
    if (!interrupted && pass >= 0) {
      done_passes = pass + 1;
      if (o->verbose > 0 && ph->maxn > 0) { /* progress: one line per pass, with the time left */
        const double el = (mbt_now_ns() - ph->t_start) / 1e9;
        fprintf(stderr, "tune: pass %d/%d: %d network runs timing %d layers, %.1f s, about "
                "%.0f s left in this phase\n", done_passes, passes, ph->maxn, ph->ntodo, el,
                el / (done_passes + 1) * (passes - done_passes));
      }
    }
    /* a budget: keep at least 3 passes, and leave some of it to the fusion phases */
    if (o->budget_s > 0 && done_passes >= 3 && done_passes < passes &&
        mbt_now_ns() - t->t_begin > 0.6e9 * o->budget_s) {
      if (o->verbose)
        fprintf(stderr, "tune: budget: %d of %d passes, then fusion\n", done_passes, passes);
      break;
    }
  }
  ph->np = done_passes;
  if (interrupted && o->verbose)
    fprintf(stderr, "tune: interrupted after %d complete passes: keeping what they measured\n",
            done_passes);
  return MBT_OK;
}
