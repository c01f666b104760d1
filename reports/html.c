/* reports/html.c -- the self-contained HTML report and its CSV and JSON twins.
 *
 * One file, no network access: the roofline chart is SVG (chart.c), the table sorting a
 * few lines of inline script.  Everything comes from saved data (machine, profile, plan, the
 * end-to-end results 'mobitune bench --e2e' saved), never from a live run, so a report can be
 * made on another machine.  Per network and thread count the plan was tuned at (a section
 * each): the chart with every layer on the roofline (and, on demand, every candidate the tuner
 * timed), the layer table, the network summary and the tuning decisions; optionally a second
 * profile side by side. */
#include "config.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "net/net.h"
#include "plan/plan.h"
#include "reports/report.h"
#include "tuner/counters.h"

/* One problem's candidates: what was tried, how each fared and why the winner won. */
static void decision(struct buf *b, const char *label, const struct mbt_choice *c) {
  static const char *const outs[] = {"timed", "over the time limit", "screened out alone",
                                     "roofline bound cannot win"};
  put(b, "<details><summary>");
  esc(b, label);
  put(b, ": <b>");
  esc(b, c->variant);
  put(b, "</b> %.1f us", c->ns / 1e3);
  if (c->runner_up[0] && c->runner_up_ns > 0)
    put(b, c->tie ? ", a tie with the runner-up (%.1f%%, within the noise): the simpler kept"
                  : ", %.1f%% faster than the runner-up",
        100 * (c->runner_up_ns / c->ns - 1));
  put(b, " (%d candidates, effort %s)</summary>\n", c->ncand,
      mbt_effort_name((enum mbt_effort)c->effort));
  if (c->ncand == 0) {
    put(b, "<p>This plan entry predates candidate records: tune with --redo to see them.</p>"
           "</details>\n");
    return;
  }
  put(b, "<table class='cands'><thead><tr><th class='l'>candidate</th><th>in network us</th>"
         "<th>x winner</th><th>spread</th><th>alone us</th><th>roofline bound us</th>");
  for (int k = 0; k < c->nevents; k++) {
    put(b, "<th>");
    esc(b, c->events[k]);
    put(b, "</th>");
  }
  put(b, "<th class='l'>outcome</th></tr></thead><tbody>\n");
  for (int j = 0; j < c->ncand; j++) {
    const struct mbt_cand *d = &c->cand[j];
    put(b, "<tr%s><td class='l'>", strcmp(d->variant, c->variant) ? "" : " class='win'");
    esc(b, d->variant);
    put(b, "</td>");
    if (d->ns > 0) put(b, "<td>%.1f</td><td>%.2f</td>", d->ns / 1e3, d->ns / c->ns);
    else put(b, "<td></td><td></td>");
    if (d->spread > 0) put(b, "<td>%.0f%%</td>", 100 * d->spread); /* pairs, blocks: none kept */
    else put(b, "<td></td>");
    if (d->alone_ns > 0) put(b, "<td>%.1f</td>", d->alone_ns / 1e3);
    else put(b, "<td></td>");
    if (d->bound_ns > 0) put(b, "<td>%.1f</td>", d->bound_ns / 1e3);
    else put(b, "<td></td>");
    for (int k = 0; k < c->nevents; k++)
      if (d->out == MBT_CAND_TIMED) put(b, "<td>%lld</td>", d->counts[k]);
      else put(b, "<td></td>");
    put(b, "<td class='l'>%s</td></tr>\n", outs[d->out >= 0 && d->out < 4 ? d->out : 0]);
  }
  put(b, "</tbody></table></details>\n");
}


static void e2e_load(const char *path, struct e2e *r) {
  memset(r, 0, sizeof *r);
  json_object *js = path ? json_object_from_file(path) : NULL, *arr;
  if (!js) return;
  if (json_object_object_get_ex(js, "configs", &arr) && json_object_is_type(arr, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
      json_object *c = json_object_array_get_idx(arr, i), *v;
      const char *name = json_object_object_get_ex(c, "name", &v) ? json_object_get_string(v) : "";
      const double med = json_object_object_get_ex(c, "median_ms", &v) ? json_object_get_double(v) : 0;
      const double lo = json_object_object_get_ex(c, "min_ms", &v) ? json_object_get_double(v) : med;
      const double hi = json_object_object_get_ex(c, "max_ms", &v) ? json_object_get_double(v) : med;
      if (!(med > 0)) continue;
      if (!strcmp(name, "tuned plan")) r->tuned = med, r->tuned_lo = lo, r->tuned_hi = hi, r->have = 1;
      else if (!strcmp(name, "default plan")) r->def = med, r->def_lo = lo, r->def_hi = hi;
      else if (!strcmp(name, "reference")) r->ref = med;
      else if (!strcmp(name, "scalar") || !strcmp(name, "avx2") || !strcmp(name, "avx512f") ||
               !strcmp(name, "neon")) {
        if (r->fixed == 0 || med < r->fixed) {
          r->fixed = med;
          snprintf(r->best_family, sizeof r->best_family, "%s", name);
        }
      }
    }
  }
  json_object_put(js);
}

/* The published totals of a network at 1.0/224 (0 when there is none to compare with). */
static void published(const struct mbt_model *m, double *macs, double *params) {
  *macs = *params = 0;
  if (m->alpha != 1.0 || m->res != 224) return;
  switch (m->kind) {
    case MBT_NET_V1: *macs = 569, *params = 4.2; break;
    case MBT_NET_V2: *macs = 300, *params = 3.4; break;
    case MBT_NET_V3L: *macs = 219, *params = 5.4; break;
    default: *macs = 56, *params = 2.5; break;
  }
}

/* @p s as one quoted CSV field (quotes doubled). */
static void csv_quote(const char *s, char *out, size_t n) {
  size_t k = 0;
  out[k++] = '"';
  for (; *s && k + 3 < n; s++) {
    if (*s == '"') out[k++] = '"';
    out[k++] = *s;
  }
  out[k++] = '"';
  out[k] = 0;
}

/* The plan entry for a fusion key, when it says fused. */
static int fused_rows(const struct mbt_plan *pl, const char *key) {
  const struct mbt_choice *c = pl ? mbt_plan_find(pl, key) : NULL;
  int rows = 0;
  return c && sscanf(c->variant, "fused[rows=%d]", &rows) == 1 ? rows : 0;
}

const struct mbt_choice *mbt_report_entry(const struct section *sc, const char *key) {
  char kt[128];
  if (!sc->pl) return NULL;
  mbt_key_threads(key, sc->threads, kt, sizeof kt);
  return mbt_plan_find(sc->pl, kt);
}

static int sec_fused_rows(const struct section *sc, const char *key) {
  char kt[128];
  mbt_key_threads(key, sc->threads, kt, sizeof kt);
  return fused_rows(sc->pl, kt);
}

/* Row @p i: placement, plan entry, kind, counted intensity. */
static void row_fill(struct section *sc, int i) {
  const struct mbt_layer *l = &sc->m->layers[i];
  struct row *r = &sc->r[i];
  char key[96];
  memset(r, 0, sizeof *r);
  r->l = l;
  mbt_layer_key(l, key, sizeof key);
  r->c = mbt_report_entry(sc, key);
  r->ns = r->c ? r->c->ns : 0;
  mbt_roofline_place(sc->p, sc->m, i, sc->threads, &r->pc);
  r->kind = l->op == MBT_OP_CONV ? K_CONV : l->op == MBT_OP_DWCONV ? K_DW
            : l->op == MBT_OP_PWCONV ? K_PW : K_OTHER;
  const struct mbt_choice *c = r->c;
  if (c && c->nevents) { /* measured intensity, when the counters give FLOPs and traffic */
    const char *ev[MBT_PLAN_EVENTS];
    for (int k = 0; k < c->nevents; k++) ev[k] = c->events[k];
    for (int j = 0; j < c->ncand; j++) {
      double fl, by;
      if (!strcmp(c->cand[j].variant, c->variant) &&
          mbt_counters_roofline(ev, c->cand[j].counts, c->nevents, 64, &fl, &by) && by > 0)
        r->counter_i = fl / by;
    }
  }
}

/* Fused groups as the engine runs them: blocks left to right without overlap, then pairs. */
static void mark_fused(struct section *sc) {
  const struct mbt_model *m = sc->m;
  const struct mbt_layer *L = m->layers;
  for (int i = 0; sc->pl && i + 1 < m->nlayers; i++) {
    char key[96];
    if (i + 2 < m->nlayers && mbt_block_fusable(m, i)) {
      mbt_block_key(&L[i], &L[i + 1], &L[i + 2], key, sizeof key);
      if (sec_fused_rows(sc, key)) {
        const struct mbt_choice *c = mbt_report_entry(sc, key);
        for (int k = i; k < i + 3; k++) sc->r[k].kind = K_FUSED;
        sc->s.fusion_saved += c->ref_ns - c->ns;
        i += 2;
        continue;
      }
    }
    if (mbt_pair_fusable(m, i)) {
      mbt_pair_key(&L[i], &L[i + 1], key, sizeof key);
      if (sec_fused_rows(sc, key)) {
        const struct mbt_choice *c = mbt_report_entry(sc, key);
        sc->r[i].kind = sc->r[i + 1].kind = K_FUSED;
        sc->s.fusion_saved += c->ref_ns - c->ns;
        i++;
      }
    }
  }
}

/* The best fixed family of a section: the fastest end to end in the saved 'bench --e2e'
 * results, else the one the check after the tune timed, else the estimate from the plan's
 * per-layer times; then its ratio on every row. */
static void section_fixed(struct section *sc) {
  struct summary *s = &sc->s;
  const struct mbt_check *ck = sc->ck;
  if (s->e.best_family[0]) {
    snprintf(s->family, sizeof s->family, "%s", s->e.best_family);
    s->family_from = "the fastest family end to end in the saved bench --e2e results";
  } else if (ck && ck->fixed[0]) {
    snprintf(s->family, sizeof s->family, "%s", ck->fixed);
    s->family_from = "the fastest family in the end-to-end check after the tune";
  } else if (mbt_report_family_estimate(sc->r, sc->m->nlayers, s->family, sizeof s->family)) {
    s->family_from = "estimated: no end-to-end results, so the family whose variants sum to the "
                     "least time over the plan's per-layer times";
  }
  for (int i = 0; i < sc->m->nlayers; i++)
    mbt_report_fixed(sc->r[i].l, sc->r[i].c, s->family, &sc->r[i].fix);
}

/* Rows and summary of a section. */
static void section_fill(struct section *sc, const char *e2e_file) {
  struct summary *s = &sc->s;
  const struct mbt_model *m = sc->m;
  char key[128];
  memset(s, 0, sizeof *s);
  snprintf(sc->title, sizeof sc->title, "MobileNet %s %.3g/%d, %d thread%s", mbt_net_name(m->kind),
           m->alpha, m->res, sc->threads, sc->threads > 1 ? "s" : "");
  mbt_check_key(m, sc->threads, key, sizeof key);
  sc->ck = sc->pl ? mbt_plan_check(sc->pl, key) : NULL;
  e2e_load(e2e_file, &s->e);
  for (int i = 0; i < sc->m->nlayers; i++) row_fill(sc, i);
  mark_fused(sc);
  section_fixed(sc);
  for (int i = 0; i < sc->m->nlayers; i++) mbt_report_row_marks(sc, &sc->r[i]);
  for (int i = 0; i < sc->m->nlayers; i++) {
    const struct row *r = &sc->r[i];
    s->total += r->ns;
    s->total_ref += r->c ? r->c->ref_ns : 0;
    s->predicted += r->pc.net_ns; /* the roofline bound in the network: mbt_roofline_net_bound_ns */
    if (r->pc.memory_bound || r->pc.flops <= 0) s->mem_time += r->ns;
    if (r->pc.net_memory_bound || r->pc.flops <= 0) s->mem_time_net += r->ns;
  }
}

/* The thread counts network @p m has sections for: 1, then every N > 1 at which the plan has
 * an entry for one of its layers (key + " t=N"), ascending. */
static int tuned_threads(const struct mbt_model *m, const struct mbt_plan *pl, int *out, int max) {
  int n = 0;
  out[n++] = 1;
  for (int e = 0; pl && e < pl->n && n < max; e++) {
    const char *t = strstr(pl->v[e].key, " t=");
    int th = 0, have = 0;
    if (!t || sscanf(t, " t=%d", &th) != 1 || th < 2) continue;
    for (int k = 0; k < n; k++) have |= out[k] == th;
    for (int i = 0; i < m->nlayers && !have; i++) {
      char key[96], kt[128];
      mbt_layer_key(&m->layers[i], key, sizeof key);
      mbt_key_threads(key, th, kt, sizeof kt);
      if (!strcmp(kt, pl->v[e].key)) out[n++] = th, have = 1;
    }
  }
  for (int i = 1; i < n; i++) /* insertion sort */
    for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
      const int t = out[j];
      out[j] = out[j - 1], out[j - 1] = t;
    }
  return n;
}

/* "1 thread", "2 threads". */
static const char *threads_name(int threads, char *buf, size_t n) {
  snprintf(buf, n, "%d thread%s", threads, threads > 1 ? "s" : "");
  return buf;
}

static void section_head(struct buf *b, const struct section *sc) {
  const struct mbt_model *m = sc->m;
  const struct mbt_profile *p = sc->p;
  char tn[32];
  threads_name(sc->threads, tn, sizeof tn);
  put(b, "<h2 id='net%s'>MobileNet %s, alpha %.3g, %dx%d, %d classes, %s</h2>\n", sc->id,
      mbt_net_name(m->kind), m->alpha, m->res, m->res, m->classes, tn);
  put(b, "<h3>Roofline</h3>\n<p>Compute roofs: every instruction set's FMA (or multiply-add) "
         "ceiling, 1 thread solid, all threads dashed.  Bandwidth roofs: each memory level's "
         "read bandwidth at %s, with its ridge point.  Points: each layer at its analytic "
         "intensity and achieved rate with its planned variant (the plan's entries for %s), "
         "coloured by kind (hover for details).", tn, tn);
  if (sc->threads > 1 && sc->threads != p->threads)
    put(b, "  The profile has ceilings for 1 and %d threads: the %d-thread ones are drawn.",
        p->threads, p->threads);
  put(b, "</p>\n");
  mbt_report_chart(b, p, sc->r, m->nlayers, sc->s.total, sc->threads, sc->id);
}

/* How the row's "x best fixed" was found, or why there is none, in a sentence. */
static void fixed_note(const struct section *sc, const struct row *r, char *buf, size_t n) {
  const struct fixed *f = &r->fix;
  switch (f->basis) {
    case FIX_SAME: snprintf(buf, n, "the tuned choice is the %s family's own variant", sc->s.family); break;
    case FIX_NET: snprintf(buf, n, "in the network: %s, %.1f us", f->variant, f->x * r->c->ns / 1e3); break;
    case FIX_ALONE:
      snprintf(buf, n, "alone: %s was screened out of the network timing, so the ratio of the two "
               "variants' times alone", f->variant);
      break;
    default: snprintf(buf, n, "n/a: %s", f->why);
  }
}

static void attainable_cell(struct buf *b, double att) {
  char text[40], note[200];
  const int state = mbt_report_attainable(att, text, sizeof text);
  mbt_report_attainable_note(att, note, sizeof note);
  put(b, "<td data-v='%.4f'%s", att, state == 2 ? " class='over'" : "");
  if (state) {
    put(b, " title='");
    esc(b, note);
    put(b, "'");
  }
  put(b, ">%s</td>", state == 2 ? "&gt;100% (ceiling suspect)" : text);
}

static void fixed_cell(struct buf *b, const struct section *sc, const struct row *r) {
  char note[400];
  fixed_note(sc, r, note, sizeof note);
  put(b, "<td data-v='%.3f' title='", r->fix.x);
  esc(b, note);
  if (r->fix.basis == FIX_NONE) put(b, "' class='na'>n/a: %s</td>", r->fix.shortwhy);
  else put(b, "'>%s%.2f</td>", r->fix.basis == FIX_ALONE ? "~" : "", r->fix.x);
}

/* A row's figures, as the page, the CSV and the JSON state them. */
struct figs {
  double share, g, att, xref;
  const char *alone, *innet; /* "memory" or "compute" */
  int att_state;             /* mbt_report_attainable's */
  char fnote[400];           /* how x best fixed was found, or why there is none */
  char anote[200];           /* % attainable's note ("" at or below the ceiling) */
  char marks[1600];          /* the marks' sentences ("; " between) */
};

static void figs_of(const struct section *sc, const struct row *r, struct figs *f) {
  const struct mbt_choice *c = r->c;
  const struct mbt_place *pc = &r->pc;
  char text[40];
  f->share = sc->s.total > 0 ? r->ns / sc->s.total : 0;
  f->g = c && pc->flops > 0 ? pc->flops / c->ns : 0;
  f->att = pc->attainable > 0 && f->g > 0 ? f->g / pc->attainable : 0;
  f->xref = c && c->ref_ns > 0 ? c->ref_ns / c->ns : 0;
  f->alone = pc->flops <= 0 || pc->memory_bound ? "memory" : "compute";
  f->innet = pc->flops <= 0 || pc->net_memory_bound ? "memory" : "compute";
  f->att_state = mbt_report_attainable(f->att, text, sizeof text);
  mbt_report_attainable_note(f->att, f->anote, sizeof f->anote);
  fixed_note(sc, r, f->fnote, sizeof f->fnote);
  f->marks[0] = 0;
  for (int k = 0; k < r->nmarks; k++)
    mbt_report_cat(f->marks, sizeof f->marks, "%s%s: %s", k ? "; " : "", r->marks[k].tag,
                   r->marks[k].why);
}

static void marks_cell(struct buf *b, const struct row *r) {
  put(b, "<td class='l marks'>");
  for (int k = 0; k < r->nmarks; k++) {
    put(b, "<span class='mk' title='");
    esc(b, r->marks[k].why);
    put(b, "'>%s</span>", r->marks[k].tag);
  }
  put(b, "</td>");
}

/* @p v in at most four characters and a unit prefix: 995k, 1.2M. */
static const char *si(double v, char *buf, size_t n) {
  if (v < 1e3) snprintf(buf, n, "%.0f", v);
  else if (v < 1e4) snprintf(buf, n, "%.1fk", v / 1e3);
  else if (v < 1e6) snprintf(buf, n, "%.0fk", v / 1e3);
  else if (v < 1e7) snprintf(buf, n, "%.1fM", v / 1e6);
  else if (v < 1e9) snprintf(buf, n, "%.0fM", v / 1e6);
  else snprintf(buf, n, "%.1fG", v / 1e9);
  return buf;
}

/* A variant name as the table shows it: without the "mbt_f32_" and "minmax_ukernel_" every
 * name has (the title keeps it whole), a break allowed before its blocking parameters. */
static void variant_cell(struct buf *b, const struct mbt_choice *c) {
  if (!c) {
    put(b, "<td class='l var'>not tuned</td>");
    return;
  }
  char s[sizeof c->variant];
  size_t k = 0;
  for (const char *v = c->variant; *v && k + 1 < sizeof s;) {
    if (!strncmp(v, "mbt_f32_", 8)) v += 8;
    else if (!strncmp(v, "minmax_", 7)) v += 7;
    else if (!strncmp(v, "ukernel_", 8)) v += 8;
    else s[k++] = *v++;
  }
  s[k] = 0;
  put(b, "<td class='l var' title='");
  esc(b, c->variant);
  put(b, "'>");
  char *br = strchr(s, '[');
  if (br) *br = 0;
  esc(b, s);
  if (br) {
    *br = '[';
    put(b, "<wbr>");
    esc(b, br);
  }
  put(b, "</td>");
}

/* Where a layer is bound, alone or in the network: "cmp L2", the whole sentence on hover. */
static void bound_cell(struct buf *b, const char *bound, const char *level, const char *where) {
  put(b, "<td class='l %s' title='%s-bound %s, the data in %s'>%s %s</td>",
      bound[0] == 'm' ? "mem" : "cmp", bound, where, level, bound[0] == 'm' ? "mem" : "cmp", level);
}

static void row_html(struct buf *b, const struct section *sc, int i, const struct figs *f) {
  const struct mbt_profile *p = sc->p;
  const struct row *r = &sc->r[i];
  const struct mbt_layer *l = r->l;
  const struct mbt_choice *c = r->c;
  const struct mbt_place *pc = &r->pc;
  char v1[16], v2[16], v3[16];
  put(b, "<tr%s%s><td class='l' data-v='%d'>%s</td>", f->share >= 0.08 ? " class='hot'" : "",
      r->nmarks ? " data-marks='1'" : "", i, l->name);
  marks_cell(b, r);
  put(b, "<td class='l'>%s%s</td><td class='l' data-v='%d'>%dx%dx%d<br>&rarr; %dx%dx%d%s</td>"
         "<td data-v='%.0f'>%s</td><td data-v='%.0f'>%s</td><td data-v='%.0f'>%s</td>"
         "<td>%.2f</td>", mbt_op_name(l->op), r->kind == K_FUSED ? " fused" : "",
      l->ih * l->iw * l->ic, l->ih, l->iw, l->ic, l->oh, l->ow, l->oc, l->stride > 1 ? " /2" : "",
      l->macs, si(l->macs, v1, sizeof v1), l->params, si(l->params, v2, sizeof v2), l->bytes,
      si(l->bytes, v3, sizeof v3), pc->intensity);
  if (r->counter_i > 0) put(b, "<td>%.2f</td>", r->counter_i);
  else put(b, "<td>-</td>");
  bound_cell(b, f->alone, p->levels[pc->level].name, "alone");
  bound_cell(b, f->innet, p->levels[pc->net_level].name, "in the network");
  variant_cell(b, c);
  put(b, "<td>%.1f</td><td%s>%.0f%%</td><td>%.1f</td>", r->ns / 1e3,
      c && c->spread > SPREAD_BOUND ? " class='over'" : "", c ? 100 * c->spread : 0.0, f->g);
  attainable_cell(b, f->att);
  if (f->xref > 0) put(b, "<td>%.1f</td>", f->xref);
  else put(b, "<td data-v='0' class='na' title='the reference kernel was not timed (tune --quick, or "
              "more than 1 thread)'>-</td>");
  fixed_cell(b, sc, r);
  put(b, "<td>%.1f</td></tr>\n", 100 * f->share);
}

/* RFC 4180: variant names hold commas ("[mc=48,kc=256]"), so text is quoted. */
static void row_csv(FILE *csv, const struct section *sc, int i, const struct figs *f,
                    const char *warnings) {
  const struct mbt_profile *p = sc->p;
  const struct mbt_model *m = sc->m;
  const struct row *r = &sc->r[i];
  const struct mbt_layer *l = r->l;
  const struct mbt_choice *c = r->c;
  const struct mbt_place *pc = &r->pc;
  char var[2 * sizeof c->variant + 3], fnote[2 * sizeof f->fnote + 3], anote[2 * sizeof f->anote + 3];
  char marks[2 * sizeof f->marks + 3], warn[2 * 600 + 3], xfix[16] = "", att[16] = "";
  csv_quote(c ? c->variant : "", var, sizeof var);
  csv_quote(f->fnote, fnote, sizeof fnote);
  csv_quote(f->anote, anote, sizeof anote);
  csv_quote(f->marks, marks, sizeof marks);
  csv_quote(warnings, warn, sizeof warn);
  if (r->fix.x > 0) snprintf(xfix, sizeof xfix, "%.3f", r->fix.x);
  if (f->att_state < 2) snprintf(att, sizeof att, "%.4f", f->att_state ? 1.0 : f->att);
  fprintf(csv, "%s,%.3g,%d,%d,\"%s\",%s,%d,%d,%d,%d,%d,%d,%d,%.0f,%.0f,%.0f,%.4f,%.4f,%s,%s,"
          "%s,%s,%s,%.3f,%.4f,%.3f,%s,%.3f,%s,%.4f,%d,%s,%s,%s,%s,%s\n", mbt_net_name(m->kind),
          m->alpha, m->res, i, l->name, mbt_op_name(l->op), l->ih, l->iw, l->ic, l->oh, l->ow,
          l->oc, l->stride, l->macs, l->params, l->bytes, pc->intensity, r->counter_i, f->alone,
          p->levels[pc->level].name, f->innet, p->levels[pc->net_level].name, var, r->ns / 1e3,
          c ? c->spread : 0.0, f->g, att, f->xref, xfix, f->share, sc->threads, sc->s.family,
          fnote, anote, marks, warn);
}

static void row_json(json_object *jl, const struct section *sc, int i, const struct figs *f) {
  const struct mbt_profile *p = sc->p;
  const struct row *r = &sc->r[i];
  const struct mbt_layer *l = r->l;
  const struct mbt_choice *c = r->c;
  const struct mbt_place *pc = &r->pc;
  json_object *o = json_object_new_object(), *jm = json_object_new_array();
  json_object_object_add(o, "layer", json_object_new_string(l->name));
  json_object_object_add(o, "kind", json_object_new_string(mbt_op_name(l->op)));
  json_object_object_add(o, "fused", json_object_new_boolean(r->kind == K_FUSED));
  json_object_object_add(o, "macs", json_object_new_double(l->macs));
  json_object_object_add(o, "params", json_object_new_double(l->params));
  json_object_object_add(o, "bytes", json_object_new_double(l->bytes));
  json_object_object_add(o, "intensity", json_object_new_double(pc->intensity));
  json_object_object_add(o, "intensity_counted", r->counter_i > 0 ? json_object_new_double(r->counter_i) : NULL);
  json_object_object_add(o, "bound_alone", json_object_new_string(f->alone));
  json_object_object_add(o, "level_alone", json_object_new_string(p->levels[pc->level].name));
  json_object_object_add(o, "bound_in_network", json_object_new_string(f->innet));
  json_object_object_add(o, "level_in_network", json_object_new_string(p->levels[pc->net_level].name));
  json_object_object_add(o, "variant", c ? json_object_new_string(c->variant) : NULL);
  json_object_object_add(o, "time_us", json_object_new_double(r->ns / 1e3));
  json_object_object_add(o, "spread", json_object_new_double(c ? c->spread : 0));
  json_object_object_add(o, "gflops", json_object_new_double(f->g));
  /* never above 1 as a fact: 1 within the noise band, null beyond it (the raw ratio apart) */
  json_object_object_add(o, "fraction_of_attainable", f->att_state < 2 ? json_object_new_double(f->att_state ? 1.0 : f->att) : NULL);
  json_object_object_add(o, "measured_over_ceiling", json_object_new_double(f->att));
  json_object_object_add(o, "attainable_note", f->anote[0] ? json_object_new_string(f->anote) : NULL);
  json_object_object_add(o, "speedup_over_reference", json_object_new_double(f->xref));
  json_object_object_add(o, "speedup_over_best_fixed", r->fix.x > 0 ? json_object_new_double(r->fix.x) : NULL);
  json_object_object_add(o, "best_fixed_note", json_object_new_string(f->fnote));
  json_object_object_add(o, "share_of_time", json_object_new_double(f->share));
  for (int k = 0; k < r->nmarks; k++) {
    json_object *x = json_object_new_object();
    json_object_object_add(x, "mark", json_object_new_string(r->marks[k].tag));
    json_object_object_add(x, "why", json_object_new_string(r->marks[k].why));
    json_object_array_add(jm, x);
  }
  json_object_object_add(o, "marks", jm);
  json_object_array_add(jl, o);
}

static json_object *layer_table(struct buf *b, FILE *csv, const struct section *sc,
                                const char *warnings) {
  put(b, "<h3>Layers</h3>\n<p>Click a column to sort.  Highlighted: layers with 8%%+ of the "
         "tuned time.  Intensity from counters: %s.  Marks (hover for why): <i>busy</i> measured "
         "on a busy machine, <i>fallback</i> put back to the default choice, <i>ceiling</i> "
         "placed against a ceiling the roofline could not vouch for, <i>spread</i> passes that "
         "disagreed by more than %.0f%% (the spread is then in red).  %% attainable: 100%%* is "
         "up to %.0f%% over the ceiling (within the noise); beyond that the ceiling is suspect, "
         "and no figure is stated.  ", 
      sc->p->counters ? "FLOPs and last-level misses per run" : "no hardware counters on this machine",
      100 * SPREAD_BOUND, 100 * NOISE_BAND);
  if (sc->s.family[0])
    put(b, "x best fixed: the %s family's variant (what a forced engine runs on the layer) "
           "against the tuned choice, %s; ~: the ratio of their times alone (the family's "
           "variant was screened out of the network timing); n/a: hover for why.</p>\n",
        sc->s.family, sc->s.family_from);
  else
    put(b, "x best fixed: n/a, no fixed family is known (no end-to-end results, no check, no "
           "candidate records).</p>\n");
  put(b, "<div class='wide'><table class='sortable layers' id='layers%s'><thead><tr>"
         "<th class='l'>layer</th><th class='l'>marks</th><th class='l'>kind</th>"
         "<th class='l' title='input, output (/2: stride 2)'>shape</th><th>MACs</th>"
         "<th>params</th><th title='compulsory fp32 bytes: input, weights, output'>bytes</th>"
         "<th title='analytic intensity, FLOP per compulsory byte'>FLOP/B</th>"
         "<th title='FLOP/B from the hardware counters'>counted</th>"
         "<th class='l' title='bound alone, and the level that holds its working set'>alone</th>"
         "<th class='l' title='bound inside the network, and the level whose traffic takes "
         "longest'>in network</th><th class='l'>variant</th><th>time us</th><th>spread</th>"
         "<th>GFLOP/s</th><th>%% attainable</th><th>x ref</th><th>x best fixed</th>"
         "<th>%% time</th></tr></thead><tbody>\n", sc->id);
  json_object *jl = json_object_new_array();
  for (int i = 0; i < sc->m->nlayers; i++) {
    static struct figs f;
    figs_of(sc, &sc->r[i], &f);
    row_html(b, sc, i, &f);
    if (csv) row_csv(csv, sc, i, &f, warnings);
    row_json(jl, sc, i, &f);
  }
  put(b, "</tbody></table></div>\n");
  return jl;
}

static void summary_e2e(struct buf *b, const struct section *sc) {
  const struct summary *s = &sc->s;
  const struct mbt_model *m = sc->m;
  char tn[32];
  threads_name(sc->threads, tn, sizeof tn);
  if (!s->e.have) {
    put(b, "<li>end to end: no saved results (run <code>mobitune bench --e2e --net %s --alpha "
           "%g --res %d", mbt_net_name(m->kind), m->alpha, m->res);
    if (sc->threads > 1) put(b, " --threads %d", sc->threads);
    put(b, "</code>, then the report again)</li>\n");
    return;
  }
  put(b, "<li>end to end (mobitune bench --e2e, %s, interleaved): tuned plan median "
         "%.3f ms (min %.3f, max %.3f)", tn, s->e.tuned, s->e.tuned_lo, s->e.tuned_hi);
  if (s->e.def > 0) put(b, "; untuned default plan %.3f ms (%.2fx)", s->e.def, s->e.def / s->e.tuned);
  if (s->e.fixed > 0) put(b, "; best fixed configuration (%s) %.3f ms (%.2fx)", s->e.best_family,
                          s->e.fixed, s->e.fixed / s->e.tuned);
  if (s->e.ref > 0) put(b, "; reference kernels %.1f ms (%.1fx)", s->e.ref, s->e.ref / s->e.tuned);
  put(b, "</li>\n");
  char att[40];
  const double frac = s->predicted / 1e6 / s->e.tuned;
  if (s->predicted > 0 && mbt_report_attainable(frac, att, sizeof att) < 2)
    put(b, "<li>the tuned plan end to end runs at %s of the network's roofline bound "
           "(below)%s</li>\n", att, frac > 1 ? ": faster within the noise" : "");
  else if (s->predicted > 0)
    put(b, "<li class='over'>the tuned plan end to end beat the network's roofline bound "
           "(below; bound / measured %.2f): a ceiling is too low, so the bound is suspect</li>\n",
        frac);
}

static void summary(struct buf *b, const struct section *sc) {
  const struct summary *s = &sc->s;
  const struct mbt_model *m = sc->m;
  double pub_macs, pub_params;
  char tn[32];
  threads_name(sc->threads, tn, sizeof tn);
  published(m, &pub_macs, &pub_params);
  put(b, "<h3>Network summary</h3>\n<ul id='summary%s'>\n", sc->id);
  if (sc->ck) {
    char text[640];
    const int warns = mbt_report_check_sentence(sc->ck, text, sizeof text);
    put(b, "<li id='check%s'%s>", sc->id, warns ? " class='over'" : "");
    esc(b, text);
    put(b, "</li>\n");
  } else if (sc->pl && sc->s.total > 0) {
    put(b, "<li id='check%s'>the check after the tune: none recorded (a plan from before "
           "mobitune-plan 3: tune again to have the tuned plan timed against the default)</li>\n",
        sc->id);
  }
  summary_e2e(b, sc);
  put(b, "<li>%.1f M MACs, %.3f M parameters (+%.3f M biases)", m->macs / 1e6, m->params / 1e6,
      m->bias / 1e6);
  if (pub_macs > 0) put(b, "; published: %.0f M multiply-adds, %.1f M parameters", pub_macs, pub_params);
  const double over = s->predicted > 0 ? s->total / s->predicted : 0.0;
  put(b, "</li>\n<li>sum of the tuned per-layer medians %.3f ms; the network's roofline bound "
         "(every layer at its ceiling in the network, %s: no plan runs faster) %.3f ms: "
         "measured / bound %.2f%s</li>\n", s->total / 1e6, tn, s->predicted / 1e6, over,
      over > 0 && over < 1 / (1 + NOISE_BAND) ? " (below 1: the layers beat the bound, so a "
      "ceiling is too low)" : "");
  put(b, "<li id='memshare%s'>share of the tuned time in memory-bound layers: <b>%.0f%%</b> "
         "(each layer alone, its working set in its own level), %.0f%% inside the network "
         "(activations from the level the previous layer left them in, weights from the last "
         "level or DRAM)</li>\n", sc->id, s->total > 0 ? 100 * s->mem_time / s->total : 0.0,
      s->total > 0 ? 100 * s->mem_time_net / s->total : 0.0);
  put(b, "<li>fusion saved %.3f ms (the fused pairs and blocks against their layers apart)</li>\n",
      s->fusion_saved / 1e6);
  if (s->total_ref > 0)
    put(b, "<li>reference kernels, per layer alone: %.3f ms (%.1fx the tuned sum)</li>\n",
        s->total_ref / 1e6, s->total_ref / s->total);
  put(b, "</ul>\n");
}

/* The candidates of each distinct problem, then of each fused pair and block. */
static void decisions(struct buf *b, const struct section *sc) {
  const struct mbt_layer *l = sc->m->layers;
  const int n = sc->m->nlayers;
  put(b, "<h3>Tuning decisions</h3>\n<div class='decisions'><p>Every candidate the tuner tried "
         "for each problem, timed inside the network (median over interleaved passes), with its "
         "time alone where it was screened, its roofline lower bound, its counter values where "
         "hardware counters exist (%s), and why it stopped being timed.</p>\n",
      sc->p->counters ? "they exist here" : "none on this machine: time only");
  for (int i = 0; sc->pl && i < n; i++) {
    char key[96], k2[96];
    const struct mbt_choice *c = sc->r[i].c;
    mbt_layer_key(&l[i], key, sizeof key);
    if (c && !mbt_layer_repeats(sc->m, i)) {
      snprintf(k2, sizeof k2, "%s (%s)", l[i].name, mbt_op_name(l[i].op));
      decision(b, k2, c);
    }
    if (i + 1 < n && mbt_pair_fusable(sc->m, i)) {
      mbt_pair_key(&l[i], &l[i + 1], key, sizeof key);
      if ((c = mbt_report_entry(sc, key))) {
        snprintf(k2, sizeof k2, "%s + %s fused", l[i].name, l[i + 1].name);
        decision(b, k2, c);
      }
    }
    if (i + 2 < n && mbt_block_fusable(sc->m, i)) {
      mbt_block_key(&l[i], &l[i + 1], &l[i + 2], key, sizeof key);
      if ((c = mbt_report_entry(sc, key))) {
        snprintf(k2, sizeof k2, "%s + %s + %s as a block", l[i].name, l[i + 1].name, l[i + 2].name);
        decision(b, k2, c);
      }
    }
  }
  put(b, "</div>\n");
}

static void section_json(json_object *jn, const struct section *sc, json_object *jl) {
  const struct mbt_model *m = sc->m;
  const struct summary *s = &sc->s;
  json_object_object_add(jn, "net", json_object_new_string(mbt_net_name(m->kind)));
  json_object_object_add(jn, "alpha", json_object_new_double(m->alpha));
  json_object_object_add(jn, "res", json_object_new_int(m->res));
  json_object_object_add(jn, "threads", json_object_new_int(sc->threads));
  json_object_object_add(jn, "classes", json_object_new_int(m->classes));
  json_object_object_add(jn, "macs", json_object_new_double(m->macs));
  json_object_object_add(jn, "params", json_object_new_double(m->params));
  json_object_object_add(jn, "tuned_sum_ms", json_object_new_double(s->total / 1e6));
  json_object_object_add(jn, "predicted_ms", json_object_new_double(s->predicted / 1e6));
  json_object_object_add(jn, "memory_bound_share", json_object_new_double(s->total > 0 ? s->mem_time / s->total : 0));
  json_object_object_add(jn, "memory_bound_share_in_network", json_object_new_double(s->total > 0 ? s->mem_time_net / s->total : 0));
  json_object_object_add(jn, "fusion_saved_ms", json_object_new_double(s->fusion_saved / 1e6));
  json_object_object_add(jn, "best_fixed_family", s->family[0] ? json_object_new_string(s->family) : NULL);
  if (sc->ck) {
    const struct mbt_check *ck = sc->ck;
    json_object *jc = json_object_new_object();
    json_object_object_add(jc, "tuned_ms", json_object_new_double(ck->tuned_ns / 1e6));
    json_object_object_add(jc, "default_ms", json_object_new_double(ck->default_ns / 1e6));
    json_object_object_add(jc, "fixed", json_object_new_string(ck->fixed));
    json_object_object_add(jc, "fixed_ms", json_object_new_double(ck->fixed_ns / 1e6));
    json_object_object_add(jc, "spread", json_object_new_double(ck->spread));
    json_object_object_add(jc, "rounds", json_object_new_int(ck->rounds));
    json_object_object_add(jc, "fallbacks", json_object_new_int(ck->fallbacks));
    json_object_object_add(jc, "busy_passes", json_object_new_int(ck->busy_passes));
    json_object_object_add(jc, "passes", json_object_new_int(ck->passes));
    json_object_object_add(jc, "outcome", json_object_new_string(mbt_check_out_name(ck->outcome)));
    json_object_object_add(jc, "forced", json_object_new_boolean(ck->busy));
    json_object_object_add(jn, "check", jc);
  }
  if (s->e.have) {
    json_object *je = json_object_new_object();
    json_object_object_add(je, "tuned_ms", json_object_new_double(s->e.tuned));
    json_object_object_add(je, "tuned_min_ms", json_object_new_double(s->e.tuned_lo));
    json_object_object_add(je, "tuned_max_ms", json_object_new_double(s->e.tuned_hi));
    json_object_object_add(je, "default_ms", json_object_new_double(s->e.def));
    json_object_object_add(je, "best_fixed", json_object_new_string(s->e.best_family));
    json_object_object_add(je, "best_fixed_ms", json_object_new_double(s->e.fixed));
    json_object_object_add(je, "reference_ms", json_object_new_double(s->e.ref));
    json_object_object_add(jn, "end_to_end", je);
  }
  json_object_object_add(jn, "layers", jl);
}

/* A section of the page: chart, layer table, summary, tuning decisions; and its twins. */
static void section(struct buf *b, json_object *jn, FILE *csv, struct section *sc,
                    const char *warnings) {
  section_head(b, sc);
  json_object *jl = layer_table(b, csv, sc, warnings);
  summary(b, sc);
  decisions(b, sc);
  section_json(jn, sc, jl);
}

/* Every network, a section per thread count it was tuned at; their warnings into @p w (the
 * profile's already there) and @p passed. */
static void sections(struct buf *b, json_object *jnets, FILE *csv, const struct mbt_report_in *in,
                     struct warnings *w, struct warnings *passed) {
  static struct section sc; /* large: a row per layer */
  char profile[96] = "";
  if (w->n) snprintf(profile, sizeof profile, "profile: %d warning%s", w->n, w->n > 1 ? "s" : "");
  for (int k = 0; k < in->nmodels; k++) {
    int th[16];
    const int nt = tuned_threads(&in->models[k], in->pl, th, 16);
    for (int t = 0; t < nt; t++) {
      char path[4200] = "";
      if (th[t] == 1 && in->e2e && in->e2e[k]) snprintf(path, sizeof path, "%s", in->e2e[k]);
      else if (th[t] > 1 && in->e2e_threads) in->e2e_threads(in->e2e_ctx, &in->models[k], th[t], path, sizeof path);
      sc.p = in->p, sc.pl = in->pl, sc.m = &in->models[k], sc.threads = th[t];
      if (th[t] == 1) snprintf(sc.id, sizeof sc.id, "%d", k);
      else snprintf(sc.id, sizeof sc.id, "%dt%d", k, th[t]);
      section_fill(&sc, path[0] ? path : NULL);
      mbt_report_section_warnings(&sc, w, passed);
      char brief[600];
      snprintf(brief, sizeof brief, "%s%s%s", sc.brief, sc.brief[0] && profile[0] ? "; " : "", profile);
      json_object *jn = json_object_new_object();
      section(b, jn, csv, &sc, brief);
      json_object_array_add(jnets, jn);
    }
  }
}

/* A second profile beside this one: every ceiling of both, and their ratio. */
static void compare(struct buf *b, const struct mbt_profile *p, const struct mbt_profile *q,
                    const char *qname) {
  put(b, "<h2 id='compare'>Profiles side by side</h2>\n<p>This profile (%s, %s) against ", p->fingerprint, p->date);
  esc(b, qname);
  put(b, " (%s, %s).</p>\n<table class='sortable'><thead><tr><th class='l'>ceiling</th>"
         "<th>this</th><th>other</th><th>this / other</th></tr></thead><tbody>\n", q->fingerprint, q->date);
  for (int k = 0; k < p->npeaks; k++) {
    const struct mbt_peak *a = &p->peaks[k];
    for (int j = 0; j < q->npeaks; j++) {
      const struct mbt_peak *c = &q->peaks[j];
      if (strcmp(a->isa, c->isa) || strcmp(a->kernel, c->kernel) || a->threads != c->threads) continue;
      put(b, "<tr><td class='l'>%s %s %d thread%s GFLOP/s</td><td>%.1f</td><td>%.1f</td>"
             "<td>%.2f</td></tr>\n", a->isa, a->kernel, a->threads, a->threads > 1 ? "s" : "",
          a->gflops.best, c->gflops.best, c->gflops.best > 0 ? a->gflops.best / c->gflops.best : 0.0);
    }
  }
  for (int i = 0; i < p->nlevels; i++)
    for (int j = 0; j < q->nlevels; j++) {
      if (strcmp(p->levels[i].name, q->levels[j].name)) continue;
      for (int t = 0; t < 2; t++) {
        const double x = p->levels[i].bw[MBT_BW_READ][t].best, y = q->levels[j].bw[MBT_BW_READ][t].best;
        put(b, "<tr><td class='l'>%s read, %s GB/s</td><td>%.1f</td><td>%.1f</td><td>%.2f</td>"
               "</tr>\n", p->levels[i].name, t ? "all threads" : "1 thread", x, y, y > 0 ? x / y : 0.0);
      }
    }
  put(b, "</tbody></table>\n");
}

static const char *const script =
    "<script>\n/* sort a table by the clicked column: numbers by value, text alphabetically */\n"
    "document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener("
    "'click',function(){var i=th.cellIndex,tb=th.closest('table').tBodies[0],rows=Array.from("
    "tb.rows),asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';rows.sort(function(a,b){"
    "var x=a.cells[i].dataset.v||a.cells[i].textContent,y=b.cells[i].dataset.v||b.cells[i]."
    "textContent,nx=parseFloat(x),ny=parseFloat(y),r=(isNaN(nx)||isNaN(ny))?x.localeCompare(y)"
    ":nx-ny;return asc?r:-r;});rows.forEach(function(r){tb.appendChild(r);});});});\n</script>\n";

/* @p path with its extension replaced by @p ext. */
static void twin(const char *path, const char *ext, char *buf, size_t n) {
  const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
  const size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
  snprintf(buf, n, "%.*s%s", (int)stem, path, ext);
}

/* The top of the page: style, title, the links to every section. */
static void page_head(struct buf *b, const struct mbt_report_in *in) {
  put(b, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
         "<title>mobitune roofline report</title>\n<style>\n"
         "body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}"
         "table{border-collapse:collapse;font-size:12px;margin:6px 0}"
         ".wide{overflow-x:auto}table.layers{font-size:11px}table.layers td,table.layers th"
         "{padding:2px 4px}td.var{max-width:17em;overflow-wrap:anywhere}td.marks{max-width:6em}"
         "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
         "th{background:#eee;cursor:pointer}td.l,th.l{text-align:left}"
         "tr.hot td{background:#fff3cd}tr.win td{font-weight:bold}details{margin:2px 0}"
         ".mem{color:#a33}.cmp{color:#236}svg .cand{display:none}svg.showc .cand{display:inline}"
         ".over{color:#a33;font-weight:bold}td.na{color:#777}"
         ".mk{display:inline-block;background:#f8d7da;color:#721c24;border-radius:3px;"
         "padding:0 3px;margin:1px;font-size:10px;cursor:help}"
         "#warnings.banner{border:2px solid #c33;background:#fff5f5;padding:4px 14px;margin:12px 0}"
         "#warnings h2{margin:6px 0;color:#a33}#warnings h3{margin:8px 0 2px}"
         "#warnings ul{margin:2px 0;columns:2 36em;font-size:13px}#warnings li{break-inside:avoid}"
         "#warnings.nowarn{color:#2a6b2a}"
         "dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:bold}"
         "@media print{details{display:block}th{cursor:auto}input{display:none}}"
         "\n</style></head><body>\n");
  put(b, "<h1>mobitune report</h1>\n<p>");
  for (int k = 0; k < in->nmodels; k++) {
    int th[16];
    const int nt = tuned_threads(&in->models[k], in->pl, th, 16);
    put(b, "%s<a href='#net%d'>MobileNet %s %.3g/%d</a>", k ? " &middot; " : "", k,
        mbt_net_name(in->models[k].kind), in->models[k].alpha, in->models[k].res);
    for (int t = 1; t < nt; t++) put(b, " <a href='#net%dt%d'>(%d threads)</a>", k, th[t], th[t]);
  }
  if (in->other) put(b, " &middot; <a href='#compare'>profiles side by side</a>");
  put(b, "</p>\n");
}

/* What the measurements cannot vouch for, at the top of the page; a plain line when nothing. */
static void banner(struct buf *b, const struct warnings *w, const struct warnings *passed) {
  if (w->n == 0) {
    put(b, "<p id='warnings' class='nowarn'>No warnings: every ceiling was measured quietly and "
           "consistently, and no tuned entry was measured busy, put back or spread beyond "
           "%.0f%%.</p>\n", 100 * SPREAD_BOUND);
  } else {
    put(b, "<div id='warnings' class='banner'><h2>%d warning%s: what the measurements cannot "
           "vouch for</h2>\n", w->n, w->n > 1 ? "s" : "");
    for (int i = 0; i < w->n; i++) {
      if (i == 0 || strcmp(w->v[i].group, w->v[i - 1].group)) {
        put(b, "%s<h3>", i ? "</ul>\n" : "");
        esc(b, w->v[i].group);
        put(b, "</h3>\n<ul>\n");
      }
      put(b, "<li>");
      esc(b, w->v[i].text);
      put(b, "</li>\n");
    }
    put(b, "</ul>\n");
  }
  for (int i = 0; i < passed->n; i++) {
    put(b, "<p class='checked'><b>Nothing to warn about</b> in ");
    esc(b, passed->v[i].group);
    put(b, ": ");
    esc(b, passed->v[i].text);
    put(b, "</p>\n");
  }
  if (w->n) put(b, "</div>\n");
}

static void machine_card(struct buf *b, const struct mbt_report_in *in) {
  const struct mbt_machine *m = in->m;
  const struct mbt_profile *p = in->p;
  put(b, "<h2>Machine</h2><dl id='machine'><dt>CPU</dt><dd>");
  esc(b, m->model);
  put(b, " (");
  esc(b, m->vendor);
  put(b, "), family %d model %d stepping %d</dd><dt>ISA</dt><dd>", m->family, m->cpu_model,
      m->stepping);
  esc(b, m->features);
  put(b, "</dd><dt>cores</dt><dd>%d cores, %d threads, %d NUMA node(s)</dd>", m->cores,
      m->threads, m->numa_nodes);
  put(b, "<dt>caches</dt><dd>");
  for (int i = 0; i < m->ncaches; i++)
    put(b, "L%d %llu KiB (shared by %d) ", m->caches[i].level,
        (unsigned long long)(m->caches[i].size >> 10), m->caches[i].shared_by);
  put(b, "</dd><dt>clock</dt><dd%s>%.2f GHz inferred (dependent adds)", p->clock_flagged ?
      " class='over'" : "", p->clock_ghz);
  if (p->clock_os_ghz > 0) put(b, ", %.2f GHz by the OS", p->clock_os_ghz);
  put(b, "%s, FMA latency %.1f cycles</dd>", p->clock_flagged ? " (implausible: flagged)" : "",
      p->fma_latency);
  put(b, "<dt>counters</dt><dd id='counters'>");
  esc(b, p->counters_note);
  put(b, "</dd><dt>fingerprint</dt><dd>%s (profile %s, measured %s)</dd>", m->fingerprint,
      p->fingerprint, p->date);
  put(b, "<dt>mobitune</dt><dd>%s</dd><dt>commands</dt><dd><code>", mbt_version());
  esc(b, in->commands ? in->commands : "");
  put(b, "</code></dd></dl>\n");
}

static void page_json(json_object *js, const struct mbt_report_in *in, const struct warnings *w) {
  const struct mbt_machine *m = in->m;
  json_object *jm = json_object_new_object(), *jw = json_object_new_array();
  json_object_object_add(jm, "cpu", json_object_new_string(m->model));
  json_object_object_add(jm, "isa", json_object_new_string(m->features));
  json_object_object_add(jm, "cores", json_object_new_int(m->cores));
  json_object_object_add(jm, "threads", json_object_new_int(m->threads));
  json_object_object_add(jm, "fingerprint", json_object_new_string(m->fingerprint));
  json_object_object_add(jm, "counters", json_object_new_string(in->p->counters_note));
  json_object_object_add(jm, "clock_ghz", json_object_new_double(in->p->clock_ghz));
  json_object_object_add(jm, "clock_os_ghz", json_object_new_double(in->p->clock_os_ghz));
  json_object_object_add(jm, "clock_flagged", json_object_new_boolean(in->p->clock_flagged));
  json_object_object_add(js, "format", json_object_new_string("mobitune-report"));
  json_object_object_add(js, "version", json_object_new_int(1));
  json_object_object_add(js, "mobitune", json_object_new_string(mbt_version()));
  json_object_object_add(js, "machine", jm);
  for (int i = 0; i < w->n; i++) {
    char text[sizeof w->v[i].group + sizeof w->v[i].text + 2];
    snprintf(text, sizeof text, "%s: %s", w->v[i].group, w->v[i].text);
    json_object_array_add(jw, json_object_new_string(text));
  }
  json_object_object_add(js, "warnings", jw);
}

/* The CSV twin, written as the sections are (to a temporary file, renamed at the end). */
/* The CSV twin's temporary (created as every atomic write's: mbt_tmp_create), its header
 * written; its name in @p tmp. */
static FILE *csv_open(const char *path, char *tmp, size_t n) {
  const int fd = mbt_replaceable(path) == MBT_OK ? mbt_tmp_create(path, tmp, n) : -1;
  FILE *csv = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (fd >= 0 && !csv) {
    close(fd);
    unlink(tmp);
  }
  if (csv)
    fprintf(csv, "net,alpha,res,index,layer,kind,ih,iw,ic,oh,ow,oc,stride,macs,params,bytes,"
                 "intensity,intensity_counted,bound_alone,level_alone,bound_in_network,"
                 "level_in_network,variant,time_us,spread,gflops,fraction_of_attainable,"
                 "speedup_over_reference,speedup_over_best_fixed,share_of_time,threads,"
                 "best_fixed_family,best_fixed_note,attainable_note,marks,warnings\n");
  return csv;
}

enum mbt_status mbt_report_write(const char *path, const struct mbt_report_in *in) {
  struct buf b = {malloc(1 << 16), 0, 1 << 16, 0}, body = {malloc(1 << 16), 0, 1 << 16, 0};
  char csvpath[4200], jsonpath[4200], csvtmp[4400];
  twin(path, ".csv", csvpath, sizeof csvpath);
  twin(path, ".json", jsonpath, sizeof jsonpath);
  const int mem = b.s && body.s;
  FILE *csv = mem ? csv_open(csvpath, csvtmp, sizeof csvtmp) : NULL;
  if (!csv) {
    free(b.s);
    free(body.s);
    return mem ? MBT_EIO : mbt_fail(MBT_ENOMEM, "cannot allocate the report");
  }
  json_object *js = json_object_new_object(), *jnets = json_object_new_array();
  struct warnings w = {0, 0, NULL}, passed = {0, 0, NULL};
  mbt_report_profile_warnings(in->p, &w);
  sections(&body, jnets, csv, in, &w, &passed); /* the banner needs their warnings first */
  page_head(&b, in);
  banner(&b, &w, &passed);
  machine_card(&b, in);
  put(&b, "%.*s", (int)body.n, body.s);
  if (in->other) compare(&b, in->p, in->other, in->other_name ? in->other_name : "another profile");
  put(&b, "%s</body></html>\n", script);
  page_json(js, in, &w);
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
  mbt_report_warnings_free(&w);
  mbt_report_warnings_free(&passed);
  free(b.s);
  free(body.s);
  return st;
}
