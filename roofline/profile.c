/* roofline/profile.c -- the machine profile as versioned JSON (json-c), its table, and the
 * placement of a layer on the measured roofline. */
#include "config.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

#define PROFILE_FORMAT 1

static json_object *fig_json(const struct mbt_figure *f) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "best", json_object_new_double(f->best));
  json_object_object_add(o, "median", json_object_new_double(f->median));
  json_object_object_add(o, "min", json_object_new_double(f->min));
  json_object_object_add(o, "max", json_object_new_double(f->max));
  json_object_object_add(o, "reps", json_object_new_int(f->reps));
  json_object_object_add(o, "flagged", json_object_new_boolean(f->flagged));
  return o;
}

enum mbt_status mbt_profile_save(const struct mbt_profile *p, const char *path) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "format", json_object_new_string("mobitune-profile"));
  json_object_object_add(o, "format_version", json_object_new_int(PROFILE_FORMAT));
  json_object_object_add(o, "fingerprint", json_object_new_string(p->fingerprint));
  json_object_object_add(o, "mobitune", json_object_new_string(p->version));
  json_object_object_add(o, "date", json_object_new_string(p->date));
  json_object_object_add(o, "threads", json_object_new_int(p->threads));
  json_object_object_add(o, "units", json_object_new_string(
      "GFLOP/s for peaks; GB/s for bandwidth (bytes read; read-only kernels, so no "
      "write-allocate traffic)"));
  json_object_object_add(o, "simd_isa", json_object_new_string(p->simd_isa));
  json_object_object_add(o, "peak_scalar_1", fig_json(&p->peak_scalar1));
  json_object_object_add(o, "peak_scalar_n", fig_json(&p->peak_scalarn));
  json_object_object_add(o, "peak_simd_1", fig_json(&p->peak_simd1));
  json_object_object_add(o, "peak_simd_n", fig_json(&p->peak_simdn));
  json_object *lv = json_object_new_array();
  for (int i = 0; i < p->nlevels; i++) {
    json_object *l = json_object_new_object();
    json_object_object_add(l, "name", json_object_new_string(p->levels[i].name));
    json_object_object_add(l, "working_set", json_object_new_int64((int64_t)p->levels[i].ws));
    json_object_object_add(l, "read_1", fig_json(&p->levels[i].read1));
    json_object_object_add(l, "read_n", fig_json(&p->levels[i].readn));
    json_object_array_add(lv, l);
  }
  json_object_object_add(o, "levels", lv);
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

/* Typed getters that record the first missing or mistyped field. */
struct reader {
  const char *path;
  enum mbt_status st;
};

static json_object *get(struct reader *r, json_object *o, const char *key, json_type type) {
  json_object *v = NULL;
  if (r->st != MBT_OK) return NULL;
  if (!o || !json_object_object_get_ex(o, key, &v) ||
      !(json_object_is_type(v, type) || (type == json_type_double && json_object_is_type(v, json_type_int)))) {
    r->st = mbt_fail(MBT_EPARSE, "%s: field '%s' is missing or not a %s", r->path, key,
                     json_type_to_name(type));
    return NULL;
  }
  return v;
}

static void get_str(struct reader *r, json_object *o, const char *key, char *dst, size_t n) {
  json_object *v = get(r, o, key, json_type_string);
  if (v) snprintf(dst, n, "%s", json_object_get_string(v));
}

static void get_fig(struct reader *r, json_object *o, const char *key, struct mbt_figure *f) {
  json_object *v = get(r, o, key, json_type_object);
  static const char *const names[] = {"best", "median", "min", "max"};
  double *dst[] = {&f->best, &f->median, &f->min, &f->max};
  for (int i = 0; i < 4; i++) {
    json_object *x = get(r, v, names[i], json_type_double);
    if (x) *dst[i] = json_object_get_double(x);
  }
  json_object *reps = get(r, v, "reps", json_type_int);
  json_object *fl = get(r, v, "flagged", json_type_boolean);
  if (reps) f->reps = json_object_get_int(reps);
  if (fl) f->flagged = json_object_get_boolean(fl);
  if (r->st == MBT_OK && !(f->best > 0))
    r->st = mbt_fail(MBT_EPARSE, "%s: figure '%s' is not a positive number", r->path, key);
}

enum mbt_status mbt_profile_load(const char *path, struct mbt_profile *p) {
  memset(p, 0, sizeof *p);
  enum mbt_status st;
  char *text = mbt_read_file(path, NULL, &st);
  if (!text) return st;
  json_tokener *tok = json_tokener_new();
  json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)strlen(text)) : NULL;
  enum json_tokener_error jerr = tok ? json_tokener_get_error(tok) : json_tokener_error_depth;
  if (tok) json_tokener_free(tok);
  free(text);
  if (!o || jerr != json_tokener_success) {
    if (o) json_object_put(o);
    return mbt_fail(MBT_EPARSE, "%s: not valid JSON (%s)", path, json_tokener_error_desc(jerr));
  }
  struct reader r = {path, MBT_OK};
  char fmt[32] = "";
  get_str(&r, o, "format", fmt, sizeof fmt);
  json_object *ver = get(&r, o, "format_version", json_type_int);
  if (r.st == MBT_OK && (strcmp(fmt, "mobitune-profile") || json_object_get_int(ver) != PROFILE_FORMAT))
    r.st = mbt_fail(MBT_EPARSE, "%s: not a mobitune profile of format %d", path, PROFILE_FORMAT);
  get_str(&r, o, "fingerprint", p->fingerprint, sizeof p->fingerprint);
  get_str(&r, o, "mobitune", p->version, sizeof p->version);
  get_str(&r, o, "date", p->date, sizeof p->date);
  get_str(&r, o, "simd_isa", p->simd_isa, sizeof p->simd_isa);
  get_str(&r, o, "counters_note", p->counters_note, sizeof p->counters_note);
  json_object *th = get(&r, o, "threads", json_type_int);
  if (th) p->threads = json_object_get_int(th);
  json_object *cn = get(&r, o, "counters", json_type_boolean);
  if (cn) p->counters = json_object_get_boolean(cn);
  get_fig(&r, o, "peak_scalar_1", &p->peak_scalar1);
  get_fig(&r, o, "peak_scalar_n", &p->peak_scalarn);
  get_fig(&r, o, "peak_simd_1", &p->peak_simd1);
  get_fig(&r, o, "peak_simd_n", &p->peak_simdn);
  json_object *lv = get(&r, o, "levels", json_type_array);
  if (lv) {
    size_t n = json_object_array_length(lv);
    if (n < 1 || n > MBT_MAX_LEVELS)
      r.st = mbt_fail(MBT_EPARSE, "%s: %zu memory levels (expected 1 to %d)", path, n, MBT_MAX_LEVELS);
    for (size_t i = 0; i < n && r.st == MBT_OK; i++) {
      json_object *l = json_object_array_get_idx(lv, i);
      struct mbt_bw_level *L = &p->levels[i];
      get_str(&r, l, "name", L->name, sizeof L->name);
      json_object *ws = get(&r, l, "working_set", json_type_int);
      if (ws) L->ws = (uint64_t)json_object_get_int64(ws);
      get_fig(&r, l, "read_1", &L->read1);
      get_fig(&r, l, "read_n", &L->readn);
    }
    p->nlevels = (int)n;
  }
  json_object_put(o);
  if (r.st != MBT_OK) memset(p, 0, sizeof *p);
  return r.st;
}

static void fig_row(FILE *out, const char *what, const struct mbt_figure *f, const char *unit) {
  fprintf(out, "%-26s %9.1f %9.1f %9.1f %9.1f  %-7s %d%s\n", what, f->best, f->median, f->min,
          f->max, unit, f->reps, f->flagged ? "  FLAGGED: repetitions disagree >10%" : "");
}

void mbt_profile_print(const struct mbt_profile *p, FILE *out) {
  fprintf(out, "machine profile %s (mobitune %s, %s)\n", p->fingerprint, p->version, p->date);
  fprintf(out, "%-26s %9s %9s %9s %9s  %-7s %s\n", "ceiling", "best", "median", "worst", "max",
          "unit", "reps");
  char what[64];
  fig_row(out, "FMA peak scalar, 1 thread", &p->peak_scalar1, "GFLOP/s");
  snprintf(what, sizeof what, "FMA peak scalar, %d thr", p->threads);
  fig_row(out, what, &p->peak_scalarn, "GFLOP/s");
  snprintf(what, sizeof what, "FMA peak %s, 1 thread", p->simd_isa);
  fig_row(out, what, &p->peak_simd1, "GFLOP/s");
  snprintf(what, sizeof what, "FMA peak %s, %d thr", p->simd_isa, p->threads);
  fig_row(out, what, &p->peak_simdn, "GFLOP/s");
  for (int i = 0; i < p->nlevels; i++) {
    const struct mbt_bw_level *L = &p->levels[i];
    snprintf(what, sizeof what, "read %s (%llu KiB), 1 thr", L->name,
             (unsigned long long)(L->ws >> 10));
    fig_row(out, what, &L->read1, "GB/s");
    snprintf(what, sizeof what, "read %s, %d thr", L->name, p->threads);
    fig_row(out, what, &L->readn, "GB/s");
  }
  fprintf(out, "counters: %s\n", p->counters_note);
}

void mbt_roofline_place(const struct mbt_profile *p, const struct mbt_layer *l,
                        struct mbt_place *out) {
  memset(out, 0, sizeof *out);
  out->flops = 2.0 * l->macs;
  out->intensity = l->bytes > 0 ? out->flops / l->bytes : 0;
  out->peak = p->peak_simd1.best;
  /* The layer's working set lives in the smallest level whose measured working set holds it
   * (the level ws is half a cache, so "fits" means bytes <= 2 ws); beyond the LLC, DRAM. */
  int lv = p->nlevels - 1;
  for (int i = 0; i < p->nlevels - 1; i++)
    if (l->bytes <= 2.0 * (double)p->levels[i].ws) {
      lv = i;
      break;
    }
  out->level = lv;
  out->bw = p->levels[lv].read1.best;
  out->ridge = out->bw > 0 ? out->peak / out->bw : 0;
  const double mem = out->intensity * out->bw;
  out->attainable = mem < out->peak ? mem : out->peak;
  out->memory_bound = out->intensity < out->ridge;
}
