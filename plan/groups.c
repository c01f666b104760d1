/* plan/groups.c -- the groups of a model's layers that plans have entries for: every layer,
 * every depthwise + pointwise pair and pointwise + depthwise + pointwise block that can run
 * fused.  The one walk over them: the engine (through mbt_plan_fusion), the tuner and the check
 * take their groups and keys from it.  Whether layers can run fused is the network's shape
 * (mbt_pair_fusable, mbt_block_fusable in net/engine.c). */
#include "config.h"

#include <string.h>

#include "common/common.h"
#include "net/net.h"
#include "plan/plan.h"

void mbt_groups_begin(struct mbt_groups *it, const struct mbt_model *m, unsigned kinds,
                      int threads) {
  it->m = m, it->kinds = kinds, it->threads = threads > 1 ? threads : 1;
  it->i = 0, it->len = 1;
}

/* 1 when the group of it->len layers from it->i is one the walk visits. */
static int visits(const struct mbt_groups *it) {
  switch (it->len) {
    case 1: return (it->kinds & MBT_GROUP_LAYER) != 0;
    case 2: return (it->kinds & MBT_GROUP_PAIR) && mbt_pair_fusable(it->m, it->i);
    default: return (it->kinds & MBT_GROUP_BLOCK) && mbt_block_fusable(it->m, it->i);
  }
}

int mbt_groups_next(struct mbt_groups *it, struct mbt_group *g) {
  for (; it->i < it->m->nlayers; it->i++, it->len = 1)
    for (; it->len <= 3; it->len++) {
      if (!visits(it)) continue;
      g->first = it->i, g->len = it->len;
      mbt_problem_group(it->m, it->i, it->len, it->threads, &g->p);
      mbt_problem_key(&g->p, g->key, sizeof g->key);
      it->len++;
      return 1;
    }
  return 0;
}

enum mbt_status mbt_plan_fusion(const struct mbt_plan *pl, const struct mbt_model *m, int threads,
                                int *fuse, int *block) {
  memset(fuse, 0, (size_t)m->nlayers * sizeof *fuse);
  memset(block, 0, (size_t)m->nlayers * sizeof *block);
  struct mbt_groups it;
  struct mbt_group g;
  for (mbt_groups_begin(&it, m, MBT_GROUP_FUSED, threads); pl && mbt_groups_next(&it, &g);) {
    const struct mbt_choice *c = mbt_plan_entry(pl, &g.p);
    int *rows = g.len == 2 ? &fuse[g.first] : &block[g.first];
    if (c && mbt_rows_parse(c->variant, rows) < 0) {
      memset(fuse, 0, (size_t)m->nlayers * sizeof *fuse);
      memset(block, 0, (size_t)m->nlayers * sizeof *block);
      return mbt_fail(MBT_EPARSE, "bad plan entry '%s': variant '%s' is not fused[rows=N] with N "
                      "in 0..%d", c->key, c->variant, MBT_FUSE_ROWS_MAX);
    }
  }
  return MBT_OK;
}
