/* tuner/tune.c -- the planner: every applicable variant of every distinct layer problem is
 * timed where it will run, inside the network, then the squeeze-and-excitation folds and the
 * fusion of pairs and blocks, then (on
 * several threads) how many threads each group runs on, then the end-to-end check; what it
 * measured goes into the plan.  The parts: candidates (tuner/candidates.c), the interleaved
 * passes and the load (tuner/passes.c), the choices (tuner/choice.c), fusion
 * (tuner/fusion.c), thread counts (tuner/teams.c); this file only drives them. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"
#include "tuner/tuner.h"

/* The network the candidates are timed in: the plan applied, nothing fused (phase 1 times the
 * layers apart), its input, the timing buffers. */
static enum mbt_status open_engine(struct mbt_tuning *t, struct mbt_layer_phase *ph) {
  const struct mbt_model *model = t->model;
  const int n = model->nlayers;
  enum mbt_status st = mbt_engine_create(model, t->pl, NULL, 1, &t->e);
  if (st != MBT_OK) return st;
  mbt_engine_set_threads(t->e, t->threads);
  mbt_engine_set_schedule(t->e, MBT_SCHEDULE_LAYERS); /* each layer's time its own */
  t->in = mbt_alloc((size_t)model->res * model->res, 3 * sizeof(float));
  ph->t = calloc((size_t)n * MBT_TUNE_MAXC * (size_t)t->passes, sizeof *ph->t);
  /* Counters around every layer of every timed run, when the component has events. */
  ph->nev = mbt_engine_count(t->e, 1) ? mbt_counters_get()->nevents : 0;
  if (ph->nev)
    ph->cn = calloc((size_t)n * MBT_TUNE_MAXC * (size_t)t->passes * (size_t)ph->nev,
                    sizeof *ph->cn);
  if (!t->in || !ph->t || (ph->nev && !ph->cn))
    return mbt_fail(MBT_ENOMEM, "cannot allocate the tuner's buffers");
  if ((st = mbt_engine_apply_plan(t->e, t->pl)) != MBT_OK) return st;
  for (int i = 0; i + 1 < n && st == MBT_OK; i++)
    if ((st = mbt_engine_fuse(t->e, i, 0)) == MBT_OK) st = mbt_engine_block(t->e, i, 0);
  for (int i = 0; i < n && st == MBT_OK; i++) /* tuned layers' candidates on every thread */
    if (ph->lc[i].todo) st = mbt_engine_team(t->e, i, 1, 0);
  if (st != MBT_OK) return st;
  mbt_engine_fill_input(t->e, t->in, 3);
  return t->o->cold ? mbt_tune_cold(t) : MBT_OK;
}

/* 1 when the tuning's time budget is spent. */
static int over_budget(const struct mbt_tuning *t) {
  return t->o->budget_s > 0 && mbt_now_ns() - t->t_begin > 1e9 * t->o->budget_s;
}

/* After the layers: fusion with every layer on its winner, the verdict on the load, the check,
 * the store. */
static enum mbt_status finish(struct mbt_tuning *t, const struct mbt_layer_phase *ph) {
  const struct mbt_tune_opts *o = t->o;
  enum mbt_status st = MBT_OK;
  for (int i = 0; i < t->model->nlayers; i++)
    if (ph->lc[i].todo) {
      const struct mbt_choice *c = mbt_plan_find(t->pl, ph->keys[i]);
      const struct mbt_kshape ks = mbt_layer_kshape(&t->model->layers[i]);
      const struct mbt_variant *v = c ? mbt_registry_find(c->variant, &ks) : NULL;
      if (v && (st = mbt_engine_use(t->e, i, v)) != MBT_OK) return st;
    }
  const int over = over_budget(t);
  if (over && o->verbose)
    fprintf(stderr, "tune: the %.0f s budget is spent: fusion is left for the next tune\n",
            o->budget_s);
  if (!mbt_tune_interrupted() && !over) st = mbt_tune_folds(t, ph);
  if (st == MBT_OK && !mbt_tune_interrupted() && !over) st = mbt_tune_pairs(t);
  const int go = !over_budget(t); /* blocks, with the pairs decided */
  if (st == MBT_OK && !mbt_tune_interrupted() && go) st = mbt_engine_apply_plan(t->e, t->pl);
  if (st == MBT_OK && !mbt_tune_interrupted() && go) st = mbt_tune_blocks(t);
  if (st == MBT_OK && !mbt_tune_interrupted() && !over_budget(t)) st = mbt_tune_teams(t);
  if (st == MBT_OK) st = mbt_tune_verdict(t);
  if (st == MBT_OK && !mbt_tune_interrupted() && o->check >= 0) {
    struct mbt_check ck;
    st = mbt_tune_check(t->model, t->pl, t->threads, o->quick ? 5 : o->check, o->verbose, &ck);
    ck.busy_passes = t->busy_passes, ck.passes = t->team_passes, ck.busy = t->forced_busy;
    if (st == MBT_OK) st = mbt_plan_put_check(t->pl, &ck);
  }
  if (st == MBT_OK && o->save_path) st = mbt_plan_store(t->pl, t->m, o->save_path, 0);
  if (st == MBT_OK && mbt_tune_interrupted())
    st = mbt_fail(MBT_EINTR, "tuning interrupted; the plan keeps every problem measured in "
                             "%d complete passes", ph->np);
  return st;
}

enum mbt_status mbt_tune(const struct mbt_machine *m, const struct mbt_model *model,
                         const struct mbt_tune_opts *o, struct mbt_plan *pl) {
  if (model->nlayers > MBT_MAX_LAYERS)
    return mbt_fail(MBT_EUNSUPPORTED, "more than %d layers", MBT_MAX_LAYERS);
  struct mbt_tuning t;
  mbt_tuning_begin(&t, m, model, o, pl);
  struct mbt_layer_phase *ph = calloc(1, sizeof *ph);
  enum mbt_status st = ph ? MBT_OK : mbt_fail(MBT_ENOMEM, "cannot allocate the tuner's buffers");
  if (ph) mbt_tune_candidates(&t, ph);
  if (st != MBT_OK || (ph->ntodo == 0 && !mbt_tune_groups_todo(&t))) goto out;
  if (t.effort == MBT_ESTIMATE) {
    st = mbt_tune_estimate(&t, ph);
    goto out;
  }
  if ((st = open_engine(&t, ph)) == MBT_OK && (st = mbt_tune_layer_passes(&t, ph)) == MBT_OK &&
      (st = mbt_tune_choose_layers(&t, ph)) == MBT_OK)
    st = finish(&t, ph);
out:
  if (ph) free(ph->t), free(ph->cn);
  free(ph);
  mbt_free(t.in);
  mbt_engine_destroy(t.e);
  mbt_tuning_end(&t);
  return st;
}
