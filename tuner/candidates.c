/* tuner/candidates.c -- the planner's candidates: for every layer whose problem is to be
 * measured, the registry's variants that apply here (the reference kept apart: it is timed
 * once in isolation, only to report the speed-up over it), each with its roofline bound, and
 * at the measure effort a quick isolated screen that drops the ones that cannot win. */
#include "config.h"

#include <string.h>

#include "common/common.h"
#include "roofline/roofline.h"
#include "tuner/tuner.h"

int mbt_tune_need(const struct mbt_tuning *t, const char *key) {
  const struct mbt_tune_opts *o = t->o;
  const struct mbt_choice *c = mbt_plan_find(t->pl, key);
  return o->redo || !c || c->effort < o->effort || c->cold != (o->cold != 0);
}

/* Prune by a quick isolated timing: candidates more than MBT_TUNE_PRUNE times slower than the
 * fastest one on their own cannot win inside the network, and timing them there would cost a
 * network run each (a scalar 1x1 layer alone can take longer than the whole tuned network).
 * With a machine profile, candidates are screened in the order of their roofline bounds, and
 * one whose bound already exceeds the fastest time found is not run at all: it cannot win. */
static void prune(const struct mbt_layer *l, struct mbt_layer_cands *c, int i,
                  const struct mbt_profile *prof) {
  struct mbt_layer_bufs b;
  if (c->n < 2 || mbt_layer_bufs_alloc(l, 0x9e3 + (uint64_t)i, &b) != MBT_OK) return;
  double ns[MBT_TUNE_MAXC], bound1[MBT_TUNE_MAXC], best = 0;
  int order[MBT_TUNE_MAXC];
  const struct mbt_kshape ks = mbt_layer_kshape(l);
  for (int j = 0; j < c->n; j++) {
    bound1[j] = mbt_roofline_bound_ns(prof, l, c->v[j]->isa, 1); /* the screen: one thread */
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
    if (mbt_variant_pack(c->v[j], &ks, b.w, &packed) != MBT_OK) continue;
    mbt_exec_bind(&x, c->v[j], packed);
    struct mbt_timing t;
    mbt_measure(c->v[j], &x, 1, 0.2, 3, &t);
    mbt_free(packed);
    ns[j] = c->info[j].alone_ns = t.median_ns;
    if (best == 0 || ns[j] < best) best = ns[j];
  }
  int k = 0;
  for (int j = 0; j < c->n; j++) {
    if (ns[j] > 0 && ns[j] <= MBT_TUNE_PRUNE * best) {
      c->info[k] = c->info[j];
      c->v[k++] = c->v[j];
      continue;
    }
    if (c->info[j].out == MBT_CAND_TIMED) c->info[j].out = MBT_CAND_SCREEN;
    c->roof_pruned += c->info[j].out == MBT_CAND_ROOFLINE;
    if (c->ngone < MBT_TUNE_MAXC) c->gone[c->ngone++] = c->info[j];
  }
  c->pruned = c->n - k;
  c->n = k;
  mbt_layer_bufs_free(&b);
}

double mbt_tune_ref_ns(const struct mbt_layer *l, const struct mbt_variant *ref, int i) {
  struct mbt_layer_bufs b;
  if (!ref || mbt_layer_bufs_alloc(l, 0x5eed + (uint64_t)i, &b) != MBT_OK) return 0;
  struct mbt_timing t;
  mbt_measure(ref, &b.x, 1, 0.0, 1, &t);
  mbt_layer_bufs_free(&b);
  return t.median_ns;
}

/* The registry's variants for layer @p l, each with its bound at the tuning's thread count. */
static void gather(const struct mbt_tuning *t, const struct mbt_layer *l,
                   struct mbt_layer_cands *c) {
  const struct mbt_variant *all[MBT_TUNE_MAXC];
  const struct mbt_kshape ks = mbt_layer_kshape(l);
  const int na = mbt_registry_candidates(&ks, all, MBT_TUNE_MAXC);
  for (int k = 0; k < na; k++) {
    if (strncmp(all[k]->name, "ref/", 4) == 0) {
      c->ref = all[k];
      continue;
    }
    if (all[k]->flags & MBT_FOLD) continue; /* not a layer's choice: decided with the next one's
                                             * time too, after the layers (mbt_tune_folds) */
    c->info[c->n].v = all[k];
    c->info[c->n].bound_ns = mbt_roofline_bound_ns(t->o->profile, l, all[k]->isa, t->threads);
    c->v[c->n++] = all[k];
  }
}

void mbt_tune_candidates(struct mbt_tuning *t, struct mbt_layer_phase *ph) {
  const struct mbt_model *model = t->model;
  for (int i = 0; i < model->nlayers; i++) {
    const struct mbt_layer *l = &model->layers[i];
    struct mbt_layer_cands *c = &ph->lc[i];
    struct mbt_problem p;
    mbt_problem_layer(l, t->threads, &p);
    mbt_problem_key(&p, ph->keys[i], sizeof ph->keys[i]);
    memset(c, 0, sizeof *c);
    c->todo = mbt_tune_need(t, ph->keys[i]);
    gather(t, l, c);
    if (c->n == 0) c->todo = 0; /* only the reference: nothing to choose */
    ph->first[i] = c->todo && !mbt_layer_repeats(model, i);
    if (ph->first[i] && t->effort == MBT_MEASURE) prune(l, c, i, t->o->profile); /* patient: none */
    else if (c->todo) /* same problem as an earlier layer: same surviving candidates */
      for (int k = 0; k < i; k++)
        if (!strcmp(ph->keys[k], ph->keys[i])) {
          *c = ph->lc[k];
          break;
        }
    if (c->todo && c->n > ph->maxn) ph->maxn = c->n;
    ph->ntodo += c->todo;
  }
}
