/* tuner/check.c -- the check at the end of a tune: is the tuned plan faster than the plan
 * nobody tuned?  The tuned plan, the default plan (static ranks, nothing fused) and every
 * fixed SIMD family run the whole network round-robin, and each one's median is kept with
 * each layer's.  Where the tuned plan is slower than the default beyond the noise, the
 * problems whose layers ran slower than the default's (a layer, a fused pair or block) get the
 * default choice back, marked as a fallback, and the plans are timed again.  The outcome is
 * stored in the plan (mbt_check), so 'plan show', the report and a later tune can say it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "machine/isa.h"
#include "tuner/tuner.h"

#define NOISE 0.02   /* a plan this much slower than another is slower (the tuner's TIE) */
#define CULPRIT 0.05 /* a problem whose layers run this much slower than the default's */
#define MAXCONF 6

struct timed {
  int nc;
  const char *name[MAXCONF];
  mbt_engine_t e[MAXCONF];
  double med[MAXCONF];  /* network medians, ns */
  double *layer[2];     /* per-layer medians of conf 0 (tuned) and 1 (default), ns */
  double spread;        /* the tuned plan's (p75 - p25) / median */
};

static int cmp_d(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Make the engines: the tuned plan, the default plan, each SIMD family the host runs. */
static enum mbt_status engines(const struct mbt_model *m, const struct mbt_plan *pl, int threads,
                               struct timed *t) {
  const struct mbt_isa_info *fam[8];
  const int nf = mbt_registry_families(fam, 8);
  t->name[0] = "tuned", t->name[1] = "default";
  t->nc = 2;
  for (int f = nf - 1; f >= 0; f--) /* the SIMD families, widest first */
    if (fam[f]->bit != MBT_ISA_SCALAR && t->nc < MAXCONF) t->name[t->nc++] = fam[f]->family;
  enum mbt_status st = MBT_OK;
  for (int c = 0; c < t->nc && st == MBT_OK; c++) {
    char force[16];
    snprintf(force, sizeof force, "__%s", t->name[c]);
    st = mbt_engine_create(m, c == 0 ? pl : NULL, c >= 2 ? force : NULL, 1, &t->e[c]);
    if (st == MBT_OK) mbt_engine_set_threads(t->e[c], threads);
    if (st == MBT_OK) mbt_engine_set_schedule(t->e[c], MBT_SCHEDULE_LAYERS); /* as timed */
    if (st == MBT_OK && c == 0) st = mbt_engine_apply_plan(t->e[c], pl);
  }
  return st;
}

/* Time every configuration @p rounds times, round-robin, each timed run after MBT_WARM_RUNS of
 * its own. */
static enum mbt_status time_all(const struct mbt_model *m, struct timed *t, int rounds) {
  const int n = m->nlayers;
  double *tot = calloc((size_t)t->nc * (size_t)rounds, sizeof *tot);
  double *lay = calloc(2 * (size_t)n * (size_t)rounds, sizeof *lay);
  float *in = mbt_alloc((size_t)m->res * m->res * 3, sizeof(float));
  if (!tot || !lay || !in) {
    free(tot), free(lay), mbt_free(in);
    return mbt_fail(MBT_ENOMEM, "cannot allocate the check's buffers");
  }
  mbt_engine_fill_input(t->e[0], in, 2);
  for (int c = 0; c < t->nc; c++) mbt_engine_run(t->e[c], in); /* warm-up: packing, caches */
  for (int r = 0; r < rounds; r++)
    for (int c = 0; c < t->nc; c++) {
      for (int w = 0; w < MBT_WARM_RUNS; w++) mbt_engine_run(t->e[c], in);
      const double t0 = mbt_now_ns();
      mbt_engine_run(t->e[c], in);
      tot[c * rounds + r] = mbt_now_ns() - t0;
      for (int i = 0; c < 2 && i < n; i++)
        lay[((size_t)c * n + i) * rounds + r] = mbt_engine_layer_ns(t->e[c], i);
    }
  for (int c = 0; c < t->nc; c++) t->med[c] = mbt_median(&tot[c * rounds], rounds);
  for (int c = 0; c < 2; c++)
    for (int i = 0; i < n; i++) t->layer[c][i] = mbt_median(&lay[((size_t)c * n + i) * rounds], rounds);
  qsort(tot, (size_t)rounds, sizeof *tot, cmp_d); /* the tuned plan's rounds, sorted */
  t->spread = t->med[0] > 0 ? (tot[(3 * rounds) / 4] - tot[rounds / 4]) / t->med[0] : 0;
  free(tot), free(lay), mbt_free(in);
  return MBT_OK;
}

static void destroy(struct timed *t) {
  for (int c = 0; c < t->nc; c++) mbt_engine_destroy(t->e[c]);
  t->nc = 0;
}

/* Put back the default choice of one entry (@p key: @p variant). @return 1 when it changed. */
static int put_back(struct mbt_plan *pl, const char *key, const char *variant) {
  const struct mbt_choice *c = mbt_plan_find(pl, key);
  if (!c || (!strcmp(c->variant, variant) && !c->threads)) return 0; /* none, or the default */
  struct mbt_choice d = *c;
  snprintf(d.variant, sizeof d.variant, "%s", variant);
  d.fallback = 1, d.tie = 0, d.threads = 0; /* its candidates stay: they say what was tried */
  return mbt_plan_put(pl, &d) == MBT_OK;
}

/* The group of @p len layers from @p i gets the default back: unfused, and each of its layers
 * on the default plan's variant. */
static int default_back(const struct mbt_model *m, struct mbt_plan *pl, int threads,
                        const struct timed *t, int i, int len) {
  char kt[96], apart[16];
  struct mbt_problem p;
  int count = 0;
  if (len > 1) {
    mbt_problem_group(m, i, len, threads, &p);
    mbt_problem_key(&p, kt, sizeof kt);
    mbt_rows_name(0, apart, sizeof apart);
    count += put_back(pl, kt, apart);
  }
  for (int j = i; j < i + len; j++) {
    mbt_problem_layer(&m->layers[j], threads, &p);
    mbt_problem_key(&p, kt, sizeof kt);
    count += put_back(pl, kt, mbt_engine_variant(t->e[1], j));
  }
  return count;
}

/* The tuned plan's problems whose layers ran slower than the default plan's get the default
 * choice back.  A fused group (the layers after its first report 0 ns) is one problem: its
 * pair or block entry becomes "unfused".  Layers sharing a key are summed.  @return how many. */
static int fall_back(const struct mbt_model *m, struct mbt_plan *pl, int threads,
                     const struct timed *t, int verbose) {
  const int n = m->nlayers;
  int count = 0;
  char (*key)[96] = calloc((size_t)n, sizeof *key);
  double *tu = calloc((size_t)n, sizeof *tu), *de = calloc((size_t)n, sizeof *de);
  int *len = calloc((size_t)n, sizeof *len);
  if (!key || !tu || !de || !len) goto out;
  for (int i = 0; i < n;) { /* group i .. i + len - 1 */
    int g = 1;
    while (i + g < n && g < 3 && t->layer[0][i + g] == 0) g++;
    struct mbt_problem p;
    mbt_problem_group(m, i, g, threads, &p);
    mbt_problem_key(&p, key[i], sizeof key[i]);
    len[i] = g;
    for (int j = i; j < i + g; j++) tu[i] += t->layer[0][j], de[i] += t->layer[1][j];
    i += g;
  }
  for (int i = 0; i < n; i++) {
    if (!len[i]) continue;
    double su = 0, sd = 0;
    for (int j = i; j < n; j++)
      if (len[j] && !strcmp(key[j], key[i])) su += tu[j], sd += de[j];
    int first = 1;
    for (int j = 0; j < i && first; j++) first = !len[j] || strcmp(key[j], key[i]) != 0;
    if (!first || !(su > sd * (1 + CULPRIT) && su - sd > 1000)) continue;
    if (verbose)
      fprintf(stderr, "tune: check: %s ran %.1f us against the default's %.1f us: back to the "
              "default\n", key[i], su / 1e3, sd / 1e3);
    for (int j = i; j < n; j++) /* every layer and group with this key */
      if (len[j] && !strcmp(key[j], key[i])) count += default_back(m, pl, threads, t, j, len[j]);
  }
out:
  free(key), free(tu), free(de), free(len);
  return count;
}

static void fill(struct mbt_check *c, const struct timed *t, int rounds) {
  c->tuned_ns = t->med[0], c->default_ns = t->med[1], c->spread = t->spread, c->rounds = rounds;
  c->fixed_ns = 0, c->fixed[0] = 0;
  for (int k = 2; k < t->nc; k++)
    if (c->fixed_ns == 0 || t->med[k] < c->fixed_ns)
      c->fixed_ns = t->med[k], snprintf(c->fixed, sizeof c->fixed, "%s", t->name[k]);
}

static int slower(const struct mbt_check *c) {
  return c->tuned_ns > c->default_ns * (1 + NOISE);
}

enum mbt_status mbt_tune_check(const struct mbt_model *m, struct mbt_plan *pl, int threads,
                               int rounds, int verbose, struct mbt_check *out) {
  memset(out, 0, sizeof *out);
  threads = threads > 1 ? threads : 1;
  mbt_check_key(m, threads, out->key, sizeof out->key);
  rounds = rounds > 0 ? rounds : 15;
  mbt_pin_threads(threads);
  struct timed t;
  memset(&t, 0, sizeof t);
  t.layer[0] = calloc((size_t)m->nlayers, sizeof(double));
  t.layer[1] = calloc((size_t)m->nlayers, sizeof(double));
  enum mbt_status st = t.layer[0] && t.layer[1] ? engines(m, pl, threads, &t)
                                                : mbt_fail(MBT_ENOMEM, "cannot allocate the check");
  if (st == MBT_OK) st = time_all(m, &t, rounds);
  if (st == MBT_OK) {
    fill(out, &t, rounds);
    out->outcome = MBT_CHECK_FASTER;
    if (slower(out)) {
      if (verbose)
        fprintf(stderr, "tune: check: the tuned plan ran %.3f ms against the default plan's %.3f "
                "ms: looking for the problems responsible\n", out->tuned_ns / 1e6,
                out->default_ns / 1e6);
      out->fallbacks = fall_back(m, pl, threads, &t, verbose);
      destroy(&t);
      if (out->fallbacks > 0 && (st = engines(m, pl, threads, &t)) == MBT_OK)
        st = time_all(m, &t, rounds);
      if (st == MBT_OK && out->fallbacks > 0) fill(out, &t, rounds);
      out->outcome = slower(out) ? MBT_CHECK_SLOWER : out->fallbacks ? MBT_CHECK_FALLBACK
                                                                      : MBT_CHECK_FASTER;
    }
  }
  destroy(&t);
  free(t.layer[0]), free(t.layer[1]);
  return st;
}

void mbt_check_print(const struct mbt_check *c, FILE *out) {
  fprintf(out, "check (%s, %d interleaved rounds): tuned %.3f ms, default %.3f ms (%.2fx)",
          c->key, c->rounds, c->tuned_ns / 1e6, c->default_ns / 1e6,
          c->tuned_ns > 0 ? c->default_ns / c->tuned_ns : 0);
  if (c->fixed[0])
    fprintf(out, ", best fixed %s %.3f ms (%.2fx)", c->fixed, c->fixed_ns / 1e6,
            c->tuned_ns > 0 ? c->fixed_ns / c->tuned_ns : 0);
  fprintf(out, ": %s", c->outcome == MBT_CHECK_FASTER ? "the tuned plan is not slower"
                       : c->outcome == MBT_CHECK_FALLBACK ? "slower choices were put back to the default"
                                                          : "STILL SLOWER than the default");
  if (c->fallbacks) fprintf(out, " (%d fallback%s)", c->fallbacks, c->fallbacks > 1 ? "s" : "");
  if (c->busy_passes) fprintf(out, "; %d of %d passes ran busy", c->busy_passes, c->passes);
  fprintf(out, "\n");
}
