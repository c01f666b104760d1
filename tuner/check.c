/* tuner/check.c -- the check at the end of a tune: is the tuned plan faster than the plans
 * nobody tuned?  The tuned plan, the default plan (static ranks, nothing fused) and every
 * fixed SIMD family run the whole network round-robin, and each one's median is kept with
 * each layer's.  A timed run during which another process held a CPU of the team is taken
 * again (within a budget); one still disturbed is counted and said.  Where the tuned plan is
 * slower beyond the noise than the fastest untuned plan (the default or a fixed family), the
 * problems whose layers ran slower than that plan's (a layer, a fused pair or block) get its
 * choice back, marked as a fallback, and the plans are timed again.  The outcome is stored in
 * the plan (mbt_check), so 'plan show', the report and a later tune can say it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "machine/isa.h"
#include "tuner/tuner.h"

#define NOISE 0.02   /* a plan this much slower than another is slower (the tuner's TIE) */
#define CULPRIT 0.05 /* a problem whose layers run this much slower than the untuned plan's */
#define MAXCONF 6
#define RUN_SHARE 0.90 /* a timed run whose team thread had less of its CPU was disturbed */

struct timed {
  int nc;
  const char *name[MAXCONF];
  mbt_engine_t e[MAXCONF];
  double med[MAXCONF];  /* network medians, ns */
  double *layer[MAXCONF]; /* per-layer medians of each configuration, ns */
  double spread;        /* the tuned plan's (p75 - p25) / median */
  int retaken, disturbed; /* timed runs taken again, and still disturbed when kept */
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
 * its own; a disturbed run is taken again while the budget (one retake a round) lasts. */
static enum mbt_status time_all(const struct mbt_model *m, int threads, struct timed *t,
                                int rounds) {
  const int n = m->nlayers;
  double *tot = calloc((size_t)t->nc * (size_t)rounds, sizeof *tot);
  double *lay = calloc((size_t)t->nc * (size_t)n * (size_t)rounds, sizeof *lay);
  float *in = mbt_alloc((size_t)m->res * m->res * 3, sizeof(float));
  if (!tot || !lay || !in) {
    free(tot), free(lay), mbt_free(in);
    return mbt_fail(MBT_ENOMEM, "cannot allocate the check's buffers");
  }
  mbt_engine_fill_input(t->e[0], in, 2);
  for (int c = 0; c < t->nc; c++) mbt_engine_run(t->e[c], in); /* warm-up: packing, caches */
  int retakes = rounds;
  t->retaken = t->disturbed = 0;
  for (int r = 0; r < rounds; r++)
    for (int c = 0; c < t->nc; c++) {
      for (int w = 0; w < MBT_WARM_RUNS; w++) mbt_engine_run(t->e[c], in);
      struct mbt_load lp;
      mbt_load_begin(&lp, threads);
      const double t0 = mbt_now_ns();
      mbt_engine_run(t->e[c], in);
      tot[c * rounds + r] = mbt_now_ns() - t0;
      if (mbt_load_end(&lp) < RUN_SHARE) {
        if (retakes > 0) {
          retakes--, t->retaken++, c--; /* the same configuration again */
          continue;
        }
        t->disturbed++;
      }
      for (int i = 0; i < n; i++)
        lay[((size_t)c * n + i) * rounds + r] = mbt_engine_layer_ns(t->e[c], i);
    }
  for (int c = 0; c < t->nc; c++) t->med[c] = mbt_median(&tot[c * rounds], rounds);
  for (int c = 0; c < t->nc; c++)
    for (int i = 0; i < n; i++) t->layer[c][i] = mbt_median(&lay[((size_t)c * n + i) * rounds], rounds);
  qsort(tot, (size_t)rounds, sizeof *tot, cmp_d); /* the tuned plan's rounds, sorted */
  t->spread = t->med[0] > 0 ? (tot[(3 * rounds) / 4] - tot[rounds / 4]) / t->med[0] : 0;
  free(tot), free(lay), mbt_free(in);
  return MBT_OK;
}

/* The fastest untuned configuration: the default plan or a fixed family. */
static int fastest_untuned(const struct timed *t) {
  int best = 1;
  for (int c = 2; c < t->nc; c++)
    if (t->med[c] < t->med[best]) best = c;
  return best;
}

static void destroy(struct timed *t) {
  for (int c = 0; c < t->nc; c++) mbt_engine_destroy(t->e[c]);
  t->nc = 0;
}

/* Put back an untuned choice of one entry (@p key: @p variant). @return 1 when it changed. */
static int put_back(struct mbt_plan *pl, const char *key, const char *variant) {
  const struct mbt_choice *c = mbt_plan_find(pl, key);
  if (!c || (!strcmp(c->variant, variant) && !c->threads)) return 0; /* none, or the default */
  struct mbt_choice d = *c;
  snprintf(d.variant, sizeof d.variant, "%s", variant);
  d.fallback = 1, d.tie = 0, d.threads = 0; /* its candidates stay: they say what was tried */
  return mbt_plan_put(pl, &d) == MBT_OK;
}

/* The group of @p len layers from @p i gets configuration @p ref's choice back: unfused, and
 * each of its layers on that plan's variant. */
static int untuned_back(const struct mbt_model *m, struct mbt_plan *pl, int threads,
                        const struct timed *t, int ref, int i, int len) {
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
    count += put_back(pl, kt, mbt_engine_variant(t->e[ref], j));
  }
  return count;
}

/* The tuned plan's problems whose layers ran slower than those of configuration @p ref (the
 * fastest untuned one) get its choice back.  A fused group (the layers after its first report
 * 0 ns) is one problem: its pair or block entry becomes "unfused".  Layers sharing a key are
 * summed.  @return how many. */
static int fall_back(const struct mbt_model *m, struct mbt_plan *pl, int threads,
                     const struct timed *t, int ref, int verbose) {
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
    for (int j = i; j < i + g; j++) tu[i] += t->layer[0][j], de[i] += t->layer[ref][j];
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
      fprintf(stderr, "tune: check: %s ran %.1f us against the %s plan's %.1f us: back to its "
              "choice\n", key[i], su / 1e3, t->name[ref], sd / 1e3);
    for (int j = i; j < n; j++) /* every layer and group with this key */
      if (len[j] && !strcmp(key[j], key[i])) count += untuned_back(m, pl, threads, t, ref, j, len[j]);
  }
out:
  free(key), free(tu), free(de), free(len);
  return count;
}

static void fill(struct mbt_check *c, const struct timed *t, int rounds) {
  c->tuned_ns = t->med[0], c->default_ns = t->med[1], c->spread = t->spread, c->rounds = rounds;
  c->retaken = t->retaken, c->disturbed = t->disturbed;
  c->fixed_ns = 0, c->fixed[0] = 0;
  for (int k = 2; k < t->nc; k++)
    if (c->fixed_ns == 0 || t->med[k] < c->fixed_ns)
      c->fixed_ns = t->med[k], snprintf(c->fixed, sizeof c->fixed, "%s", t->name[k]);
}

/* Is the tuned plan slower than the default or the best fixed family, beyond the noise? */
static int slower(const struct mbt_check *c) {
  const double untuned = c->fixed_ns > 0 && c->fixed_ns < c->default_ns ? c->fixed_ns
                                                                         : c->default_ns;
  return c->tuned_ns > untuned * (1 + NOISE);
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
  int have = 1;
  for (int c = 0; c < MAXCONF; c++) have &= (t.layer[c] = calloc((size_t)m->nlayers, sizeof(double))) != NULL;
  enum mbt_status st = have ? engines(m, pl, threads, &t)
                            : mbt_fail(MBT_ENOMEM, "cannot allocate the check");
  if (st == MBT_OK) st = time_all(m, threads, &t, rounds);
  if (st == MBT_OK) {
    fill(out, &t, rounds);
    out->outcome = MBT_CHECK_FASTER;
    if (slower(out)) {
      const int ref = fastest_untuned(&t);
      if (verbose)
        fprintf(stderr, "tune: check: the tuned plan ran %.3f ms against the %s plan's %.3f "
                "ms: looking for the problems responsible\n", out->tuned_ns / 1e6, t.name[ref],
                t.med[ref] / 1e6);
      out->fallbacks = fall_back(m, pl, threads, &t, ref, verbose);
      destroy(&t);
      if (out->fallbacks > 0 && (st = engines(m, pl, threads, &t)) == MBT_OK)
        st = time_all(m, threads, &t, rounds);
      if (st == MBT_OK && out->fallbacks > 0) fill(out, &t, rounds);
      out->outcome = slower(out) ? MBT_CHECK_SLOWER : out->fallbacks ? MBT_CHECK_FALLBACK
                                                                      : MBT_CHECK_FASTER;
    }
  }
  destroy(&t);
  for (int c = 0; c < MAXCONF; c++) free(t.layer[c]);
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
                       : c->outcome == MBT_CHECK_FALLBACK ? "slower choices were put back to an untuned plan's"
                                                          : "STILL SLOWER than an untuned plan");
  if (c->fallbacks) fprintf(out, " (%d fallback%s)", c->fallbacks, c->fallbacks > 1 ? "s" : "");
  if (c->busy_passes) fprintf(out, "; %d of %d passes ran busy", c->busy_passes, c->passes);
  if (c->disturbed)
    fprintf(out, "; %d timed run%s DISTURBED (another process held a CPU), after %d retake%s",
            c->disturbed, c->disturbed > 1 ? "s" : "", c->retaken, c->retaken == 1 ? "" : "s");
  else if (c->retaken)
    fprintf(out, "; %d disturbed run%s taken again", c->retaken, c->retaken > 1 ? "s" : "");
  fprintf(out, "\n");
}
