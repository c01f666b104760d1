/* tuner/record.c -- the report data: what the report shows of one network at one thread count
 * that the plan does not hold, saved by the producer ('tune', 'bench --e2e') so that the report
 * renders saved files only, made on any machine.
 *
 *   DATA/report-data-NET-ALPHA-RES-tTHREADS.json
 *   {"format": "mobitune-report-data", "version": 1, "mobitune": "0.1.0",
 *    "machine": {vendor, model, family, cpu_model, stepping, features, isa: [names], cores,
 *                threads, numa_nodes, mhz, caches: [{level, size, line, assoc, shared_by,
 *                instances}], counters, counters_note, fingerprint},
 *    "net": "v2", "alpha": 0.35, "res": 96, "classes": 1000, "threads": 1,
 *    "layers": [{"name": "stem", "candidates": [variant, ...], "counted_intensity": 1.5}, ...],
 *    "groups": [{"first": 3, "layers": 2, "key": "dwpw ...", "fused": true}, ...]}
 *
 * candidates: the layer's variants in rank order, as this build's registry lists them on the
 * measuring machine (a fixed family runs its first one there; the plan's candidate records have
 * their times).  counted_intensity: FLOP/byte from the hardware counts of the plan's winner
 * (absent without counters).  groups: every fusable pair and block with a plan entry at this
 * thread count (its key, threads included), in layer order, a pair before the block at the same
 * layer; fused: the engine runs it as one (blocks left to right without overlap, then pairs). */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "net/net.h"
#include "plan/plan.h"
#include "machine/counters.h"
#include "machine/isa.h"
#include "machine/machine.h"

#define RECORD_VERSION 1



/* FLOP/byte from the counts of @p c's winner (0: the events do not give both). */
static double counted_intensity(const struct mbt_choice *c) {
  const char *ev[MBT_PLAN_EVENTS];
  double in = 0;
  for (int k = 0; c && k < c->nevents && k < MBT_PLAN_EVENTS; k++) ev[k] = c->events[k];
  for (int j = 0; c && c->nevents && j < c->ncand; j++) {
    double fl, by;
    if (!strcmp(c->cand[j].variant, c->variant) &&
        mbt_counters_roofline(ev, c->cand[j].counts, c->nevents, 64, &fl, &by) && by > 0)
      in = fl / by;
  }
  return in;
}

static json_object *layer_json(const struct mbt_model *m, int i, const struct mbt_plan *pl,
                               int threads) {
  const struct mbt_layer *l = &m->layers[i];
  const struct mbt_variant *cand[MBT_MAX_CANDS];
  json_object *o = json_object_new_object(), *jc = json_object_new_array();
  const struct mbt_kshape ks = mbt_layer_kshape(l);
  const int n = mbt_registry_candidates(&ks, cand, MBT_MAX_CANDS);
  json_object_object_add(o, "name", json_object_new_string(l->name));
  for (int k = 0; k < n; k++) json_object_array_add(jc, json_object_new_string(cand[k]->name));
  json_object_object_add(o, "candidates", jc);
  struct mbt_problem p;
  mbt_problem_layer(l, threads, &p);
  const double in = counted_intensity(mbt_plan_exact(pl, &p));
  if (in > 0) json_object_object_add(o, "counted_intensity", json_object_new_double(in));
  return o;
}

static void group_add(json_object *arr, const struct mbt_group *g, int fused) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "first", json_object_new_int(g->first));
  json_object_object_add(o, "layers", json_object_new_int(g->len));
  json_object_object_add(o, "key", json_object_new_string(g->key));
  json_object_object_add(o, "fused", json_object_new_boolean(fused));
  json_object_array_add(arr, o);
}

/* Every fusable pair and block with an entry, and which of them the engine runs fused (the
 * plan's fusion, resolved as the engine resolves it). */
static json_object *groups_json(const struct mbt_model *m, const struct mbt_plan *pl,
                                int threads) {
  json_object *arr = json_object_new_array();
  int fuse[MBT_MAX_LAYERS], block[MBT_MAX_LAYERS], runs[MBT_MAX_LAYERS];
  if (!pl || mbt_plan_fusion(pl, m, threads, fuse, block) != MBT_OK) return arr;
  mbt_fusion_runs(m->nlayers, fuse, block, runs);
  struct mbt_groups it;
  struct mbt_group g;
  for (mbt_groups_begin(&it, m, MBT_GROUP_FUSED, threads); mbt_groups_next(&it, &g);)
    if (mbt_plan_find(pl, g.key)) group_add(arr, &g, runs[g.first] == g.len); /* its own */
  return arr;
}

enum mbt_status mbt_record_save(const char *dir, const struct mbt_machine *mach,
                                const struct mbt_model *m, const struct mbt_plan *pl,
                                int threads) {
  char path[4200];
  const int t = threads > 1 ? threads : 1;
  char id[64];
  mbt_model_id(m, id, sizeof id);
  snprintf(path, sizeof path, "%s/report-data-%s-%g-%d-t%d.json", dir, id, m->alpha, m->res, t);
  json_object *js = json_object_new_object(), *layers = json_object_new_array();
  json_object_object_add(js, "format", json_object_new_string("mobitune-report-data"));
  json_object_object_add(js, "version", json_object_new_int(RECORD_VERSION));
  json_object_object_add(js, "mobitune", json_object_new_string(mbt_version()));
  json_object_object_add(js, "machine", mbt_machine_json(mach));
  json_object_object_add(js, "net", json_object_new_string(id));
  json_object_object_add(js, "alpha", json_object_new_double(m->alpha));
  json_object_object_add(js, "res", json_object_new_int(m->res));
  json_object_object_add(js, "classes", json_object_new_int(m->classes));
  json_object_object_add(js, "threads", json_object_new_int(t));
  for (int i = 0; i < m->nlayers; i++) json_object_array_add(layers, layer_json(m, i, pl, t));
  json_object_object_add(js, "layers", layers);
  json_object_object_add(js, "groups", groups_json(m, pl, t));
  const char *text = json_object_to_json_string_ext(js, JSON_C_TO_STRING_PRETTY);
  const enum mbt_status st = text ? mbt_write_atomic(path, text, strlen(text))
                                  : mbt_fail(MBT_ENOMEM, "cannot build %s", path);
  json_object_put(js);
  return st;
}
