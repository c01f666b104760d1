/* roofline/profile.c -- the machine profile as versioned JSON (json-c), its table, and the
 * placement of a layer on the measured roofline. */
#include "config.h"

#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "machine/isa.h"
#include "roofline/roofline.h"

#define PROFILE_FORMAT 2

static json_object *fig_json(const struct mbt_figure *f) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "best", json_object_new_double(f->best));
  json_object_object_add(o, "median", json_object_new_double(f->median));
  json_object_object_add(o, "min", json_object_new_double(f->min));
  json_object_object_add(o, "max", json_object_new_double(f->max));
  json_object_object_add(o, "reps", json_object_new_int(f->reps));
  json_object_object_add(o, "flagged", json_object_new_boolean(f->flagged));
  json_object_object_add(o, "disturbed", json_object_new_int(f->disturbed));
  json_object_object_add(o, "adjusted", json_object_new_boolean(f->adjusted));
  json_object_object_add(o, "suspect", json_object_new_int(f->suspect)); /* 0-3 */
  return o;
}

static json_object *dbl_array(const double *v, int n) {
  json_object *a = json_object_new_array();
  for (int i = 0; i < n; i++) json_object_array_add(a, json_object_new_double(v[i]));
  return a;
}

static const char *const bw_names[MBT_BW_KERNELS] = {"read", "write", "copy", "triad"};

enum mbt_status mbt_profile_save(const struct mbt_profile *p, const char *path) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "format", json_object_new_string("mobitune-profile"));
  json_object_object_add(o, "format_version", json_object_new_int(PROFILE_FORMAT));
  json_object_object_add(o, "fingerprint", json_object_new_string(p->fingerprint));
  json_object_object_add(o, "mobitune", json_object_new_string(p->version));
  json_object_object_add(o, "date", json_object_new_string(p->date));
  json_object_object_add(o, "threads", json_object_new_int(p->threads));
  json_object_object_add(o, "units", json_object_new_string(
      "GFLOP/s for peaks; GB/s for bandwidth, counting the bytes each kernel loads plus the "
      "bytes it stores (STREAM and likwid-bench convention: write-allocate reads of stored "
      "lines are not counted); working sets in bytes per thread"));
  json_object_object_add(o, "clock_ghz", json_object_new_double(p->clock_ghz));
  json_object_object_add(o, "fma_latency_cycles", json_object_new_double(p->fma_latency));
  json_object_object_add(o, "clock_os_ghz", json_object_new_double(p->clock_os_ghz));
  json_object_object_add(o, "clock_flagged", json_object_new_boolean(p->clock_flagged));
  json_object *wa = json_object_new_array();
  for (int i = 0; i < p->nwarnings; i++) json_object_array_add(wa, json_object_new_string(p->warnings[i]));
  json_object_object_add(o, "warnings", wa);
  json_object *pk = json_object_new_array();
  for (int i = 0; i < p->npeaks; i++) {
    const struct mbt_peak *k = &p->peaks[i];
    json_object *e = json_object_new_object();
    json_object_object_add(e, "isa", json_object_new_string(k->isa));
    json_object_object_add(e, "kernel", json_object_new_string(k->kernel));
    json_object_object_add(e, "threads", json_object_new_int(k->threads));
    json_object_object_add(e, "chains", json_object_new_int(k->chains));
    json_object_object_add(e, "gflops", fig_json(&k->gflops));
    json_object_array_add(pk, e);
  }
  json_object_object_add(o, "peaks", pk);
  json_object *lv = json_object_new_array();
  for (int i = 0; i < p->nlevels; i++) {
    const struct mbt_bw_level *L = &p->levels[i];
    json_object *l = json_object_new_object();
    json_object_object_add(l, "name", json_object_new_string(L->name));
    json_object_object_add(l, "size", json_object_new_int64((int64_t)L->size));
    json_object_object_add(l, "size_n", json_object_new_int64((int64_t)L->size_n));
    json_object_object_add(l, "working_set", json_object_new_int64((int64_t)L->ws));
    json_object_object_add(l, "edge", json_object_new_double(L->edge));
    json_object_object_add(l, "edge_agrees", json_object_new_boolean(L->agrees));
    for (int k = 0; k < MBT_BW_KERNELS; k++)
      for (int t = 0; t < 2; t++) {
        char key[16];
        snprintf(key, sizeof key, "%s_%s", bw_names[k], t ? "n" : "1");
        json_object_object_add(l, key, fig_json(&L->bw[k][t]));
      }
    json_object_array_add(lv, l);
  }
  json_object_object_add(o, "levels", lv);
  json_object *cv = json_object_new_array();
  for (int i = 0; i < p->ncurves; i++) {
    const struct mbt_curve *c = &p->curves[i];
    json_object *e = json_object_new_object();
    json_object_object_add(e, "kernel", json_object_new_string(bw_names[c->kernel]));
    json_object_object_add(e, "threads", json_object_new_int(c->threads));
    json_object_object_add(e, "ws", dbl_array(c->ws, c->n));
    json_object_object_add(e, "best", dbl_array(c->best, c->n));
    json_object_object_add(e, "median", dbl_array(c->median, c->n));
    json_object_array_add(cv, e);
  }
  json_object_object_add(o, "curves", cv);
  json_object_object_add(o, "counters", json_object_new_boolean(p->counters));
  json_object_object_add(o, "counters_note", json_object_new_string(p->counters_note));
  const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
  char *copy = NULL;
  size_t len = strlen(text);
  enum mbt_status st = MBT_ENOMEM;
  if ((copy = malloc(len + 2))) {
    memcpy(copy, text, len);
    copy[len] = '\n';
    st = mbt_write_atomic(path, copy, len + 1);
  }
  free(copy);
  json_object_put(o);
  return st;
}

/* Typed getters that record the first missing, mistyped or out-of-range field, naming it
 * (with where it is: "levels[2].read_n.best") and the file. */
struct reader {
  const char *path;
  enum mbt_status st;
};

/* Largest cache size or working set a profile may hold (bytes). */
#define MAX_BYTES ((int64_t)1 << 48)

static json_object *get(struct reader *r, json_object *o, const char *where, const char *key,
                        json_type type) {
  json_object *v = NULL;
  if (r->st != MBT_OK) return NULL;
  if (!o || !json_object_object_get_ex(o, key, &v) ||
      !(json_object_is_type(v, type) || (type == json_type_double && json_object_is_type(v, json_type_int)))) {
    r->st = mbt_fail(MBT_EPARSE, "%s: field '%s%s%s' is missing or not a %s", r->path, where,
                     *where ? "." : "", key, json_type_to_name(type));
    return NULL;
  }
  return v;
}

static void get_str(struct reader *r, json_object *o, const char *key, char *dst, size_t n) {
  json_object *v = get(r, o, "", key, json_type_string);
  if (v) snprintf(dst, n, "%s", json_object_get_string(v));
}

/* A finite number in [lo, hi] (json-c reads NaN and Infinity: both refused). */
static int in_range(struct reader *r, double x, double lo, double hi, const char *where,
                    const char *key) {
  if (r->st == MBT_OK && !(isfinite(x) && x >= lo && x <= hi))
    r->st = mbt_fail(MBT_EPARSE, "%s: field '%s%s%s' is %g: not a finite number in [%g, %g]",
                     r->path, where, *where ? "." : "", key, x, lo, hi);
  return r->st == MBT_OK;
}

static double get_num(struct reader *r, json_object *o, const char *where, const char *key,
                      double lo, double hi) {
  json_object *v = get(r, o, where, key, json_type_double);
  const double x = v ? json_object_get_double(v) : 0;
  return v && in_range(r, x, lo, hi, where, key) ? x : 0;
}

/* An integer in [lo, hi], read as int64 (no wrap to a huge unsigned value). */
static int64_t get_int(struct reader *r, json_object *o, const char *where, const char *key,
                       int64_t lo, int64_t hi) {
  json_object *v = get(r, o, where, key, json_type_int);
  const int64_t x = v ? json_object_get_int64(v) : 0;
  if (v && (x < lo || x > hi))
    r->st = mbt_fail(MBT_EPARSE, "%s: field '%s%s%s' is %lld: not in [%lld, %lld]", r->path,
                     where, *where ? "." : "", key, (long long)x, (long long)lo, (long long)hi);
  return r->st == MBT_OK ? x : 0;
}

/* An optional field (profiles from before it was kept): @p v when present. */
static json_object *opt(json_object *o, const char *key) {
  json_object *v = NULL;
  return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* The array @p key with lo..hi elements (its length in *n), or NULL with the error recorded. */
static json_object *get_array(struct reader *r, json_object *o, const char *key, const char *what,
                              size_t lo, size_t hi, size_t *n) {
  json_object *a = get(r, o, "", key, json_type_array);
  *n = a ? json_object_array_length(a) : 0;
  if (a && (*n < lo || *n > hi)) {
    r->st = mbt_fail(MBT_EPARSE, "%s: %zu %s (expected %zu to %zu)", r->path, *n, what, lo, hi);
    return NULL;
  }
  return a;
}

/* A figure under @p where.@p key: four numbers in [0, @p hi], its repetitions and marks. */
static void get_fig(struct reader *r, json_object *o, const char *where, const char *key,
                    double hi, struct mbt_figure *f) {
  char at[64];
  snprintf(at, sizeof at, "%s%s%s", where, *where ? "." : "", key);
  json_object *v = get(r, o, where, key, json_type_object);
  static const char *const names[] = {"best", "median", "min", "max"};
  double *dst[] = {&f->best, &f->median, &f->min, &f->max};
  for (int i = 0; i < 4; i++) *dst[i] = get_num(r, v, at, names[i], 0, hi);
  f->reps = (int)get_int(r, v, at, "reps", 0, 1000000);
  json_object *fl = get(r, v, at, "flagged", json_type_boolean);
  if (fl) f->flagged = json_object_get_boolean(fl);
  json_object *x;
  if (r->st == MBT_OK && opt(v, "disturbed")) f->disturbed = (int)get_int(r, v, at, "disturbed", 0, 1000);
  if ((x = opt(v, "adjusted"))) f->adjusted = json_object_get_boolean(x);
  if ((x = opt(v, "suspect"))) f->suspect = json_object_get_int(x);
  if (r->st == MBT_OK && (f->suspect < 0 || f->suspect > 3))
    r->st = mbt_fail(MBT_EPARSE, "%s: field '%s.suspect' is not 0 to 3", r->path, at);
}

/* The machine-wide fields: identity, threads, clock, FMA latency, warnings. */
static void load_head(struct reader *r, json_object *o, struct mbt_profile *p) {
  char fmt[32] = "";
  get_str(r, o, "format", fmt, sizeof fmt);
  json_object *ver = get(r, o, "", "format_version", json_type_int);
  if (r->st == MBT_OK && (strcmp(fmt, "mobitune-profile") || json_object_get_int64(ver) != PROFILE_FORMAT))
    r->st = mbt_fail(MBT_EPARSE, "%s: not a mobitune profile of format %d", r->path, PROFILE_FORMAT);
  get_str(r, o, "fingerprint", p->fingerprint, sizeof p->fingerprint);
  get_str(r, o, "mobitune", p->version, sizeof p->version);
  get_str(r, o, "date", p->date, sizeof p->date);
  get_str(r, o, "counters_note", p->counters_note, sizeof p->counters_note);
  p->threads = (int)get_int(r, o, "", "threads", 1, 256);
  json_object *cn = get(r, o, "", "counters", json_type_boolean);
  if (cn) p->counters = json_object_get_boolean(cn);
  p->clock_ghz = get_num(r, o, "", "clock_ghz", 0, 20);
  p->fma_latency = get_num(r, o, "", "fma_latency_cycles", 0, 1000);
  json_object *x; /* optional: profiles from before they were kept */
  if (r->st == MBT_OK && opt(o, "clock_os_ghz")) p->clock_os_ghz = get_num(r, o, "", "clock_os_ghz", 0, 20);
  if ((x = opt(o, "clock_flagged"))) p->clock_flagged = json_object_get_boolean(x);
  if ((x = opt(o, "warnings")) && json_object_is_type(x, json_type_array))
    for (size_t i = 0; i < json_object_array_length(x) && p->nwarnings < MBT_MAX_WARNINGS; i++)
      snprintf(p->warnings[p->nwarnings++], sizeof p->warnings[0], "%s",
               json_object_get_string(json_object_array_get_idx(x, i)));
}

static void load_peaks(struct reader *r, json_object *o, struct mbt_profile *p) {
  size_t n;
  json_object *pk = get_array(r, o, "peaks", "compute ceilings", 1, MBT_MAX_PEAKS, &n);
  for (size_t i = 0; pk && i < n && r->st == MBT_OK; i++) {
    json_object *e = json_object_array_get_idx(pk, i);
    struct mbt_peak *k = &p->peaks[i];
    char at[32];
    snprintf(at, sizeof at, "peaks[%zu]", i);
    if (!json_object_is_type(e, json_type_object))
      r->st = mbt_fail(MBT_EPARSE, "%s: field '%s' is not an object", r->path, at);
    get_str(r, e, "isa", k->isa, sizeof k->isa);
    get_str(r, e, "kernel", k->kernel, sizeof k->kernel);
    k->threads = (int)get_int(r, e, at, "threads", 1, p->threads);
    k->chains = (int)get_int(r, e, at, "chains", 0, 1024);
    get_fig(r, e, at, "gflops", 1e7, &k->gflops);
  }
  p->npeaks = r->st == MBT_OK ? (int)n : 0;
}

static void load_levels(struct reader *r, json_object *o, struct mbt_profile *p) {
  size_t n;
  json_object *lv = get_array(r, o, "levels", "memory levels", 1, MBT_MAX_LEVELS, &n);
  for (size_t i = 0; lv && i < n && r->st == MBT_OK; i++) {
    json_object *l = json_object_array_get_idx(lv, i);
    struct mbt_bw_level *L = &p->levels[i];
    char at[32];
    snprintf(at, sizeof at, "levels[%zu]", i);
    if (!json_object_is_type(l, json_type_object))
      r->st = mbt_fail(MBT_EPARSE, "%s: field '%s' is not an object", r->path, at);
    get_str(r, l, "name", L->name, sizeof L->name);
    L->size = (uint64_t)get_int(r, l, at, "size", 0, MAX_BYTES);
    L->size_n = (uint64_t)get_int(r, l, at, "size_n", 0, MAX_BYTES);
    L->ws = (uint64_t)get_int(r, l, at, "working_set", 0, MAX_BYTES);
    L->edge = get_num(r, l, at, "edge", 0, (double)MAX_BYTES);
    json_object *ag = get(r, l, at, "edge_agrees", json_type_boolean);
    if (ag) L->agrees = json_object_get_boolean(ag);
    for (int k = 0; k < MBT_BW_KERNELS; k++)
      for (int t = 0; t < 2; t++) {
        char key[16];
        snprintf(key, sizeof key, "%s_%s", bw_names[k], t ? "n" : "1");
        get_fig(r, l, at, key, 1e6, &L->bw[k][t]);
        const double b = L->bw[k][t].best;
        if (r->st == MBT_OK && k == MBT_BW_READ && b != 0 && b < 1e-3)
          r->st = mbt_fail(MBT_EPARSE, "%s: field '%s.%s.best' is %g GB/s: a read ceiling is 0 "
                           "(not measured) or at least 0.001 GB/s", r->path, at, key, b);
      }
  }
  p->nlevels = r->st == MBT_OK ? (int)n : 0;
}

/* A curve's "ws", "best" and "median" arrays: as long as each other, numbers in range. */
static void load_curve_arrays(struct reader *r, json_object *e, const char *at,
                              struct mbt_curve *c) {
  static const char *const arr[] = {"ws", "best", "median"};
  double *dst[] = {c->ws, c->best, c->median};
  for (int a = 0; a < 3 && r->st == MBT_OK; a++) {
    json_object *v = get(r, e, at, arr[a], json_type_array);
    const size_t m = v ? json_object_array_length(v) : 0;
    if (r->st == MBT_OK && (m > MBT_MAX_SWEEP || (a > 0 && (int)m != c->n)))
      r->st = mbt_fail(MBT_EPARSE, "%s: %s has a bad '%s' array", r->path, at, arr[a]);
    for (size_t j = 0; j < m && r->st == MBT_OK; j++) {
      json_object *x = json_object_array_get_idx(v, j);
      char key[24];
      snprintf(key, sizeof key, "%s[%zu]", arr[a], j);
      if (!json_object_is_type(x, json_type_double) && !json_object_is_type(x, json_type_int))
        r->st = mbt_fail(MBT_EPARSE, "%s: curve %s '%s' holds a non-number", r->path, at, arr[a]);
      else if (in_range(r, dst[a][j] = json_object_get_double(x), a ? 0 : 1e-300,
                        a ? 1e6 : (double)MAX_BYTES, at, key) && a == 0 && dst[a][j] <= 0)
        r->st = mbt_fail(MBT_EPARSE, "%s: field '%s.%s' is not positive", r->path, at, key);
    }
    if (a == 0) c->n = (int)m;
  }
}

static void load_curves(struct reader *r, json_object *o, struct mbt_profile *p) {
  size_t n;
  json_object *cv = get_array(r, o, "curves", "bandwidth curves", 0, MBT_MAX_CURVES, &n);
  for (size_t i = 0; cv && i < n && r->st == MBT_OK; i++) {
    json_object *e = json_object_array_get_idx(cv, i);
    struct mbt_curve *c = &p->curves[i];
    char kn[16] = "", at[32];
    snprintf(at, sizeof at, "curves[%zu]", i);
    get_str(r, e, "kernel", kn, sizeof kn);
    c->kernel = -1;
    for (int k = 0; k < MBT_BW_KERNELS; k++)
      if (!strcmp(kn, bw_names[k])) c->kernel = k;
    if (r->st == MBT_OK && c->kernel < 0)
      r->st = mbt_fail(MBT_EPARSE, "%s: unknown bandwidth kernel '%s'", r->path, kn);
    c->threads = (int)get_int(r, e, at, "threads", 1, p->threads);
    load_curve_arrays(r, e, at, c);
  }
  p->ncurves = r->st == MBT_OK ? (int)n : 0;
}

enum mbt_status mbt_profile_load(const char *path, struct mbt_profile *p) {
  memset(p, 0, sizeof *p);
  enum mbt_status st;
  size_t len = 0;
  char *text = mbt_read_file(path, &len, &st);
  if (!text) return st;
  json_object *o = mbt_json_parse(path, text, len, "a profile", &st);
  free(text);
  if (!o) return st;
  struct reader r = {path, MBT_OK};
  if (!json_object_is_type(o, json_type_object))
    r.st = mbt_fail(MBT_EPARSE, "%s: not a mobitune profile (not a JSON object)", path);
  load_head(&r, o, p);
  load_peaks(&r, o, p);
  load_levels(&r, o, p);
  load_curves(&r, o, p);
  if (r.st == MBT_OK) mbt_profile_summarize(p);
  json_object_put(o);
  if (r.st != MBT_OK) memset(p, 0, sizeof *p);
  return r.st;
}

void mbt_profile_summarize(struct mbt_profile *p) {
  struct mbt_figure zero;
  memset(&zero, 0, sizeof zero);
  p->peak_scalar1 = p->peak_scalarn = p->peak_simd1 = p->peak_simdn = zero;
  p->simd_isa[0] = 0;
  const struct mbt_isa_info *widest = NULL; /* the widest ISA with a ceiling */
  for (int i = 0; i < p->npeaks; i++) {
    const struct mbt_isa_info *t = mbt_isa_of_name(p->peaks[i].isa);
    if (t && t->roof && (!widest || t->rank > widest->rank)) widest = t;
  }
  if (widest) snprintf(p->simd_isa, sizeof p->simd_isa, "%s", widest->roof);
  for (int i = 0; i < p->npeaks; i++) {
    const struct mbt_peak *k = &p->peaks[i];
    if (!strcmp(k->kernel, "fma+add")) continue;
    const int all = k->threads == p->threads;
    if (!strcmp(k->isa, "scalar")) {
      if (k->threads == 1) p->peak_scalar1 = k->gflops;
      if (all) p->peak_scalarn = k->gflops;
    }
    if (!strcmp(k->isa, p->simd_isa)) {
      if (k->threads == 1) p->peak_simd1 = k->gflops;
      if (all) p->peak_simdn = k->gflops;
    }
  }
  for (int l = 0; l < p->nlevels; l++) {
    p->levels[l].read1 = p->levels[l].bw[MBT_BW_READ][0];
    p->levels[l].readn = p->levels[l].bw[MBT_BW_READ][p->threads > 1];
  }
}

double mbt_profile_best_peak(const struct mbt_profile *p, int threads) {
  double best = 0; /* the code that runs a layer may be of any ISA the machine has */
  for (int i = 0; i < p->npeaks; i++) {
    const struct mbt_peak *k = &p->peaks[i];
    if (strcmp(k->kernel, "fma+add") && k->threads == threads && k->gflops.best > best)
      best = k->gflops.best;
  }
  return best;
}

struct mbt_figure *mbt_profile_binding(struct mbt_profile *p, const struct mbt_place *pc,
                                       int threads, int alone) {
  if (alone ? pc->memory_bound : pc->net_memory_bound) {
    const int t = threads > 1 && p->threads > 1 ? 1 : 0;
    return &p->levels[alone ? pc->level : pc->net_level].bw[MBT_BW_READ][t];
  }
  struct mbt_figure *best = NULL;
  const int th = threads > 1 ? p->threads : 1;
  for (int i = 0; i < p->npeaks; i++) {
    struct mbt_peak *k = &p->peaks[i];
    if (strcmp(k->kernel, "fma+add") && k->threads == th && (!best || k->gflops.best > best->best))
      best = &k->gflops;
  }
  return best;
}

double mbt_profile_peak(const struct mbt_profile *p, const char *isa, int threads) {
  double best = 0;
  const char *want = isa && *isa ? isa : p->simd_isa;
  for (int i = 0; i < p->npeaks; i++) {
    const struct mbt_peak *k = &p->peaks[i];
    if (!strcmp(k->isa, want) && strcmp(k->kernel, "fma+add") && k->threads == threads &&
        k->gflops.best > best)
      best = k->gflops.best;
  }
  return best;
}

/* What a figure's marks say, in words ("" when it has none). */
void mbt_figure_marks(const struct mbt_figure *f, char *buf, size_t n) {
  snprintf(buf, n, "%s%s%s%s", f->adjusted ? "  ADJUSTED: raised to the figure it must reach"
                               : f->flagged ? "  FLAGGED: repetitions disagree >10%" : "",
           f->disturbed > 0 ? "  UNDER LOAD: measured while another process held a CPU" : "",
           f->suspect == 1 ? "  SUSPECT: a timed kernel beat it; measured again next time" : "",
           f->suspect == 2 ? "  BEATEN: a kernel beat it after it was measured again" :
           f->suspect == 3 ? "  RECHECKED: measured again after a kernel beat it" : "");
}

static void fig_row(FILE *out, const char *what, const struct mbt_figure *f, const char *unit,
                    const char *extra) {
  char marks[256];
  mbt_figure_marks(f, marks, sizeof marks);
  fprintf(out, "  %-30s %9.1f %9.1f %9.1f %9.1f  %-7s %d%s%s\n", what, f->best, f->median, f->min,
          f->max, unit, f->reps, extra, marks);
}

static void human(double bytes, char *buf, size_t n) {
  if (bytes >= 1 << 20) snprintf(buf, n, "%.3g MiB", bytes / (1 << 20));
  else snprintf(buf, n, "%.3g KiB", bytes / 1024);
}

void mbt_profile_print(const struct mbt_profile *p, FILE *out) {
  fprintf(out, "machine profile %s (mobitune %s, %s), threads 1..%d\n", p->fingerprint,
          p->version, p->date, p->threads);
  if (p->clock_flagged)
    fprintf(out, "clock %.2f GHz (dependent integer adds): NOT TRUSTED (see the warnings); the OS "
            "says %.2f GHz\n", p->clock_ghz, p->clock_os_ghz);
  else
    fprintf(out, "clock %.2f GHz (dependent integer adds%s); FMA latency %.1f cycles (dependent "
            "chain)\n", p->clock_ghz, p->clock_os_ghz > 0 ? ", consistent with the OS's figure and "
            "every ceiling's issue limit" : "", p->fma_latency);
  fprintf(out, "compute ceilings:\n  %-30s %9s %9s %9s %9s  %-7s %s\n", "isa kernel threads (chains)",
          "best", "median", "worst", "max", "unit", "reps");
  for (int i = 0; i < p->npeaks; i++) {
    const struct mbt_peak *k = &p->peaks[i];
    char what[64], extra[48] = "";
    snprintf(what, sizeof what, "%s %s %d thr (%d)", k->isa, k->kernel, k->threads, k->chains);
    if (p->clock_ghz > 0 && !p->clock_flagged)
      snprintf(extra, sizeof extra, "  %.1f FLOP/cycle/core", k->gflops.best / p->clock_ghz / k->threads);
    fig_row(out, what, &k->gflops, "GFLOP/s", extra);
  }
  static const char *const names[MBT_BW_KERNELS] = {"read", "write", "copy", "triad"};
  fprintf(out, "bandwidth ceilings (plateaus of the sweeps; bytes loaded + stored):\n");
  for (int l = 0; l < p->nlevels; l++) {
    const struct mbt_bw_level *L = &p->levels[l];
    char sz[32] = "-", ed[32] = "-";
    if (L->size) human((double)L->size, sz, sizeof sz);
    if (L->edge > 0) human(L->edge, ed, sizeof ed);
    fprintf(out, "  %s: hwloc %s per thread; read curve leaves it at %s%s\n", L->name, sz, ed,
            L->size ? (L->agrees ? " (agrees)" : " (DISAGREES with hwloc)") : "");
    for (int k = 0; k < MBT_BW_KERNELS; k++)
      for (int t = 0; t < (p->threads > 1 ? 2 : 1); t++) {
        char what[64];
        snprintf(what, sizeof what, "%s %s, %d thr", L->name, names[k], t ? p->threads : 1);
        fig_row(out, what, &L->bw[k][t], "GB/s", "");
      }
  }
  fprintf(out, "counters: %s\n", p->counters_note);
  mbt_profile_print_warnings(p, out);
}

void mbt_profile_carry_suspects(const struct mbt_profile *old, struct mbt_profile *p) {
  for (int i = 0; i < old->npeaks; i++) {
    const struct mbt_peak *o = &old->peaks[i];
    for (int k = 0; k < p->npeaks && o->gflops.suspect; k++)
      if (!strcmp(p->peaks[k].isa, o->isa) && !strcmp(p->peaks[k].kernel, o->kernel) &&
          p->peaks[k].threads == o->threads)
        p->peaks[k].gflops.suspect = 3;
  }
  for (int l = 0; l < old->nlevels && l < p->nlevels; l++)
    for (int k = 0; k < MBT_BW_KERNELS; k++)
      for (int t = 0; t < 2; t++)
        if (old->levels[l].bw[k][t].suspect) p->levels[l].bw[k][t].suspect = 3;
  mbt_profile_summarize(p);
}

int mbt_profile_beaten(struct mbt_profile *p, struct mbt_figure *f) {
  (void)p;
  if (!f || f->suspect == 1 || f->suspect == 2) return 0;
  f->suspect = f->suspect == 3 ? 2 : 1;
  return 1;
}

int mbt_profile_suspects(const struct mbt_profile *p, int state) {
  int n = 0;
  for (int i = 0; i < p->npeaks; i++) n += p->peaks[i].gflops.suspect == state;
  for (int l = 0; l < p->nlevels; l++)
    for (int k = 0; k < MBT_BW_KERNELS; k++) n += (p->levels[l].bw[k][0].suspect == state) +
                                                  (p->levels[l].bw[k][1].suspect == state);
  return n;
}

void mbt_profile_print_warnings(const struct mbt_profile *p, FILE *out) {
  for (int i = 0; i < p->nwarnings; i++) fprintf(out, "warning: %s\n", p->warnings[i]);
  const int sus = mbt_profile_suspects(p, 1);
  if (sus)
    fprintf(out, "warning: %d ceiling%s beaten by a timed kernel (SUSPECT above): 'roofline' or "
            "'tune' measures %s again\n", sus, sus > 1 ? "s were" : " was", sus > 1 ? "them" : "it");
}

/* The smallest level whose capacity (per thread) holds @p bytes; the last level otherwise. */
static int level_of(const struct mbt_profile *p, double bytes) {
  for (int i = 0; i < p->nlevels - 1; i++)
    if (p->levels[i].size > 0 && bytes <= (double)p->levels[i].size) return i;
  return p->nlevels - 1;
}

void mbt_roofline_place(const struct mbt_profile *p, const struct mbt_model *m, int i,
                        int threads, struct mbt_place *out) {
  mbt_roofline_place_layer(p, m, &m->layers[i], threads, out);
}

void mbt_roofline_place_layer(const struct mbt_profile *p, const struct mbt_model *m,
                              const struct mbt_layer *l, int threads, struct mbt_place *out) {
  memset(out, 0, sizeof *out);
  const int t = threads > 1 && p->threads > 1 ? 1 : 0;
  out->flops = 2.0 * l->macs;
  out->intensity = l->bytes > 0 ? out->flops / l->bytes : 0;
  out->peak = mbt_profile_best_peak(p, t ? p->threads : 1);
  for (int k = 0; k < p->nlevels; k++) {
    const double bw = p->levels[k].bw[MBT_BW_READ][t].best;
    out->ridges[k] = bw > 0 ? out->peak / bw : 0;
  }
  out->level = level_of(p, l->bytes / (t ? p->threads : 1));
  out->bw = p->levels[out->level].bw[MBT_BW_READ][t].best;
  out->ridge = out->ridges[out->level];
  const double mem = out->intensity * out->bw;
  out->attainable = mem < out->peak ? mem : out->peak;
  out->memory_bound = out->intensity < out->ridge;
  /* In the network: activations from where input + output fit, weights from the LLC when the
   * whole network's weights fit there, else from DRAM. */
  const double wbytes = 4.0 * l->params, abytes = l->bytes - wbytes;
  const int la = level_of(p, abytes / (t ? p->threads : 1));
  const int llc = p->nlevels >= 2 ? p->nlevels - 2 : 0;
  const int lw = 4.0 * m->params <= (double)p->levels[llc].size ? llc : p->nlevels - 1;
  const double bwa = p->levels[la].bw[MBT_BW_READ][t].best, bww = p->levels[lw].bw[MBT_BW_READ][t].best;
  const double ta = bwa > 0 ? abytes / bwa : 0, tw = bww > 0 ? wbytes / bww : 0; /* ns */
  const double tc = out->peak > 0 ? out->flops / out->peak : 0;
  const double tm = ta + tw;
  out->net_level = ta >= tw ? la : lw;
  out->net_memory_bound = tm > tc;
  out->net_ns = tm > tc ? tm : tc;
  out->net_attainable = out->net_ns > 0 ? out->flops / out->net_ns : 0;
}

double mbt_roofline_net_bound_ns(const struct mbt_profile *p, const struct mbt_model *m,
                                 int threads) {
  double ns = 0;
  for (int i = 0; i < m->nlayers; i++) {
    struct mbt_place pc;
    mbt_roofline_place(p, m, i, threads, &pc);
    ns += pc.net_ns;
  }
  return ns;
}
