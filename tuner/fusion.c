/* tuner/fusion.c -- the planner's fusion phases.  With every layer on its winner, each
 * squeeze-and-excitation scale that can fold into the next layer's weights is timed folded
 * (mbt_tune_folds, at the end of this file); each fusable
 * dw -> pw pair is timed at every strip height, all pairs at once in each network run; then,
 * with the pairs decided, each pw -> dw -> pw block, one problem key at a time, and a block
 * that what is fused before it keeps from running against those groups apart.  The groups and
 * their keys come from the plan floor's walk (mbt_groups_next), as the engine's do. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "tuner/tuner.h"

#define MAXFUSE 8 /* the most strip heights an effort tries (mbt_tuning_begin) */

/* The groups of @p kinds of the tuning's network with their keys at its thread count, and
 * which are to be measured (@p todo).  @return how many. */
static int groups(const struct mbt_tuning *t, unsigned kinds, struct mbt_group *g, int *todo) {
  struct mbt_groups it;
  int ng = 0;
  for (mbt_groups_begin(&it, t->model, kinds, t->threads);
       ng < MBT_MAX_LAYERS && mbt_groups_next(&it, &g[ng]); ng++)
    todo[ng] = mbt_tune_need(t, g[ng].key);
  return ng;
}

/* 1 when group @p k is measured and has group @p i's key. */
static int same(const struct mbt_group *g, const int *todo, int k, int i) {
  return todo[k] && !strcmp(g[k].key, g[i].key);
}

/* 1 when group @p i is measured and the first with its key. */
static int first(const struct mbt_group *g, const int *todo, int i) {
  for (int k = 0; k < i; k++)
    if (same(g, todo, k, i)) return 0;
  return todo[i];
}

int mbt_tune_groups_todo(const struct mbt_tuning *t) {
  struct mbt_group g[MBT_MAX_LAYERS];
  int todo[MBT_MAX_LAYERS], any = 0;
  const int ng = groups(t, MBT_GROUP_FUSED, g, todo);
  for (int k = 0; k < ng; k++) any |= todo[k];
  return any;
}

/* The pairs' passes: at each height, every measured pair fused so, one network run;
 * tm[(k * nfuse + j) * passes + p] = pair k's time. */
struct pair_rounds {
  const struct mbt_group *g;
  const int *todo;
  int ng;
  double *tm;
};

static enum mbt_status pair_set(struct mbt_tuning *t, int j, void *ctx, int *skip) {
  const struct pair_rounds *r = ctx;
  const int rows = t->fuse_rows[j];
  enum mbt_status st = MBT_OK;
  (void)skip;
  for (int i = 0; i < r->ng && st == MBT_OK; i++)
    if (r->todo[i])
      st = mbt_engine_fuse(t->e, r->g[i].first,
                           rows <= t->model->layers[r->g[i].first].oh ? rows : 0);
  return st;
}

static void pair_record(struct mbt_tuning *t, int j, int pass, void *ctx) {
  const struct pair_rounds *r = ctx;
  for (int i = 0; i < r->ng; i++)
    if (r->todo[i])
      r->tm[((size_t)i * t->nfuse + (size_t)j) * t->passes + pass] =
          mbt_engine_layer_ns(t->e, r->g[i].first) + mbt_engine_layer_ns(t->e, r->g[i].first + 1);
}

enum mbt_status mbt_tune_pairs(struct mbt_tuning *t) {
  struct mbt_group g[MBT_MAX_LAYERS];
  int todo[MBT_MAX_LAYERS], any = 0;
  const int ng = groups(t, MBT_GROUP_PAIR, g, todo), nfuse = t->nfuse, passes = t->passes;
  for (int k = 0; k < ng; k++) any |= todo[k];
  if (!any) return MBT_OK;
  double *tm = calloc((size_t)ng * nfuse * (size_t)passes, sizeof *tm);
  if (!tm) return mbt_fail(MBT_ENOMEM, "cannot allocate the fusion timings");
  struct pair_rounds pr = {g, todo, ng, tm};
  const struct mbt_rounds rounds = {pair_set, pair_record, &pr};
  enum mbt_status st = mbt_tune_rounds(t, "fusion", nfuse, &rounds);
  const int cut = mbt_tune_interrupted(); /* a partial pass decides nothing */
  for (int i = 0; i < ng && st == MBT_OK && !cut; i++) {
    if (!first(g, todo, i)) continue;
    double score[MAXFUSE] = {0};
    int users = 0;
    for (int k = i; k < ng; k++)
      if (same(g, todo, k, i)) {
        users++;
        for (int j = 0; j < nfuse; j++)
          score[j] += mbt_median(&tm[((size_t)k * nfuse + (size_t)j) * passes], passes);
      }
    const struct mbt_layer *l = &t->model->layers[g[i].first];
    struct mbt_choice c;
    const int best = mbt_tune_strip_choice(t, g[i].key, score, users, l->oh, &c);
    st = mbt_tune_put(t, &c);
    if (t->o->verbose)
      fprintf(stderr, "tune fuse %-6s+%-6s %-10s %.1f us, apart %.1f us (%.2fx)\n", l[0].name,
              l[1].name, c.variant, c.ns / 1e3, score[0] / users / 1e3, score[0] / score[best]);
  }
  free(tm);
  return st;
}

/* The passes of the block key of group @p i: at each height up to @p oh, every measured block
 * with the key fused so, one network run; tm[j * passes + p] = the sum of their times. */
struct block_rounds {
  const struct mbt_group *g;
  const int *todo;
  int ng, i, oh;
  double *tm;
};

static enum mbt_status block_set(struct mbt_tuning *t, int j, void *ctx, int *skip) {
  const struct block_rounds *r = ctx;
  enum mbt_status st = MBT_OK;
  if ((*skip = t->fuse_rows[j] > r->oh)) return st;
  for (int k = r->i; k < r->ng && st == MBT_OK; k++)
    if (same(r->g, r->todo, k, r->i))
      st = mbt_engine_block(t->e, r->g[k].first, t->fuse_rows[j]);
  return st;
}

static void block_record(struct mbt_tuning *t, int j, int pass, void *ctx) {
  const struct block_rounds *r = ctx;
  double sum = 0;
  for (int k = r->i; k < r->ng; k++)
    if (same(r->g, r->todo, k, r->i))
      for (int l = r->g[k].first; l < r->g[k].first + 3; l++) sum += mbt_engine_layer_ns(t->e, l);
  r->tm[(size_t)j * t->passes + pass] = sum;
}

/* 1 when one of groups f[0 .. k - 1] (those with sel[q] set, or all when sel is NULL) has
 * group k's key. */
static int key_before(const struct mbt_group *f, const int *sel, int k) {
  for (int q = 0; q < k; q++)
    if ((!sel || sel[q]) && !strcmp(f[q].key, f[k].key)) return 1;
  return 0;
}

/* Ask for group @p g fused at @p rows (0: apart). */
static enum mbt_status ask(mbt_engine_t e, const struct mbt_group *g, int rows) {
  return g->len == 2 ? mbt_engine_fuse(e, g->first, rows) : mbt_engine_block(e, g->first, rows);
}

/* Which group each layer runs in as the engine stands: its first layer x 4 + its length. */
static void runs_now(mbt_engine_t e, int n, int *s) {
  for (int i = 0; i < n;) {
    const int len = mbt_engine_group(e, i) > 0 ? mbt_engine_group(e, i) : 1;
    for (int k = 0; k < len && i + k < n; k++) s[i + k] = 4 * i + len;
    i += len;
  }
}

/* Displacing what stands before a block.  A block that cannot run because a fused pair or
 * block of another key starts before it and overlaps it (the engine walks left to right) is
 * timed once more with every group of those keys apart (a key is one decision for all its
 * groups), key after key until nothing of another key stands in the way, against the network
 * as it runs now.  The score is the sum of the times of the layers whose group differs between
 * the two (a group's time is its first layer's), so what the block displaces counts on both
 * sides. */
struct displace {
  const struct mbt_group *g, *f; /* the blocks; every pair and block of the network */
  const int *todo;
  int ng, nf, i, oh, rows0;      /* the key's first block, its depthwise rows, its rows now */
  int off[MBT_MAX_LAYERS];       /* f[k] is displaced; its rows were was[k] */
  int was[MBT_MAX_LAYERS];
  int changed[MBT_MAX_LAYERS];   /* the layers whose group differs */
  double *tm;
};

/* Configuration 0 as the network ran; j: the displaced groups apart, the key's blocks at the
 * j-th height. */
static enum mbt_status displace_set(struct mbt_tuning *t, int j, void *ctx, int *skip) {
  const struct displace *d = ctx;
  enum mbt_status st = MBT_OK;
  if ((*skip = j > 0 && t->fuse_rows[j] > d->oh)) return st;
  for (int k = 0; k < d->nf && st == MBT_OK; k++)
    if (d->off[k]) st = ask(t->e, &d->f[k], j ? 0 : d->was[k]);
  for (int k = d->i; k < d->ng && st == MBT_OK; k++)
    if (same(d->g, d->todo, k, d->i)) st = ask(t->e, &d->g[k], j ? t->fuse_rows[j] : d->rows0);
  return st;
}

static void displace_record(struct mbt_tuning *t, int j, int pass, void *ctx) {
  const struct displace *d = ctx;
  double sum = 0;
  for (int l = 0; l < t->model->nlayers; l++)
    if (d->changed[l]) sum += mbt_engine_layer_ns(t->e, l);
  d->tm[(size_t)j * t->passes + pass] = sum;
}

/* The group of @p f with layers @p first .. + @p len - 1, or -1. */
static int find(const struct mbt_group *f, int nf, int first, int len) {
  for (int k = 0; k < nf; k++)
    if (f[k].first == first && f[k].len == len) return k;
  return -1;
}

/* With the key's blocks asked for, take the groups of other keys that overlap them from before
 * out of the way, key by key.  @return how many groups were taken. */
static int clear_way(struct mbt_tuning *t, struct displace *d, enum mbt_status *st) {
  int taken = 0, more = 1;
  while (more && *st == MBT_OK) {
    more = 0;
    for (int k = d->i; k < d->ng && !more && *st == MBT_OK; k++) {
      const int fl = d->g[k].first;
      if (!same(d->g, d->todo, k, d->i) || mbt_engine_group(t->e, fl) == 3) continue;
      for (int l = fl - 1; l >= 0 && l >= fl - 2; l--) {
        const int len = mbt_engine_group(t->e, l);
        if (len <= fl - l) continue; /* it ends before the block, or l is inside a group */
        const int b = find(d->f, d->nf, l, len);
        if (b < 0 || !strcmp(d->f[b].key, d->g[d->i].key)) break; /* its own key: it stays */
        const int had = taken;
        for (int q = 0; q < d->nf && *st == MBT_OK; q++)
          if (!d->off[q] && !strcmp(d->f[q].key, d->f[b].key)) {
            d->off[q] = 1, taken++;
            d->was[q] = mbt_engine_asked(t->e, d->f[q].first, d->f[q].len);
            *st = ask(t->e, &d->f[q], 0);
          }
        more = taken > had; /* then look again: another group may now stand in the way */
        break;
      }
    }
  }
  return taken;
}

/* The displaced keys' entries after the block won: apart, the fused choice they had kept as
 * the runner-up. */
static enum mbt_status put_apart(struct mbt_tuning *t, const struct displace *d) {
  enum mbt_status st = MBT_OK;
  for (int k = 0; k < d->nf && st == MBT_OK; k++) {
    if (!d->off[k] || key_before(d->f, d->off, k)) continue;
    const struct mbt_choice *old = mbt_plan_find(t->pl, d->f[k].key);
    struct mbt_choice c;
    if (old) c = *old;
    else memset(&c, 0, sizeof c), snprintf(c.key, sizeof c.key, "%s", d->f[k].key);
    snprintf(c.runner_up, sizeof c.runner_up, "%s", c.variant);
    c.runner_up_ns = c.ns;
    mbt_rows_name(0, c.variant, sizeof c.variant);
    c.ns = c.ref_ns, c.tie = 0, c.effort = t->o->effort;
    st = mbt_tune_put(t, &c);
  }
  return st;
}

/* Block key @p i (mbt_tune_blocks), when some of its blocks cannot run: the displacement
 * above, decided as any fusion is (mbt_tune_strip_choice). */
static enum mbt_status displace(struct mbt_tuning *t, const struct mbt_group *g, const int *todo,
                                int ng, int i, const struct mbt_group *f, int nf, double *tm,
                                int *won) {
  const int n = t->model->nlayers, nfuse = t->nfuse, passes = t->passes;
  struct displace *d = calloc(1, sizeof *d);
  int before[MBT_MAX_LAYERS], after[MBT_MAX_LAYERS];
  enum mbt_status st = MBT_OK;
  if (!d) return mbt_fail(MBT_ENOMEM, "cannot allocate the block displacement");
  const struct mbt_layer *l = &t->model->layers[g[i].first];
  d->g = g, d->f = f, d->nf = nf, d->todo = todo, d->ng = ng, d->i = i, d->oh = l[1].oh;
  d->tm = tm;
  d->rows0 = mbt_engine_asked(t->e, g[i].first, 3);
  runs_now(t->e, n, before);
  int users = 0, nl = 0;
  for (int k = i; k < ng && st == MBT_OK; k++)
    if (same(g, todo, k, i)) users++, st = ask(t->e, &g[k], 1);
  const int taken = st == MBT_OK ? clear_way(t, d, &st) : 0;
  runs_now(t->e, n, after);
  for (int k = 0; k < n; k++) {
    d->changed[k] = before[k] != after[k];
    nl += d->changed[k];
  }
  int skip = 0;
  if (st == MBT_OK) st = displace_set(t, 0, d, &skip); /* as it ran */
  if (st != MBT_OK || taken == 0) goto out;
  const struct mbt_rounds rounds = {displace_set, displace_record, d};
  if ((st = mbt_tune_rounds(t, "block", nfuse, &rounds)) != MBT_OK || mbt_tune_interrupted())
    goto out;
  double score[MAXFUSE];
  for (int j = 0; j < nfuse; j++) score[j] = mbt_median(&tm[(size_t)j * passes], passes);
  struct mbt_choice c;
  const int best = mbt_tune_strip_choice(t, g[i].key, score, users, d->oh, &c);
  if ((st = displace_set(t, best, d, &skip)) == MBT_OK) st = mbt_tune_put(t, &c);
  if (st == MBT_OK && best > 0) st = put_apart(t, d);
  *won = best > 0;
  if (t->o->verbose)
    fprintf(stderr, "tune block %s+%s+%s %-14s with %d fused group%s of other keys apart: "
            "%.1f us over the %d layers that change, as before %.1f us (%.2fx)\n", l[0].name,
            l[1].name, l[2].name, c.variant, taken, taken == 1 ? "" : "s", c.ns / 1e3, nl,
            c.ref_ns / 1e3, score[0] / score[best]);
out:
  free(d);
  return st;
}

/* The whole network with the displacements against without, interleaved: conf 0 the fusion
 * asked for before them, 1 after; tm[c * n + p] = the sum of every layer's time. */
struct whole {
  const int (*ask)[2][MBT_MAX_LAYERS]; /* ask[c][0] pairs' rows, [1] blocks' rows */
  int round, nround;
  double *tm;
};

static enum mbt_status whole_set(struct mbt_tuning *t, int c, void *ctx, int *skip) {
  const struct whole *w = ctx;
  enum mbt_status st = MBT_OK;
  *skip = 0;
  for (int i = 0; i < t->model->nlayers && st == MBT_OK; i++) {
    if (w->ask[c][0][i] != mbt_engine_asked(t->e, i, 2))
      st = mbt_engine_fuse(t->e, i, w->ask[c][0][i]);
    if (st == MBT_OK && w->ask[c][1][i] != mbt_engine_asked(t->e, i, 3))
      st = mbt_engine_block(t->e, i, w->ask[c][1][i]);
  }
  return st;
}

static void whole_record(struct mbt_tuning *t, int c, int pass, void *ctx) {
  const struct whole *w = ctx;
  double sum = 0;
  for (int l = 0; l < t->model->nlayers; l++) sum += mbt_engine_layer_ns(t->e, l);
  w->tm[((size_t)c * w->nround + (size_t)w->round) * t->passes + pass] = sum;
}

static void asks_now(mbt_engine_t e, int n, int ask[2][MBT_MAX_LAYERS]) {
  for (int i = 0; i < MBT_MAX_LAYERS; i++) {
    ask[0][i] = i < n ? mbt_engine_asked(e, i, 2) : 0;
    ask[1][i] = i < n ? mbt_engine_asked(e, i, 3) : 0;
  }
}

#define WHOLE_ROUNDS 3 /* the end-to-end comparison takes this many times the passes */

/* The displacements, each decided on the layers it changes, are kept only when the whole
 * network runs faster with all of them than without (beyond the tuner's TIE): a chain of small
 * local gains, each measured against the one before under noise, must not add up to a slower
 * network.  Undone, the fusion and the plan entries are as before them. */
static enum mbt_status confirm(struct mbt_tuning *t, int ask[2][2][MBT_MAX_LAYERS],
                               const struct mbt_choice *saved, int nsaved, int moves) {
  const int passes = t->passes;
  double *tm = calloc((size_t)2 * WHOLE_ROUNDS * (size_t)passes, sizeof *tm);
  if (!tm) return mbt_fail(MBT_ENOMEM, "cannot allocate the block timings");
  struct whole w = {(const int (*)[2][MBT_MAX_LAYERS])ask, 0, WHOLE_ROUNDS, tm};
  const struct mbt_rounds rounds = {whole_set, whole_record, &w};
  enum mbt_status st = MBT_OK;
  for (; w.round < WHOLE_ROUNDS && st == MBT_OK && !mbt_tune_interrupted(); w.round++)
    st = mbt_tune_rounds(t, "block", 2, &rounds);
  if (st == MBT_OK && !mbt_tune_interrupted()) {
    const double before = mbt_median(tm, WHOLE_ROUNDS * passes),
                 after = mbt_median(tm + (size_t)WHOLE_ROUNDS * passes, WHOLE_ROUNDS * passes);
    const int keep = after < (1.0 - MBT_TUNE_TIE) * before;
    st = whole_set(t, keep, &w, &(int){0});
    for (int k = 0; k < nsaved && st == MBT_OK && !keep; k++) st = mbt_tune_put(t, &saved[k]);
    if (t->o->verbose)
      fprintf(stderr, "tune blocks: the network with the %d displacement%s %.3f ms, without "
              "%.3f ms (%.2fx): %s\n", moves, moves == 1 ? "" : "s", after / 1e6, before / 1e6,
              before / after, keep ? "kept" : "undone");
  } else if (st == MBT_OK) {
    st = whole_set(t, 0, &w, &(int){0}); /* interrupted: as before them */
    for (int k = 0; k < nsaved && st == MBT_OK; k++) st = mbt_tune_put(t, &saved[k]);
  }
  free(tm);
  return st;
}

/* The keys whose blocks a fused group before them keeps from running (@p behind), displaced
 * in turn, then confirmed on the whole network. */
static enum mbt_status displace_all(struct mbt_tuning *t, const struct mbt_group *g,
                                    const int *todo, int ng, const int *behind, double *tm) {
  const int n = t->model->nlayers;
  int (*ask)[2][MBT_MAX_LAYERS] = malloc(2 * sizeof *ask), *ftodo = malloc(MBT_MAX_LAYERS *
                                                                            sizeof *ftodo);
  struct mbt_group *f = malloc(MBT_MAX_LAYERS * sizeof *f);
  struct mbt_choice *saved = malloc(MBT_MAX_LAYERS * sizeof *saved);
  enum mbt_status st = MBT_OK;
  if (!ask || !ftodo || !f || !saved) {
    st = mbt_fail(MBT_ENOMEM, "cannot allocate the block displacement");
    goto out;
  }
  const int nf = groups(t, MBT_GROUP_FUSED, f, ftodo);
  int nsaved = 0, moves = 0; /* every fused group's entry as it is, to put back if undone */
  for (int k = 0; k < nf; k++) {
    const struct mbt_choice *c = key_before(f, NULL, k) ? NULL : mbt_plan_find(t->pl, f[k].key);
    if (c) saved[nsaved++] = *c;
  }
  asks_now(t->e, n, ask[0]);
  for (int i = 0; i < ng && st == MBT_OK && !mbt_tune_interrupted(); i++) {
    int won = 0;
    if (behind[i]) st = displace(t, g, todo, ng, i, f, nf, tm, &won);
    moves += won;
  }
  asks_now(t->e, n, ask[1]);
  if (st == MBT_OK && moves) st = confirm(t, ask, saved, nsaved, moves);
out:
  free(ask), free(ftodo), free(f), free(saved);
  return st;
}

/* Blocks (pointwise -> depthwise -> pointwise in strips), one problem key at a time with every
 * earlier decision in place, so a block is judged against its layers as they run now (the pair
 * fused or not) and against the blocks it overlaps.  Score: the sum of the three layers' times
 * over every block with the key (median over interleaved passes).  A block that a fused group
 * before it overlaps never runs (mbt_fusion_runs), whatever noise its passes timed: it stays
 * unfused; then each such key is timed against what stands in its way (displace), and what
 * that changed is confirmed on the whole network (confirm). */
enum mbt_status mbt_tune_blocks(struct mbt_tuning *t) {
  struct mbt_group g[MBT_MAX_LAYERS];
  int todo[MBT_MAX_LAYERS], behind[MBT_MAX_LAYERS] = {0};
  const int ng = groups(t, MBT_GROUP_BLOCK, g, todo), nfuse = t->nfuse, passes = t->passes;
  double *tm = calloc((size_t)nfuse * (size_t)passes, sizeof *tm);
  if (!tm) return mbt_fail(MBT_ENOMEM, "cannot allocate the block timings");
  enum mbt_status st = MBT_OK;
  int nbehind = 0;
  for (int i = 0; i < ng && st == MBT_OK; i++) {
    if (!first(g, todo, i)) continue;
    const struct mbt_layer *l = &t->model->layers[g[i].first];
    const int oh = l[1].oh;
    struct block_rounds br = {g, todo, ng, i, oh, tm};
    const struct mbt_rounds rounds = {block_set, block_record, &br};
    st = mbt_tune_rounds(t, "block", nfuse, &rounds);
    if (mbt_tune_interrupted()) break; /* decided blocks stay; this one is not measured in full */
    int users = 0, runs = 0;
    double score[MAXFUSE];
    for (int j = 0; j < nfuse; j++) score[j] = mbt_median(&tm[(size_t)j * passes], passes);
    for (int k = i; k < ng && st == MBT_OK; k++)
      if (same(g, todo, k, i)) { /* can it run at all?  A fused group before it may overlap it */
        users++;
        if ((st = mbt_engine_block(t->e, g[k].first, 1)) == MBT_OK)
          runs += mbt_engine_group(t->e, g[k].first) == 3;
      }
    if (runs == 0) /* it never runs: what was timed is the layers as they were */
      for (int j = 1; j < nfuse; j++) score[j] = score[0];
    /* the three layers as they ran before (pairs decided) are what a block must beat */
    struct mbt_choice c;
    const int best = mbt_tune_strip_choice(t, g[i].key, score, users, oh, &c);
    for (int k = i; k < ng && st == MBT_OK; k++)
      if (same(g, todo, k, i)) /* later keys see this decision */
        st = mbt_engine_block(t->e, g[k].first, t->fuse_rows[best]);
    if (st == MBT_OK) st = mbt_tune_put(t, &c);
    if (t->o->verbose)
      fprintf(stderr, "tune block %s+%s+%s %-14s %.1f us, as before %.1f us (%.2fx)%s\n",
              l[0].name, l[1].name, l[2].name, c.variant, c.ns / 1e3, c.ref_ns / 1e3,
              score[0] / score[best], runs < users ? ": a fused group before it overlaps it" : "");
    nbehind += behind[i] = runs < users;
  }
  const int over = t->o->budget_s > 0 && mbt_now_ns() - t->t_begin > 1e9 * t->o->budget_s;
  if (st == MBT_OK && nbehind && !mbt_tune_interrupted() && !over)
    st = displace_all(t, g, todo, ng, behind, tm);
  free(tm);
  return st;
}

/* Folds (net/engine.c: a squeeze-and-excitation scale taken into the next pointwise layer's
 * weights).  Every foldable scale measured in this tune runs on its winner (configuration 0)
 * and folded (1), all at once in each network run; tm[(i * 2 + c) * passes + p] = the scale's
 * time plus the next layer's, since that layer then reads its weights from where the fold
 * wrote them, and the scale's time alone would undervalue the fold.  A key folds when its
 * scales and their next layers together ran faster so, beyond TIE. */
struct fold_rounds {
  const int *todo;
  const struct mbt_variant *fold, **was;
  double *tm, *own; /* own: the scale's time alone, as tm */
};

static enum mbt_status fold_set(struct mbt_tuning *t, int j, void *ctx, int *skip) {
  const struct fold_rounds *r = ctx;
  enum mbt_status st = MBT_OK;
  *skip = 0;
  for (int i = 0; i < t->model->nlayers && st == MBT_OK; i++)
    if (r->todo[i]) st = mbt_engine_use(t->e, i, j ? r->fold : r->was[i]);
  return st;
}

static void fold_record(struct mbt_tuning *t, int j, int pass, void *ctx) {
  const struct fold_rounds *r = ctx;
  for (int i = 0; i < t->model->nlayers; i++)
    if (r->todo[i]) {
      const size_t at = ((size_t)i * 2 + (size_t)j) * t->passes + (size_t)pass;
      r->own[at] = mbt_engine_layer_ns(t->e, i);
      r->tm[at] = r->own[at] + mbt_engine_layer_ns(t->e, i + 1);
    }
}

#define FOLD_NAME "fold/mbt_f32_scale_into_next_weights"

enum mbt_status mbt_tune_folds(struct mbt_tuning *t, const struct mbt_layer_phase *ph) {
  const struct mbt_model *m = t->model;
  const int n = m->nlayers, passes = t->passes;
  int todo[MBT_MAX_LAYERS] = {0}, any = 0;
  const struct mbt_variant *was[MBT_MAX_LAYERS] = {0}, *fold = NULL;
  for (int i = 0; i < n; i++) {
    const struct mbt_kshape ks = mbt_layer_kshape(&m->layers[i]);
    const struct mbt_variant *f = mbt_layer_foldable(m, i) ? mbt_registry_find(FOLD_NAME, &ks)
                                                           : NULL;
    was[i] = f ? mbt_registry_find(mbt_engine_variant(t->e, i), &ks) : NULL;
    todo[i] = f && was[i] && ph->lc[i].todo && !(was[i]->flags & MBT_FOLD);
    if (todo[i]) fold = f, any = 1;
  }
  if (!any) return MBT_OK;
  double *tm = calloc((size_t)n * 4 * (size_t)passes, sizeof *tm);
  if (!tm) return mbt_fail(MBT_ENOMEM, "cannot allocate the fold timings");
  struct fold_rounds r = {todo, fold, was, tm, tm + (size_t)n * 2 * passes};
  const struct mbt_rounds rounds = {fold_set, fold_record, &r};
  enum mbt_status st = mbt_tune_rounds(t, "fold", 2, &rounds);
  const int cut = mbt_tune_interrupted();
  if (st == MBT_OK) st = fold_set(t, 0, &r, &(int){0}); /* every scale on its winner again */
  for (int i = 0; i < n && st == MBT_OK && !cut; i++) {
    int seen = 0;
    for (int k = 0; k < i; k++) seen |= todo[k] && !strcmp(ph->keys[k], ph->keys[i]);
    if (!todo[i] || seen) continue;
    double score[2] = {0}, own = 0;
    int users = 0;
    for (int k = i; k < n; k++)
      if (todo[k] && !strcmp(ph->keys[k], ph->keys[i])) {
        users++;
        for (int j = 0; j < 2; j++)
          score[j] += mbt_median(&tm[((size_t)k * 2 + (size_t)j) * passes], passes);
        own += mbt_median(&r.own[((size_t)k * 2 + 1) * passes], passes);
      }
    const int folds = score[1] < (1.0 - MBT_TUNE_TIE) * score[0];
    const struct mbt_choice *old = mbt_plan_find(t->pl, ph->keys[i]);
    if (old) {
      struct mbt_choice c = *old;
      if (c.ncand < MBT_MAX_CANDS) { /* the fold among the candidates, timed in the network */
        struct mbt_cand *cd = &c.cand[c.ncand++];
        memset(cd, 0, sizeof *cd);
        snprintf(cd->variant, sizeof cd->variant, "%s", FOLD_NAME);
        cd->ns = own / users, cd->out = MBT_CAND_TIMED;
      }
      if (folds) {
        snprintf(c.runner_up, sizeof c.runner_up, "%s", c.variant);
        c.runner_up_ns = c.ns;
        snprintf(c.variant, sizeof c.variant, "%s", FOLD_NAME);
        c.ns = own / users, c.tie = 0;
      }
      st = mbt_tune_put(t, &c);
    }
    for (int k = i; k < n && st == MBT_OK && folds; k++) /* later phases run it folded */
      if (todo[k] && !strcmp(ph->keys[k], ph->keys[i])) st = mbt_engine_use(t->e, k, fold);
    if (t->o->verbose)
      fprintf(stderr, "tune fold %-12s into %-12s %.1f us with the next layer, %.1f us on %s "
              "(%.2fx)%s\n", m->layers[i].name, m->layers[i + 1].name, score[1] / users / 1e3,
              score[0] / users / 1e3, was[i]->name, score[0] / score[1],
              folds ? ": folded" : "");
  }
  free(tm);
  return st;
}
