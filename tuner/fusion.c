/* tuner/fusion.c -- the planner's fusion phases.  With every layer on its winner, each fusable
 * dw -> pw pair is timed at every strip height, all pairs at once in each network run; then,
 * with the pairs decided, each pw -> dw -> pw block, one problem key at a time.  The groups and
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

/* Blocks (pointwise -> depthwise -> pointwise in strips), one problem key at a time with every
 * earlier decision in place, so a block is judged against its layers as they run now (the pair
 * fused or not) and against the blocks it overlaps.  Score: the sum of the three layers' times
 * over every block with the key (median over interleaved passes).  A block that a fused group
 * before it overlaps never runs (mbt_fusion_runs): it stays unfused, whatever noise its
 * passes timed. */
enum mbt_status mbt_tune_blocks(struct mbt_tuning *t) {
  struct mbt_group g[MBT_MAX_LAYERS];
  int todo[MBT_MAX_LAYERS];
  const int ng = groups(t, MBT_GROUP_BLOCK, g, todo), nfuse = t->nfuse, passes = t->passes;
  double *tm = calloc((size_t)nfuse * (size_t)passes, sizeof *tm);
  if (!tm) return mbt_fail(MBT_ENOMEM, "cannot allocate the block timings");
  enum mbt_status st = MBT_OK;
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
              score[0] / score[best], runs ? "" : ": a fused group before it overlaps it, so it "
              "would never run");
  }
  free(tm);
  return st;
}
