/* bench/bench.c -- per-layer, per-variant timings and end-to-end comparisons, measured in one
 * run so that ratios are meaningful on a noisy machine (configurations are interleaved round by
 * round, and medians are quoted). */
#include "config.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "machine/machine.h"
#include "net/net.h"
#include "tuner/counters.h"
#include "tuner/tuner.h"

#define MAX_CONF 8

enum mbt_status mbt_bench(const struct mbt_model *model, const struct mbt_plan *pl,
                          const struct mbt_bench_opts *o, FILE *out) {
  const double min_ms = o->quick ? 0.3 : 2.0;
  const int reps = o->quick ? 3 : 7;
  mbt_topo_pin(0);
  const struct mbt_counters *cc = mbt_counters_get();
  struct mbt_machine mach;
  mbt_machine_detect(&mach);
  const struct mbt_cache *l1 = mbt_machine_cache(&mach, 1);
  const int line = l1 && l1->line > 0 ? l1->line : 64;
  char note[192];
  mbt_counters_probe(note, sizeof note);
  fprintf(out, "# counters: %s\n", note);
  fprintf(out, "# per layer and variant, 1 thread: median of %d calibrated repetitions; GB/s of "
               "compulsory traffic; %%roof = GFLOP/s over the layer's roofline bound%s\n", reps,
          o->profile ? "" : " (no profile: run 'mobitune roofline')");
  fprintf(out, "%-12s %-64s %10s %7s %9s %8s %7s\n", "layer", "variant", "median us", "spread",
          "GFLOP/s", "GB/s", "%roof");
  for (int i = 0; i < model->nlayers && !o->e2e_only; i++) {
    const struct mbt_layer *l = &model->layers[i];
    if (mbt_layer_repeats(model, i)) continue;
    const struct mbt_variant *cand[32];
    const struct mbt_kshape ks = mbt_layer_kshape(l);
    const int n = mbt_registry_candidates(&ks, cand, 32);
    struct mbt_layer_bufs b;
    enum mbt_status st = mbt_layer_bufs_alloc(l, 7 + (uint64_t)i, &b);
    if (st != MBT_OK) return st;
    for (int v = 0; v < n; v++) {
      struct mbt_timing t;
      struct mbt_exec x = b.x;
      float *packed;
      if ((st = mbt_variant_pack(cand[v], &ks, b.w, &packed)) != MBT_OK) break;
      mbt_exec_bind(&x, cand[v], packed);
      mbt_measure(cand[v], &x, 1, min_ms, reps, &t);
      mbt_free(packed);
      struct mbt_place pc = {0};
      if (o->profile) mbt_roofline_place(o->profile, model, i, 1, &pc);
      fprintf(out, "%-12s %-64s %10.2f %6.1f%% %9.2f %8.2f", l->name, cand[v]->name,
              t.median_ns / 1e3, 100 * (t.max_ns - t.min_ns) / t.median_ns,
              2 * l->macs / t.median_ns, l->bytes / t.median_ns);
      const double pct = pc.attainable > 0 ? 100 * 2 * l->macs / t.median_ns / pc.attainable : 0;
      if (pct > 105) { /* a ceiling is what the machine reaches: this one is too low */
        mbt_profile_beaten(o->profile, mbt_profile_binding(o->profile, &pc, 1, 1));
        fprintf(out, "   >100%% (ceiling SUSPECT)");
      } else if (pct > 100) {
        fprintf(out, "   ~100%%");
      } else if (pct > 0) {
        fprintf(out, " %6.1f%%", pct);
      }
      double cf, cb; /* where the machine counts FLOPs and misses: measured I and GFLOP/s */
      if (mbt_counters_roofline(cc->events, t.counters, t.ncounters, line, &cf, &cb))
        fprintf(out, "  counters: I %.2f FLOP/B (analytic %.2f), %.1f GFLOP/s", cb > 0 ? cf / cb : 0,
                l->bytes > 0 ? 2 * l->macs / l->bytes : 0, cf / t.median_ns);
      fprintf(out, "\n");
    }
    mbt_layer_bufs_free(&b);
    if (st != MBT_OK) return st;
  }

  /* End to end: the plan, each variant family forced, the reference. */
  struct conf {
    const char *label, *force;
    const struct mbt_plan *plan;
  } conf[MAX_CONF];
  int nc = 0;
  conf[nc++] = (struct conf){pl ? "tuned plan" : "default plan", NULL, pl};
  if (pl) conf[nc++] = (struct conf){"default plan", NULL, NULL}; /* untuned: static ranks */
  for (int k = 0; k < 2; k++)
    if (o->compare[k]) conf[nc++] = (struct conf){o->compare_name[k], NULL, o->compare[k]};
  static const char *const families[] = {"__scalar", "__avx2", "__avx512f", "__neon"};
  static const uint32_t fam_isa[] = {MBT_ISA_SCALAR, MBT_ISA_AVX2, MBT_ISA_AVX512F, MBT_ISA_NEON};
  int nall;
  const struct mbt_variant *all = mbt_registry_all(&nall);
  for (int f = 0; f < 4; f++) {
    int any = 0; /* only families this build has kernels for */
    for (int v = 0; v < nall; v++) any |= strstr(all[v].name, families[f]) != NULL;
    if (any && (mbt_host_isa() & fam_isa[f]) == fam_isa[f])
      conf[nc++] = (struct conf){families[f] + 2, families[f], NULL};
  }
  conf[nc++] = (struct conf){"reference", "ref/", NULL};
  mbt_pin_threads(o->threads);
  mbt_engine_t eng[MAX_CONF] = {0};
  enum mbt_status st = MBT_OK;
  for (int c = 0; c < nc && st == MBT_OK; c++) {
    st = mbt_engine_create(model, conf[c].plan, conf[c].force, 1, &eng[c]);
    if (st == MBT_OK) mbt_engine_set_threads(eng[c], o->threads);
    if (st == MBT_OK && conf[c].plan) st = mbt_engine_apply_plan(eng[c], conf[c].plan);
  }
  const size_t nin = (size_t)model->res * model->res * 3;
  float *in = st == MBT_OK ? mbt_alloc(nin, sizeof(float)) : NULL;
  const int runs = o->runs > 0 ? o->runs : 10;
  double *t = calloc((size_t)nc * (size_t)runs, sizeof *t);
  int busy[MAX_CONF] = {0}; /* runs during which another process held a CPU of the team */
  if (st == MBT_OK && (!in || !t)) st = mbt_fail(MBT_ENOMEM, "cannot allocate benchmark buffers");
  if (st == MBT_OK) {
    mbt_engine_fill_input(eng[0], in, 2);
    for (int c = 0; c < nc; c++) mbt_engine_run(eng[c], in); /* warm-up */
    const int ref_runs = runs < 3 ? runs : 3; /* the reference is slow: fewer rounds */
    for (int r = 0; r < runs; r++)
      for (int c = 0; c < nc; c++) { /* interleaved: every round runs every configuration */
        if (c == nc - 1 && r >= ref_runs) continue;
        struct mbt_load lp;
        mbt_load_begin(&lp, o->threads);
        double t0 = mbt_now_ns();
        mbt_engine_run(eng[c], in);
        t[c * runs + r] = mbt_now_ns() - t0;
        busy[c] += mbt_load_end(&lp) < 0.9;
      }
    fprintf(out, "\n# MobileNet %s alpha %.3g res %d, %d thread(s), %d interleaved rounds\n",
            mbt_net_name(model->kind), model->alpha, model->res, o->threads, runs);
    const double ref = mbt_median(&t[(nc - 1) * runs], ref_runs);
    const double base = mbt_median(&t[0], runs);
    fprintf(out, "%-28s %11s %9s %12s %12s\n", "configuration", "median ms", "GFLOP/s",
            "x reference", "time / plan");
    json_object *js = json_object_new_object(), *arr = json_object_new_array();
    for (int c = 0; c < nc; c++) {
      const int n = c == nc - 1 ? ref_runs : runs;
      const double med = mbt_median(&t[c * runs], n);
      double lo = t[c * runs], hi = lo;
      for (int r = 1; r < n; r++) lo = fmin(lo, t[c * runs + r]), hi = fmax(hi, t[c * runs + r]);
      fprintf(out, "%-28.28s %11.3f %9.2f %12.2f %12.2f\n", conf[c].label, med / 1e6,
              2 * model->macs / med, ref / med, med / base);
      json_object *jc = json_object_new_object();
      json_object_object_add(jc, "name", json_object_new_string(conf[c].label));
      json_object_object_add(jc, "median_ms", json_object_new_double(med / 1e6));
      json_object_object_add(jc, "min_ms", json_object_new_double(lo / 1e6));
      json_object_object_add(jc, "max_ms", json_object_new_double(hi / 1e6));
      json_object_object_add(jc, "runs", json_object_new_int(n));
      json_object_object_add(jc, "disturbed_runs", json_object_new_int(busy[c]));
      json_object_array_add(arr, jc);
    }
    int disturbed = 0;
    for (int c = 0; c < nc; c++) disturbed += busy[c];
    if (disturbed)
      fprintf(out, "warning: %d of the timed runs ran while another process held a CPU of the "
              "team (its thread had under 90%% of it): the medians may carry that load\n", disturbed);
    json_object_object_add(js, "disturbed_runs", json_object_new_int(disturbed));
    const double bound = o->profile ? mbt_roofline_net_bound_ns(o->profile, model, o->threads) : 0;
    if (bound > 0) { /* how far the plan is from what no plan can beat */
      fprintf(out, "%-28s %11.3f %9.2f %12.2f %12.2f  (every layer at its roofline ceiling)\n",
              "roofline bound", bound / 1e6, 2 * model->macs / bound, ref / bound, bound / base);
      json_object_object_add(js, "bound_ms", json_object_new_double(bound / 1e6));
    }
    json_object_object_add(js, "format", json_object_new_string("mobitune-e2e"));
    json_object_object_add(js, "version", json_object_new_int(1));
    json_object_object_add(js, "net", json_object_new_string(mbt_net_name(model->kind)));
    json_object_object_add(js, "alpha", json_object_new_double(model->alpha));
    json_object_object_add(js, "res", json_object_new_int(model->res));
    json_object_object_add(js, "threads", json_object_new_int(o->threads));
    json_object_object_add(js, "configs", arr);
    if (o->save) {
      const char *text = json_object_to_json_string_ext(js, JSON_C_TO_STRING_PRETTY);
      st = mbt_write_atomic(o->save, text, strlen(text));
      if (st == MBT_OK) fprintf(out, "end-to-end results saved to %s (the report reads them)\n", o->save);
    }
    json_object_put(js);
  }
  free(t);
  mbt_free(in);
  for (int c = 0; c < nc; c++) mbt_engine_destroy(eng[c]);
  return st;
}
