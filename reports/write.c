/* reports/write.c -- the report and its twins: the list of a section's parts, in page order,
 * each written in the formats it has; the page around the sections; the files, each written
 * atomically. */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "reports/report.h"

/* The parts of a network's section, in page order: the roofline chart, the layer table, the
 * network summary, the tuning decisions.  A new part is its writers and one entry here. */
static const struct part parts[] = {
    {mbt_report_html_roofline, NULL, mbt_report_json_head},
    {mbt_report_html_layers, mbt_report_csv_layers, mbt_report_json_layers},
    {mbt_report_html_summary, NULL, mbt_report_json_summary},
    {mbt_report_html_decisions, NULL, NULL},
};

/* A section in every format: its parts' HTML into @p b, CSV rows into @p csv, JSON into @p jn. */
static void section(struct buf *b, FILE *csv, json_object *jn, const struct section *sc) {
  for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
    if (parts[k].html) parts[k].html(b, sc);
    if (parts[k].csv) parts[k].csv(csv, sc);
    if (parts[k].json) parts[k].json(jn, sc);
  }
}

/* What the page around the sections needs from them. */
struct page {
  struct warnings w, passed;  /* the profile's and the sections' warnings; checks that passed */
  struct mbt_machine m;       /* the machine the first saved report data names */
  int have_m;
};

/* The end-to-end results of network @p k at @p threads, where bench saved them ("": none). */
static void e2e_of(const struct mbt_report_in *in, int k, int threads, char *path, size_t n) {
  path[0] = 0;
  if (threads == 1 && in->e2e && in->e2e[k]) snprintf(path, n, "%s", in->e2e[k]);
  else if (threads > 1 && in->e2e_threads) in->e2e_threads(in->e2e_ctx, &in->models[k], threads, path, n);
}

/* Every network, a section per thread count it was tuned at; their warnings into @p pg (the
 * profile's already there). */
static void sections(struct buf *b, json_object *jnets, FILE *csv, const struct mbt_report_in *in,
                     struct page *pg) {
  static struct section sc; /* large: a row per layer */
  static struct saved sv;   /* its report data */
  char profile[96] = "";
  if (pg->w.n) snprintf(profile, sizeof profile, "profile: %d warning%s", pg->w.n, pg->w.n > 1 ? "s" : "");
  for (int k = 0; k < in->nmodels; k++) {
    int th[16];
    const int nt = mbt_report_threads(&in->models[k], in->pl, th, 16);
    for (int t = 0; t < nt; t++) {
      char path[4200];
      e2e_of(in, k, th[t], path, sizeof path);
      mbt_report_data_load(in->data_dir, &in->models[k], th[t], &sv);
      if (sv.have && !pg->have_m) pg->m = sv.m, pg->have_m = 1;
      sc.p = in->p, sc.pl = in->pl, sc.m = &in->models[k], sc.threads = th[t], sc.sv = &sv;
      if (th[t] == 1) snprintf(sc.id, sizeof sc.id, "%d", k);
      else snprintf(sc.id, sizeof sc.id, "%dt%d", k, th[t]);
      mbt_report_section_fill(&sc, path[0] ? path : NULL);
      mbt_report_section_warnings(&sc, &pg->w, &pg->passed);
      snprintf(sc.warnings, sizeof sc.warnings, "%s%s%s", sc.brief,
               sc.brief[0] && profile[0] ? "; " : "", profile);
      json_object *jn = json_object_new_object();
      section(b, csv, jn, &sc);
      json_object_array_add(jnets, jn);
    }
  }
}

/* @p path with its extension replaced by @p ext. */
static void twin(const char *path, const char *ext, char *buf, size_t n) {
  const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
  const size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
  snprintf(buf, n, "%.*s%s", (int)stem, path, ext);
}

enum mbt_status mbt_report_write(const char *path, const struct mbt_report_in *in) {
  struct buf b = {malloc(1 << 16), 0, 1 << 16, 0}, body = {malloc(1 << 16), 0, 1 << 16, 0};
  char csvpath[4200], jsonpath[4200], csvtmp[4400];
  twin(path, ".csv", csvpath, sizeof csvpath);
  twin(path, ".json", jsonpath, sizeof jsonpath);
  const int mem = b.s && body.s;
  FILE *csv = mem ? mbt_report_csv_open(csvpath, csvtmp, sizeof csvtmp) : NULL;
  if (!csv) {
    free(b.s);
    free(body.s);
    return mem ? MBT_EIO : mbt_fail(MBT_ENOMEM, "cannot allocate the report");
  }
  json_object *js = json_object_new_object(), *jnets = json_object_new_array();
  static struct page pg;
  memset(&pg, 0, sizeof pg);
  mbt_report_profile_warnings(in->p, &pg.w);
  sections(&body, jnets, csv, in, &pg); /* the banner needs their warnings first */
  const struct mbt_machine *m = pg.have_m ? &pg.m : NULL;
  mbt_report_html_head(&b, in);
  mbt_report_html_banner(&b, &pg.w, &pg.passed);
  mbt_report_html_machine(&b, in, m);
  put(&b, "%.*s", (int)body.n, body.s);
  if (in->other)
    mbt_report_html_compare(&b, in->p, in->other, in->other_name ? in->other_name : "another profile");
  mbt_report_html_tail(&b);
  mbt_report_json_page(js, in, m, &pg.w);
  json_object_object_add(js, "networks", jnets);
  enum mbt_status st = b.oom || body.oom ? mbt_fail(MBT_ENOMEM, "cannot build the report text") : MBT_OK;
  if ((fflush(csv) != 0 || fsync(fileno(csv)) != 0) && st == MBT_OK)
    st = mbt_fail(MBT_EIO, "cannot write %s", csvtmp);
  if (fclose(csv) != 0 && st == MBT_OK) st = mbt_fail(MBT_EIO, "cannot write %s", csvtmp);
  if (st == MBT_OK) st = mbt_tmp_commit(csvtmp, csvpath); /* removes csvtmp on failure */
  else remove(csvtmp);
  if (st == MBT_OK) {
    const char *text = json_object_to_json_string_ext(js, JSON_C_TO_STRING_PRETTY);
    st = mbt_write_atomic(jsonpath, text, strlen(text));
  }
  if (st == MBT_OK) st = mbt_write_atomic(path, b.s, b.n);
  json_object_put(js);
  mbt_report_warnings_free(&pg.w);
  mbt_report_warnings_free(&pg.passed);
  free(b.s);
  free(body.s);
  return st;
}
