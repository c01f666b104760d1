/* tuner/teams.c -- the planner's threads phase (tune --threads N, N > 1).  With the layers,
 * pairs and blocks decided, each run group whose entry this tuning made (a layer alone, a
 * fused pair, a block) is timed split over all N threads and on fewer: one, and N / 2 from
 * four threads up.  Every group runs at the same count in one network run, the counts
 * interleaved within each pass as the other phases' candidates are.  A group that runs faster
 * on fewer threads beyond the noise (a squeeze-and-excitation pool whose split costs more
 * than it saves) keeps that count in its entry (threads=K); the others stay split over all. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "tuner/tuner.h"

#define MAXCOUNTS 3 /* all the threads, N / 2, one */

/* The run groups as the engine runs them, with their keys at the tuning's thread count;
 * todo[k] = 1 for those whose entry this tuning made.  @return how many. */
static int run_groups(const struct mbt_tuning *t, int *first, int *len, char (*key)[96],
                      int *todo) {
  int ng = 0;
  for (int i = 0; i < t->model->nlayers; i++) {
    const int l = mbt_engine_group(t->e, i);
    if (l == 0) continue;
    struct mbt_problem p;
    mbt_problem_group(t->model, i, l, t->threads, &p);
    mbt_problem_key(&p, key[ng], sizeof key[ng]);
    todo[ng] = 0;
    for (int k = 0; k < t->nput && !todo[ng]; k++) todo[ng] = !strcmp(t->put_keys[k], key[ng]);
    first[ng] = i, len[ng] = l, ng++;
  }
  return ng;
}

/* Every measured group on @p count threads (0: all). */
static enum mbt_status set_teams(struct mbt_tuning *t, int ng, const int *first, const int *len,
                                 const int *todo, int count) {
  enum mbt_status st = MBT_OK;
  for (int k = 0; k < ng && st == MBT_OK; k++)
    if (todo[k]) st = mbt_engine_team(t->e, first[k], len[k], count);
  return st;
}

/* The passes: tm[(k * nc + c) * passes + p] = group k's time on counts[c] threads. */
struct team_rounds {
  int ng;
  const int *first, *len, *todo, *counts;
  int nc;
  double *tm;
};

static enum mbt_status team_set(struct mbt_tuning *t, int c, void *ctx, int *skip) {
  const struct team_rounds *r = ctx;
  (void)skip;
  return set_teams(t, r->ng, r->first, r->len, r->todo, r->counts[c]);
}

static void team_record(struct mbt_tuning *t, int c, int pass, void *ctx) {
  const struct team_rounds *r = ctx;
  for (int k = 0; k < r->ng; k++) {
    double ns = 0;
    for (int j = r->first[k]; r->todo[k] && j < r->first[k] + r->len[k]; j++)
      ns += mbt_engine_layer_ns(t->e, j);
    r->tm[((size_t)k * r->nc + (size_t)c) * t->passes + pass] = ns;
  }
}

enum mbt_status mbt_tune_teams(struct mbt_tuning *t) {
  if (t->threads <= 1) return MBT_OK;
  int first[MBT_MAX_LAYERS], len[MBT_MAX_LAYERS], todo[MBT_MAX_LAYERS];
  char key[MBT_MAX_LAYERS][96];
  const int ng = run_groups(t, first, len, key, todo), passes = t->passes;
  int any = 0, counts[MAXCOUNTS] = {0, 1}, nc = 2;
  for (int k = 0; k < ng; k++) any |= todo[k];
  if (!any) return MBT_OK;
  if (t->threads >= 4) counts[nc++] = t->threads / 2;
  double *tm = calloc((size_t)ng * nc * (size_t)passes, sizeof *tm);
  if (!tm) return mbt_fail(MBT_ENOMEM, "cannot allocate the thread-count timings");
  struct team_rounds tr = {ng, first, len, todo, counts, nc, tm};
  const struct mbt_rounds rounds = {team_set, team_record, &tr};
  enum mbt_status st = mbt_tune_rounds(t, "threads", nc, &rounds);
  const int cut = mbt_tune_interrupted(); /* a partial pass decides nothing */
  if (st == MBT_OK) st = set_teams(t, ng, first, len, todo, 0);
  for (int i = 0; i < ng && st == MBT_OK && !cut; i++) {
    int seen = 0;
    for (int k = 0; k < i && !seen; k++) seen = todo[k] && !strcmp(key[k], key[i]);
    if (!todo[i] || seen) continue;
    double score[MAXCOUNTS] = {0};
    int users = 0;
    for (int k = i; k < ng; k++)
      if (todo[k] && !strcmp(key[k], key[i])) {
        users++;
        for (int c = 0; c < nc; c++)
          score[c] += mbt_median(&tm[((size_t)k * nc + (size_t)c) * passes], passes);
      }
    int best = 0;
    for (int c = 1; c < nc; c++) best = score[c] < score[best] ? c : best;
    if (best == 0 || score[best] > (1.0 - MBT_TUNE_TIE) * score[0]) continue; /* all of them */
    const struct mbt_choice *old = mbt_plan_find(t->pl, key[i]);
    if (!old) continue;
    struct mbt_choice c = *old;
    c.threads = counts[best];
    c.ns = score[best] / users;
    st = mbt_tune_put(t, &c);
    for (int k = i; k < ng && st == MBT_OK; k++) /* the check and later phases run it so */
      if (todo[k] && !strcmp(key[k], key[i]))
        st = mbt_engine_team(t->e, first[k], len[k], c.threads);
    if (t->o->verbose)
      fprintf(stderr, "tune threads %-12s on %d thread%s %.1f us, on %d %.1f us (%.2fx)\n",
              t->model->layers[first[i]].name, c.threads, c.threads > 1 ? "s" : "",
              c.ns / 1e3, t->threads, score[0] / users / 1e3, score[0] / score[best]);
  }
  free(tm);
  return st;
}
