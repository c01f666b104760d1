/* plan/apply.c -- plans into engines: what a plan says for each layer and fused group at the
 * engine's thread count (the entry tuned at that count, else the one-thread entry), resolved to
 * variants, strip rows and the threads a group runs on, which the engine (net/, which knows nothing of plans) then runs. */
#include "config.h"

#include <string.h>

#include "common/common.h"
#include "net/net.h"
#include "plan/plan.h"

enum mbt_status mbt_plan_setup(const struct mbt_plan *pl, const struct mbt_model *m, int threads,
                               struct mbt_engine_setup *s) {
  memset(s, 0, sizeof *s);
  for (int i = 0; pl && i < m->nlayers; i++) {
    struct mbt_problem p;
    mbt_problem_layer(&m->layers[i], threads, &p);
    const struct mbt_choice *c = mbt_plan_entry(pl, &p);
    const struct mbt_kshape ks = mbt_layer_kshape(&m->layers[i]);
    s->var[i] = c ? mbt_registry_find(c->variant, &ks) : NULL;
    s->team[i][0] = c ? c->threads : 0;
  }
  struct mbt_groups it;
  struct mbt_group g;
  for (mbt_groups_begin(&it, m, MBT_GROUP_FUSED, threads); pl && mbt_groups_next(&it, &g);) {
    const struct mbt_choice *c = mbt_plan_entry(pl, &g.p);
    s->team[g.first][g.len - 1] = c ? c->threads : 0;
  }
  return mbt_plan_fusion(pl, m, threads, s->fuse, s->block);
}

enum mbt_status mbt_engine_create(const struct mbt_model *model, const struct mbt_plan *pl,
                                  const char *force, uint64_t seed, mbt_engine_t *out) {
  struct mbt_engine_setup s;
  const enum mbt_status planned = mbt_plan_setup(pl, model, 1, &s);
  enum mbt_status st = mbt_engine_new(model, &s, force, seed, out);
  if (st == MBT_OK && planned != MBT_OK && !force) { /* a bad plan entry, named by the setup */
    mbt_engine_destroy(*out);
    *out = NULL;
    st = planned;
  }
  return st;
}

enum mbt_status mbt_engine_apply_plan(mbt_engine_t e, const struct mbt_plan *pl) {
  struct mbt_engine_setup s;
  const enum mbt_status planned =
      mbt_plan_setup(pl, mbt_engine_model(e), mbt_engine_threads(e), &s);
  const enum mbt_status st = mbt_engine_configure(e, &s);
  return st != MBT_OK ? st : planned;
}

enum mbt_status mbt_open(const char *weights, const char *plan, int threads, mbt_engine_t *out) {
  *out = NULL;
  struct mbt_weights w;
  struct mbt_model m;
  struct mbt_plan pl;
  enum mbt_status st = mbt_weights_load(weights, &w);
  if (st != MBT_OK) return st;
  if ((st = mbt_weights_model(&w, &m)) != MBT_OK) {
    mbt_weights_free(&w);
    return st;
  }
  int have = 0;
  if (plan) {
    struct mbt_machine mc;
    mbt_machine_detect(&mc);
    have = (st = mbt_plan_load(plan, &mc, &pl)) == MBT_OK;
  }
  if (st == MBT_OK) st = mbt_engine_create(&m, have ? &pl : NULL, NULL, 1, out);
  if (st == MBT_OK) {
    mbt_engine_set_threads(*out, threads > 0 ? threads : 1);
    if (have) st = mbt_engine_apply_plan(*out, &pl);
  }
  if (st == MBT_OK) st = mbt_engine_set_weights(*out, &w);
  if (st != MBT_OK) {
    mbt_engine_destroy(*out);
    *out = NULL;
  }
  if (have) mbt_plan_free(&pl);
  mbt_model_free(&m);
  mbt_weights_free(&w);
  return st;
}
