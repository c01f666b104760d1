/* net/run.c -- running a network as a program does: timed runs, the check against the
 * reference path, the top classes, the result as JSON and where end-to-end results are kept. */
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "net/net.h"

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

enum mbt_status mbt_run_timed(mbt_engine_t e, const float *in, int batch, int runs,
                              struct mbt_run_stats *s, double *layer_ms) {
  const struct mbt_model *m = mbt_engine_model(e);
  const size_t nin = (size_t)m->res * m->res * 3;
  const int nl = m->nlayers;
  double *t = malloc((size_t)runs * sizeof *t);
  double *lt = layer_ms ? malloc((size_t)runs * (size_t)nl * sizeof *lt) : NULL;
  if (!t || (layer_ms && !lt)) {
    free(t);
    free(lt);
    return mbt_fail(MBT_ENOMEM, "cannot allocate the times of %d runs", runs);
  }
  mbt_engine_run(e, in);
  for (int r = 0; r < runs; r++) {
    const double a = mbt_now_ns();
    for (int k = 0; k < batch; k++) mbt_engine_run(e, in + nin * (size_t)k);
    t[r] = (mbt_now_ns() - a) / 1e6;
    for (int i = 0; lt && i < nl; i++) lt[(size_t)i * runs + r] = mbt_engine_layer_ns(e, i) / 1e6;
  }
  for (int i = 0; lt && i < nl; i++) { /* the upper median: a time one run took */
    qsort(lt + (size_t)i * runs, (size_t)runs, sizeof *lt, cmp_d);
    layer_ms[i] = lt[(size_t)i * runs + runs / 2];
  }
  free(lt);
  qsort(t, (size_t)runs, sizeof *t, cmp_d);
  s->median = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
  s->min = t[0];
  s->p90 = t[(int)(0.9 * (runs - 1))];
  free(t);
  return MBT_OK;
}

enum mbt_status mbt_run_logits(mbt_engine_t e, const float *in, int batch, float *logits) {
  const struct mbt_model *m = mbt_engine_model(e);
  const size_t nin = (size_t)m->res * m->res * 3;
  for (int b = 0; b < batch; b++) {
    const enum mbt_status st = mbt_engine_run(e, in + nin * (size_t)b);
    if (st != MBT_OK) return st;
    memcpy(logits + (size_t)m->classes * b, mbt_engine_logits(e),
           (size_t)m->classes * sizeof *logits);
  }
  return MBT_OK;
}

void mbt_topk(const float *p, int n, int k, int *top) {
  for (int j = 0; j < k; j++) {
    top[j] = -1;
    for (int c = 0; c < n && j < n; c++) {
      int used = 0;
      for (int q = 0; q < j; q++) used |= top[q] == c;
      if (!used && (top[j] < 0 || p[c] > p[top[j]])) top[j] = c;
    }
  }
}

enum mbt_status mbt_verify(const struct mbt_model *m, const struct mbt_weights *w, uint64_t seed,
                           const float *in, const float *logits, int batch,
                           struct mbt_verify *out) {
  mbt_engine_t ref;
  enum mbt_status st = mbt_engine_new(m, NULL, "ref/", seed, &ref);
  if (st == MBT_OK && w) st = mbt_engine_set_weights(ref, w);
  if (st != MBT_OK) {
    mbt_engine_destroy(ref);
    return st;
  }
  const size_t nin = (size_t)m->res * m->res * 3;
  const int classes = m->classes;
  double max_err = 0, max_logit = 0;
  int top1_ok = 1;
  for (int b = 0; b < batch; b++) {
    mbt_engine_run(ref, in + nin * (size_t)b);
    const float *a = logits + (size_t)classes * b, *r = mbt_engine_logits(ref);
    int rtop = 0, top1 = 0;
    for (int c = 0; c < classes; c++) {
      max_err = fmax(max_err, fabs((double)a[c] - r[c]));
      max_logit = fmax(max_logit, fabs((double)r[c]));
      if (r[c] > r[rtop]) rtop = c;
      if (a[c] > a[top1]) top1 = c;
    }
    top1_ok &= rtop == top1;
  }
  mbt_engine_destroy(ref);
  /* 1e-4 of the largest reference logit (fp32 sums of up to 1280 terms per layer, chained over
   * the network), plus an absolute 1e-5 */
  *out = (struct mbt_verify){max_err, 1e-5 + 1e-4 * max_logit, top1_ok};
  if (max_err <= out->tolerance && top1_ok) return MBT_OK;
  return mbt_fail(MBT_EVERIFY, "max |logit - reference| = %.3g (tolerance %.3g), top-1 %s",
                  max_err, out->tolerance, top1_ok ? "agrees" : "differs");
}

enum mbt_status mbt_engine_fuse_all(mbt_engine_t e, int rows) {
  const struct mbt_model *m = mbt_engine_model(e);
  enum mbt_status st = MBT_OK;
  for (int i = 0; st == MBT_OK && i + 1 < m->nlayers; i++) {
    st = mbt_engine_fuse(e, i, mbt_pair_fusable(m, i) ? rows : 0);
    if (st == MBT_OK) st = mbt_engine_block(e, i, mbt_block_fusable(m, i) ? rows : 0);
  }
  return st;
}

int mbt_engine_uses(mbt_engine_t e, const char *text) {
  const struct mbt_model *m = mbt_engine_model(e);
  for (int i = 0; i < m->nlayers; i++)
    if (strstr(mbt_engine_variant(e, i), text)) return 1;
  return 0;
}

void mbt_e2e_path(const char *dir, const struct mbt_model *m, int threads, char *buf, size_t n) {
  char id[64];
  mbt_model_id(m, id, sizeof id);
  snprintf(buf, n, "%s/e2e-%s-%g-%d-t%d.json", dir, id, m->alpha, m->res, threads);
}

/* The length of the valid UTF-8 sequence at @p s (1 to 4), 0 when it is not one (overlong
 * forms, surrogates and code points past U+10FFFF are not). */
static int utf8_len(const unsigned char *s) {
  int n;
  uint32_t cp;
  if (s[0] < 0x80) return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf) n = 2, cp = s[0] & 0x1f;
  else if (s[0] >= 0xe0 && s[0] <= 0xef) n = 3, cp = s[0] & 0x0f;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4) n = 4, cp = s[0] & 0x07;
  else return 0;
  for (int k = 1; k < n; k++) {
    if ((s[k] & 0xc0) != 0x80) return 0; /* also stops at the NUL */
    cp = cp << 6 | (s[k] & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return n;
}

/* A JSON string of @p str (NULL: null), valid UTF-8: json-c copies bytes past 0x7f as they are,
 * so a byte that is not part of valid UTF-8 becomes U+FFFD first. */
static json_object *jstr(const char *str) {
  if (!str) return NULL;
  const unsigned char *s = (const unsigned char *)str;
  char *u = malloc(3 * strlen(str) + 1), *q = u;
  if (!u) return NULL;
  while (*s) {
    const int n = utf8_len(s);
    if (n) memcpy(q, s, (size_t)n), q += n, s += n;
    else memcpy(q, "\xef\xbf\xbd", 3), q += 3, s++;
  }
  *q = 0;
  json_object *j = json_object_new_string(u);
  free(u);
  return j;
}

/* A number written as @p fmt writes it. */
static json_object *jnum(double v, const char *fmt) {
  char b[64];
  snprintf(b, sizeof b, fmt, v);
  return json_object_new_double_s(v, b);
}

static void add(json_object *o, const char *key, json_object *v) {
  json_object_object_add(o, key, v);
}

void mbt_run_print_json(const struct mbt_run_result *r, FILE *out) {
  const struct mbt_model *m = r->model;
  json_object *o = json_object_new_object(), *top = json_object_new_array(),
              *lg = json_object_new_array();
  char id[64];
  mbt_model_id(m, id, sizeof id);
  add(o, "net", json_object_new_string(id));
  add(o, "alpha", jnum(m->alpha, "%g"));
  add(o, "res", json_object_new_int(m->res));
  add(o, "classes", json_object_new_int(m->classes));
  add(o, "batch", json_object_new_int(r->batch));
  add(o, "threads", json_object_new_int(r->threads));
  add(o, "runs", json_object_new_int(r->runs));
  add(o, "median_ms", jnum(r->stats.median, "%.4f"));
  add(o, "min_ms", jnum(r->stats.min, "%.4f"));
  add(o, "p90_ms", jnum(r->stats.p90, "%.4f"));
  add(o, "gflops", jnum(r->gflops, "%.2f"));
  add(o, "schedule", jstr(r->schedule));
  add(o, "layer_runs", json_object_new_int64(r->layer_runs));
  add(o, "flow_runs", json_object_new_int64(r->flow_runs));
  add(o, "weights", jstr(r->weights));
  add(o, "image", jstr(r->image));
  for (int k = 0; k < r->ntop && r->top[k] >= 0; k++) {
    json_object *t = json_object_new_object();
    add(t, "class", json_object_new_int(r->top[k]));
    add(t, "prob", jnum(r->prob[r->top[k]], "%.6f"));
    if (r->labels) add(t, "label", jstr(r->labels->name[r->top[k]]));
    json_object_array_add(top, t);
  }
  add(o, "top5", top);
  for (int c = 0; c < m->classes; c++) json_object_array_add(lg, jnum(r->logits[c], "%.7g"));
  add(o, "logits", lg);
  if (r->verify) {
    add(o, "max_abs_err", jnum(r->verify->max_abs_err, "%.3g"));
    add(o, "tolerance", jnum(r->verify->tolerance, "%.3g"));
    add(o, "top1_agrees", json_object_new_boolean(r->verify->top1_agrees));
  }
  const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE; /* paths as given */
  fprintf(out, "%s\n", json_object_to_json_string_ext(o, flags));
  json_object_put(o);
}
