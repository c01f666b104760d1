/* bench/bench.c -- per-layer, per-variant timings and end-to-end comparisons, measured in one
 * run so that ratios are meaningful on a noisy machine (configurations are interleaved round by
 * round, and medians are quoted). */
#include "config.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "common/common.h"
#include "machine/counters.h"
#include "machine/isa.h"
#include "machine/machine.h"
#include "net/net.h"
#include "tuner/tuner.h"

#define MAX_CONF 12

/* What every row of the per-variant table needs. */
struct table {
  const struct mbt_model *model;
  const struct mbt_bench_opts *o;
  const struct mbt_counters *cc;
  int line, reps; /* the cache line (bytes) the counters' misses stand for; repetitions */
  double min_ms;  /* the least time of one repetition */
  FILE *out;
};

/* A share of a roofline bound as a table cell: up to 5% above it is within the timing's noise
 * ("~100%"); more is a figure the bound says cannot be, and its @p what is marked SUSPECT. */
static void pct_cell(FILE *out, double pct, const char *what) {
  if (pct > 105) fprintf(out, "   >100%% (%s SUSPECT)", what);
  else if (pct > 100) fprintf(out, "   ~100%%");
  else if (pct > 0) fprintf(out, " %6.1f%%", pct);
}

/* One row: variant @p v on layer @p i, timed alone on the buffers @p b. */
static enum mbt_status variant_row(const struct table *tb, int i, const struct mbt_variant *v,
                                   const struct mbt_layer_bufs *b) {
  const struct mbt_layer *l = &tb->model->layers[i];
  const struct mbt_bench_opts *o = tb->o;
  FILE *out = tb->out;
  struct mbt_timing t;
  struct mbt_exec x = b->x;
  float *packed;
  if (v->flags & MBT_FOLD) { /* alone it would time the activations' scale it falls back to */
    fprintf(out, "%-12s %-64s %10s  (folds into the next layer's weights: timed only inside the "
            "network)\n", l->name, v->name, "-");
    return MBT_OK;
  }
  const struct mbt_kshape ks = mbt_layer_kshape(l);
  const enum mbt_status st = (enum mbt_status)mbt_variant_pack(v, &ks, b->w, &packed);
  if (st != MBT_OK) return st;
  mbt_exec_bind(&x, v, packed);
  mbt_measure(v, &x, 1, tb->min_ms, tb->reps, &t);
  mbt_free(packed);
  struct mbt_place pc = {0};
  if (o->profile) mbt_roofline_place(o->profile, tb->model, i, 1, &pc);
  fprintf(out, "%-12s %-64s %10.2f %6.1f%% %9.2f %8.2f", l->name, v->name,
          t.median_ns / 1e3, 100 * (t.max_ns - t.min_ns) / t.median_ns,
          2 * l->macs / t.median_ns, l->bytes / t.median_ns);
  const double pct = pc.attainable > 0 ? 100 * 2 * l->macs / t.median_ns / pc.attainable : 0;
  if (pct > 105) /* a ceiling is what the machine reaches: this one is too low */
    mbt_profile_beaten(o->profile, mbt_profile_binding(o->profile, &pc, 1, 1));
  pct_cell(out, pct, "ceiling");
  double cf, cb; /* where the machine counts FLOPs and misses: measured I and GFLOP/s */
  if (mbt_counters_roofline(tb->cc->events, t.counters, t.ncounters, tb->line, &cf, &cb))
    fprintf(out, "  counters: I %.2f FLOP/B (analytic %.2f), %.1f GFLOP/s", cb > 0 ? cf / cb : 0,
            l->bytes > 0 ? 2 * l->macs / l->bytes : 0, cf / t.median_ns);
  fprintf(out, "\n");
  return MBT_OK;
}

/* The per-variant table: every candidate on every distinct layer alone, 1 thread (only the
 * counters' line when o->e2e_only). */
static enum mbt_status layer_table(const struct mbt_model *model, const struct mbt_bench_opts *o,
                                   FILE *out) {
  struct table tb = {model, o, NULL, 64, o->quick ? 3 : 7, o->quick ? 0.3 : 2.0, out};
  mbt_topo_pin(0);
  tb.cc = mbt_counters_get();
  struct mbt_machine mach;
  mbt_machine_detect(&mach);
  const struct mbt_cache *l1 = mbt_machine_cache(&mach, 1);
  tb.line = l1 && l1->line > 0 ? l1->line : 64;
  char note[192];
  mbt_counters_probe(note, sizeof note);
  fprintf(out, "# counters: %s\n", note);
  if (o->e2e_only) return MBT_OK; /* the in-network table follows the rounds */
  fprintf(out, "# per layer and variant, 1 thread: median of %d calibrated repetitions; GB/s of "
               "compulsory traffic; %%roof = GFLOP/s over the layer's roofline bound%s\n", tb.reps,
          o->profile ? "" : " (no profile: run 'mobitune roofline')");
  fprintf(out, "%-12s %-64s %10s %7s %9s %8s %7s\n", "layer", "variant", "median us", "spread",
          "GFLOP/s", "GB/s", "%roof");
  for (int i = 0; i < model->nlayers; i++) {
    const struct mbt_layer *l = &model->layers[i];
    if (mbt_layer_repeats(model, i)) continue;
    const struct mbt_variant *cand[32];
    const struct mbt_kshape ks = mbt_layer_kshape(l);
    const int n = mbt_registry_candidates(&ks, cand, 32);
    struct mbt_layer_bufs b;
    enum mbt_status st = mbt_layer_bufs_alloc(l, 7 + (uint64_t)i, &b);
    if (st != MBT_OK) return st;
    for (int v = 0; v < n && st == MBT_OK; v++) st = variant_row(&tb, i, cand[v], &b);
    mbt_layer_bufs_free(&b);
    if (st != MBT_OK) return st;
  }
  return MBT_OK;
}

/* One end-to-end configuration: a plan, or a variant family forced everywhere. */
struct conf {
  const char *label, *force;
  const struct mbt_plan *plan;
  char tag[24]; /* a family's "__name", which force points to */
  enum mbt_schedule sched; /* the plan configurations' schedule on several threads */
};

/* The configurations: the plan, the default plan, the compared plans, each variant family this
 * build and host run, the reference (last).  @return how many. */
static int configs(const struct mbt_plan *pl, const struct mbt_bench_opts *o,
                   struct conf conf[MAX_CONF]) {
  int nc = 0;
  conf[nc++] = (struct conf){pl ? "tuned plan" : "default plan", NULL, pl, "", 0};
  if (o->threads > 1) { /* the same plan on each schedule alone, beside the automatic choice */
    conf[nc++] = (struct conf){pl ? "tuned plan, layer schedule" : "default plan, layer schedule",
                               NULL, pl, "", MBT_SCHEDULE_LAYERS};
    conf[nc++] = (struct conf){pl ? "tuned plan, flow schedule" : "default plan, flow schedule",
                               NULL, pl, "", MBT_SCHEDULE_FLOW};
  }
  if (pl) conf[nc++] = (struct conf){"default plan", NULL, NULL, "", 0}; /* untuned: static ranks */
  for (int k = 0; k < 2; k++)
    if (o->compare[k]) conf[nc++] = (struct conf){o->compare_name[k], NULL, o->compare[k], "", 0};
  const struct mbt_isa_info *fam[8];
  const int nf = mbt_registry_families(fam, 8); /* those this build has kernels for */
  for (int f = 0; f < nf && nc < MAX_CONF - 1; f++, nc++) {
    conf[nc] = (struct conf){fam[f]->family, conf[nc].tag, NULL, "", 0};
    snprintf(conf[nc].tag, sizeof conf[nc].tag, "__%s", fam[f]->family);
  }
  conf[nc++] = (struct conf){"reference", "ref/", NULL, "", 0};
  return nc;
}

/* The rounds the reference (the last configuration) runs: it is slow, so fewer. */
static int ref_rounds(int runs) { return runs < 3 ? runs : 3; }

/* Time one run of @p e on @p in, ns. */
static double timed_run(mbt_engine_t e, const float *in) {
  const double t0 = mbt_now_ns();
  mbt_engine_run(e, in);
  return mbt_now_ns() - t0;
}

/* The end-to-end rounds give MBT_WARM_RUNS untimed runs to configurations faster than this
 * (V3-Small, 1 thread: 1.10 ms without them against 0.74 in 'mobitune run'); the slow ones
 * (scalar, the reference) run each layer long enough that where their weights start barely
 * counts. */
#define WARM_MAX_NS 50e6

/* Run every engine once, then @p runs interleaved rounds (every round runs every configuration)
 * on one seeded input: t[c * runs + r] ns; busy[c] counts the runs during which another process
 * held a CPU of the team; lay[i * runs + r] is layer i's time in round r's run of the plan (on
 * several threads the layer schedule's, the second configuration; a fused group's on its first
 * layer). */
static void time_rounds(mbt_engine_t *eng, int nc, int runs, int threads, float *in, double *t,
                        int *busy, double *lay) {
  const int lay_conf = threads > 1; /* the plan on the layer schedule: each layer's own time */
  const int nl = mbt_engine_model(eng[0])->nlayers;
  int warm[MAX_CONF];
  mbt_engine_fill_input(eng[0], in, 2);
  for (int c = 0; c < nc; c++) /* warm-up; a slow configuration gets no untimed runs */
    warm[c] = timed_run(eng[c], in) < WARM_MAX_NS ? MBT_WARM_RUNS : 0;
  const int ref_runs = ref_rounds(runs);
  for (int r = 0; r < runs; r++)
    for (int c = 0; c < nc; c++) {
      if (c == nc - 1 && r >= ref_runs) continue;
      for (int w = 0; w < warm[c]; w++) mbt_engine_run(eng[c], in);
      struct mbt_load lp;
      mbt_load_begin(&lp, threads);
      double t0 = mbt_now_ns();
      mbt_engine_run(eng[c], in);
      t[c * runs + r] = mbt_now_ns() - t0;
      busy[c] += mbt_load_end(&lp) < 0.9;
      for (int i = 0; c == lay_conf && i < nl; i++)
        lay[(size_t)i * runs + r] = mbt_engine_layer_ns(eng[c], i);
    }
}

/* One row of the in-network table: the group of @p len layers from layer @p i, its @p runs
 * times at @p lay, against its roofline bound in the network; added to @p arr. */
static void group_row(const struct mbt_model *m, mbt_engine_t e, int i, int len,
                      const double *lay, int runs, const struct mbt_bench_opts *o,
                      json_object *arr, FILE *out) {
  char name[64];
  double macs = 0, bound = 0;
  int n = 0;
  for (int k = i; k < i + len; k++) {
    struct mbt_place pc = {0};
    if (o->profile) /* a folded scale by the fold's work */
      mbt_place_as_run(o->profile, m, k, o->threads, mbt_engine_folds(e, k)
                       ? mbt_engine_variant(e, k) : NULL, &pc);
    macs += m->layers[k].macs, bound += pc.net_ns;
    n += snprintf(name + n, sizeof name - (size_t)n, "%s%s", k > i ? "+" : "",
                  m->layers[k].name);
    if (n >= (int)sizeof name) n = (int)sizeof name - 1;
  }
  const double med = mbt_median(&lay[(size_t)i * runs], runs);
  const char *v = len == 3 ? "fused block" : len == 2 ? "fused pair" : mbt_engine_variant(e, i);
  fprintf(out, "%-30.30s %-56.56s %10.2f %9.2f", name, v ? v : "-", med / 1e3,
          med > 0 ? 2 * macs / med : 0);
  if (bound > 0 && med > 0) {
    fprintf(out, " %10.2f", bound / 1e3);
    pct_cell(out, 100 * bound / med, "bound");
    fprintf(out, "\n");
  } else {
    fprintf(out, " %10s %7s\n", "-", "-");
  }
  json_object *jl = json_object_new_object();
  json_object_object_add(jl, "first", json_object_new_int(i));
  json_object_object_add(jl, "layers", json_object_new_int(len));
  json_object_object_add(jl, "name", json_object_new_string(name));
  json_object_object_add(jl, "median_us", json_object_new_double(med / 1e3));
  if (bound > 0) json_object_object_add(jl, "bound_us", json_object_new_double(bound / 1e3));
  json_object_array_add(arr, jl);
}

/* The first configuration's layers inside the network, a fused group a row, each against its
 * roofline bound there; @return their JSON array. */
static json_object *net_layer_table(const struct mbt_model *m, mbt_engine_t e, const char *label,
                                    const double *lay, int runs, const struct mbt_bench_opts *o,
                                    FILE *out) {
  json_object *arr = json_object_new_array();
  fprintf(out, "\n# %s, layer by layer inside the network (%d thread%s): median over the rounds; "
               "a fused pair or block is one row; %%bound = its roofline bound in the network "
               "over its time%s\n", label, o->threads, o->threads > 1 ? "s" : "",
          o->profile ? "" : " (no profile: run 'mobitune roofline')");
  fprintf(out, "%-30s %-56s %10s %9s %10s %7s\n", "layer", "variant", "median us", "GFLOP/s",
          "bound us", "%bound");
  double sum = 0;
  for (int i = 0; i < m->nlayers; i++) {
    const int len = mbt_engine_group(e, i);
    if (len == 0) continue;
    group_row(m, e, i, len, lay, runs, o, arr, out);
    sum += mbt_median(&lay[(size_t)i * runs], runs);
  }
  fprintf(out, "%-30s %-56s %10.2f\n", "sum of the rows", "", sum / 1e3);
  return arr;
}

/* Print the row of configuration @p label (its @p n times at @p t) and @return its JSON object. */
static json_object *config_row(const struct mbt_model *model, const char *label, const double *t,
                               int n, int busy, double ref, double base, FILE *out) {
  const double med = mbt_median(t, n);
  double lo = t[0], hi = lo;
  for (int r = 1; r < n; r++) lo = fmin(lo, t[r]), hi = fmax(hi, t[r]);
  fprintf(out, "%-28.28s %11.3f %9.2f %12.2f %12.2f\n", label, med / 1e6,
          2 * model->macs / med, ref / med, med / base);
  json_object *jc = json_object_new_object();
  json_object_object_add(jc, "name", json_object_new_string(label));
  json_object_object_add(jc, "median_ms", json_object_new_double(med / 1e6));
  json_object_object_add(jc, "min_ms", json_object_new_double(lo / 1e6));
  json_object_object_add(jc, "max_ms", json_object_new_double(hi / 1e6));
  json_object_object_add(jc, "runs", json_object_new_int(n));
  json_object_object_add(jc, "disturbed_runs", json_object_new_int(busy));
  return jc;
}

/* The end-to-end table of the timings @p t (time_rounds'), the roofline bound beside it, and
 * the same as JSON at o->save when set. */
static enum mbt_status e2e_table(const struct mbt_model *model, const struct conf *conf, int nc,
                                 const double *t, const int *busy, int runs,
                                 const struct mbt_bench_opts *o, json_object *layers,
                                 json_object *cotenant, FILE *out) {
  const int ref_runs = ref_rounds(runs);
  char title[64];
  mbt_model_title(model, title, sizeof title);
  fprintf(out, "\n# %s res %d, %d thread(s), %d interleaved rounds\n", title, model->res,
          o->threads, runs);
  fprintf(out, "# each timed run follows %d untimed ones of its configuration (none for one "
          "slower than %.0f ms), so that it finds its weights where a repeated inference finds "
          "them, not where the other configurations' runs pushed them\n", MBT_WARM_RUNS,
          WARM_MAX_NS / 1e6);
  const double ref = mbt_median(&t[(nc - 1) * runs], ref_runs);
  const double base = mbt_median(&t[0], runs);
  fprintf(out, "%-28s %11s %9s %12s %12s\n", "configuration", "median ms", "GFLOP/s",
          "x reference", "time / plan");
  json_object *js = json_object_new_object(), *arr = json_object_new_array();
  int disturbed = 0;
  for (int c = 0; c < nc; c++) {
    const int n = c == nc - 1 ? ref_runs : runs;
    json_object_array_add(arr, config_row(model, conf[c].label, &t[c * runs], n, busy[c], ref,
                                          base, out));
    disturbed += busy[c];
  }
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
  json_object_object_add(js, "net", json_object_new_string(model->name));
  json_object_object_add(js, "alpha", json_object_new_double(model->alpha));
  json_object_object_add(js, "res", json_object_new_int(model->res));
  json_object_object_add(js, "threads", json_object_new_int(o->threads));
  json_object_object_add(js, "configs", arr);
  json_object_object_add(js, "layers", layers); /* the first configuration's, in the network */
  if (cotenant) json_object_object_add(js, "cotenant", cotenant);
  enum mbt_status st = MBT_OK;
  if (o->save) {
    const char *text = json_object_to_json_string_ext(js, JSON_C_TO_STRING_PRETTY);
    st = mbt_write_atomic(o->save, text, strlen(text));
    if (st == MBT_OK)
      fprintf(out, "end-to-end results saved to %s (the report reads them)\n", o->save);
  }
  json_object_put(js);
  return st;
}

/* Loaded runs per configuration and round beside a co-tenant: a run shorter than the
 * scheduler's slice falls wholly inside the loop's turn or ours, so the median needs several. */
#define LOADED_RUNS 4
/* Untimed runs before a quiet timed one (after a first untimed run, at least): as long as the
 * loaded blocks give the last configuration's idle threads to go to sleep. */
#define QUIET_WARM_NS 50e6

/* The plans (the configurations that force no family) timed quiet and beside the co-tenant,
 * interleaved round by round; with several threads, the first plan on one quiet thread too
 * (what a second thread beside a co-tenant has to beat), the results as JSON in *@p res. */
static enum mbt_status cotenant_rounds(const struct mbt_model *model, const struct conf *conf,
                                       int nc, mbt_engine_t *eng, const float *in, int runs,
                                       const struct mbt_bench_opts *o, json_object **res,
                                       FILE *out) {
  struct mbt_cotenant ct;
  int idx[MAX_CONF], np = 0;
  for (int c = 0; c < nc; c++)
    if (!conf[c].force) idx[np++] = c;
  const int lr = LOADED_RUNS * runs; /* loaded runs per configuration */
  double *t = calloc((size_t)(np + 1) * (size_t)runs + (size_t)np * (size_t)lr, sizeof *t);
  double *tl = t ? t + (size_t)(np + 1) * runs : NULL; /* tl[k * lr + i]: loaded */
  mbt_engine_t one = NULL;
  enum mbt_status st = t ? mbt_cotenant_start(&ct, o->cotenant_cpu, o->cotenant_nice)
                         : mbt_fail(MBT_ENOMEM, "cannot allocate the co-tenant's rounds");
  if (st != MBT_OK) {
    free(t);
    return st;
  }
  if (o->threads > 1 && mbt_engine_create(model, conf[0].plan, NULL, 1, &one) == MBT_OK &&
      conf[0].plan)
    mbt_engine_apply_plan(one, conf[0].plan);
  for (int r = 0; r < runs; r++) {
    /* Each configuration in a block of its own, as a process that runs one engine would: the
     * idle threads of another engine's schedule (OpenMP's team spins for milliseconds after
     * a parallel region) would take the core the next one needs.  The first in the block
     * turns each round.  Quiet too, untimed runs for QUIET_WARM_NS first: after two, the flow
     * schedule's quiet runs met the last engine's spinning team and came out slower than its
     * loaded ones (V1 5.39 against 4.86 ms). */
    for (int i = 0; i <= np; i++) {
      const int k = (i + r) % (np + 1);
      mbt_engine_t e = k < np ? eng[idx[k]] : one;
      if (!e) continue;
      timed_run(e, in);
      for (const double t0 = mbt_now_ns(); mbt_now_ns() - t0 < QUIET_WARM_NS;) timed_run(e, in);
      t[(size_t)k * runs + r] = timed_run(e, in);
    }
    mbt_cotenant_run(&ct, 1);
    for (int i = 0; i < np; i++) {
      const int k = (i + r) % np;
      /* A task resumed after a stop (the loop) or a sleep (the team) is placed with credit for
       * the time it waited and runs ahead of its share for a while: untimed runs for 200 ms
       * first, so the timed ones meet a steady co-tenant; 50 ms before the next
       * configurations, for the last one's idle threads to go to sleep. */
      for (const double t0 = mbt_now_ns(); mbt_now_ns() - t0 < (i ? 50e6 : 200e6);)
        timed_run(eng[idx[k]], in);
      for (int j = 0; j < LOADED_RUNS; j++)
        tl[(size_t)k * lr + (size_t)r * LOADED_RUNS + j] = timed_run(eng[idx[k]], in);
    }
    mbt_cotenant_run(&ct, 0);
  }
  mbt_cotenant_stop(&ct);
  mbt_engine_destroy(one);
  const double one_ms = one ? mbt_median(&t[(size_t)np * runs], runs) / 1e6 : 0;
  fprintf(out, "\n# beside a co-tenant: a busy loop pinned to CPU %d at nice %d; %d rounds, "
               "each one quiet run of every configuration (after 50 ms of untimed ones) and, "
               "loaded, each in a block of %d runs after 200 ms (the first) or 50 ms of untimed "
               "ones; %d thread%s\n",
          o->cotenant_cpu, o->cotenant_nice, runs, LOADED_RUNS, o->threads,
          o->threads > 1 ? "s" : "");
  fprintf(out, "%-28s %11s %11s %13s %s\n", "configuration", "quiet ms", "loaded ms",
          "loaded/quiet", one ? "loaded / quiet 1 thread" : "");
  json_object *js = json_object_new_object(), *arr = json_object_new_array();
  for (int k = 0; k < np; k++) {
    const double q = mbt_median(&t[(size_t)k * runs], runs) / 1e6;
    const double l = mbt_median(&tl[(size_t)k * lr], lr) / 1e6;
    fprintf(out, "%-28.28s %11.3f %11.3f %13.2f", conf[idx[k]].label, q, l, l / q);
    if (one) fprintf(out, " %12.2f", l / one_ms);
    fprintf(out, "\n");
    json_object *jc = json_object_new_object();
    json_object_object_add(jc, "name", json_object_new_string(conf[idx[k]].label));
    json_object_object_add(jc, "quiet_ms", json_object_new_double(q));
    json_object_object_add(jc, "loaded_ms", json_object_new_double(l));
    json_object_array_add(arr, jc);
  }
  if (one) fprintf(out, "%-28s %11.3f\n", "first plan, 1 thread, quiet", one_ms);
  json_object_object_add(js, "cpu", json_object_new_int(o->cotenant_cpu));
  json_object_object_add(js, "nice", json_object_new_int(o->cotenant_nice));
  json_object_object_add(js, "configs", arr);
  if (one) json_object_object_add(js, "one_thread_quiet_ms", json_object_new_double(one_ms));
  free(t);
  *res = js;
  return MBT_OK;
}

enum mbt_status mbt_bench(const struct mbt_model *model, const struct mbt_plan *pl,
                          const struct mbt_bench_opts *o, FILE *out) {
  enum mbt_status st = o->cotenant ? mbt_cotenant_valid(o->cotenant_cpu) : MBT_OK;
  if (st == MBT_OK) st = layer_table(model, o, out);
  if (st != MBT_OK) return st;
  /* End to end: the plan, each variant family forced, the reference. */
  struct conf conf[MAX_CONF];
  const int nc = configs(pl, o, conf);
  mbt_pin_threads(o->threads);
  mbt_engine_t eng[MAX_CONF] = {0};
  for (int c = 0; c < nc && st == MBT_OK; c++) {
    st = mbt_engine_create(model, conf[c].plan, conf[c].force, 1, &eng[c]);
    if (st == MBT_OK) mbt_engine_set_threads(eng[c], o->threads);
    if (st == MBT_OK) mbt_engine_set_schedule(eng[c], conf[c].sched);
    if (st == MBT_OK && conf[c].plan) st = mbt_engine_apply_plan(eng[c], conf[c].plan);
  }
  const size_t nin = (size_t)model->res * model->res * 3;
  float *in = st == MBT_OK ? mbt_alloc(nin, sizeof(float)) : NULL;
  const int runs = o->runs > 0 ? o->runs : 10;
  double *t = calloc((size_t)nc * (size_t)runs, sizeof *t);
  double *lay = calloc((size_t)model->nlayers * (size_t)runs, sizeof *lay);
  int busy[MAX_CONF] = {0};
  if (st == MBT_OK && (!in || !t || !lay)) st = mbt_fail(MBT_ENOMEM, "cannot allocate benchmark buffers");
  if (st == MBT_OK) {
    time_rounds(eng, nc, runs, o->threads, in, t, busy, lay);
    const int lc = o->threads > 1; /* the configuration time_rounds takes the layers of */
    json_object *layers = net_layer_table(model, eng[lc], conf[lc].label, lay, runs, o, out);
    json_object *ct = NULL;
    if (o->cotenant) st = cotenant_rounds(model, conf, nc, eng, in, runs, o, &ct, out);
    if (st == MBT_OK) st = e2e_table(model, conf, nc, t, busy, runs, o, layers, ct, out);
    else json_object_put(layers);
  }
  free(t);
  free(lay);
  mbt_free(in);
  for (int c = 0; c < nc; c++) mbt_engine_destroy(eng[c]);
  return st;
}
