/* reports/html.c -- the self-contained HTML report: its parts' HTML writers and the page
 * around them.
 *
 * One file, no network access: the roofline chart is SVG (chart.c), the table sorting a
 * few lines of inline script.  Everything comes from saved data (the table model, table.c),
 * never from a live run, so a report can be made on another machine.  Per network and thread
 * count the plan was tuned at (a section each): the chart with every layer on the roofline
 * (and, on demand, every candidate the tuner timed), the layer table, the network summary and
 * the tuning decisions; optionally a second profile side by side. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "reports/report.h"

/* One problem's candidates: what was tried, how each fared and why the winner won. */
static void decision(struct buf *b, const char *label, const struct mbt_choice *c) {
  put(b, "<details><summary>");
  esc(b, label);
  put(b, ": <b>");
  esc(b, c->variant);
  put(b, "</b> %.1f us", c->ns / 1e3);
  if (c->runner_up[0] && c->runner_up_ns > 0)
    put(b, c->tie ? ", a tie with the runner-up (%.1f%%, within the noise): the simpler kept"
                  : ", %.1f%% faster than the runner-up",
        100 * (c->runner_up_ns / c->ns - 1));
  if (c->threads > 0)
    put(b, "; on %d thread%s, faster than split over all of them", c->threads,
        c->threads > 1 ? "s" : "");
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
    put(b, "<td class='l'>%s</td></tr>\n", mbt_cand_out_text(d->out));
  }
  put(b, "</tbody></table></details>\n");
}

/* The published totals of a network at 1.0/224 (0 when there is none to compare with). */
static void published(const struct mbt_model *m, double *macs, double *params) {
  *macs = *params = 0;
  if (m->alpha != 1.0 || m->res != 224) return;
  switch (m->kind) {
    case MBT_NET_V1: *macs = 569, *params = 4.2; break;
    case MBT_NET_V2: *macs = 300, *params = 3.4; break;
    case MBT_NET_V3L: *macs = 219, *params = 5.4; break;
    case MBT_NET_V3S: *macs = 56, *params = 2.5; break;
    default: break; /* a described network: no published figures */
  }
}

void mbt_report_html_roofline(struct buf *b, const struct section *sc) {
  const struct mbt_model *m = sc->m;
  const struct mbt_profile *p = sc->p;
  char tn[32];
  mbt_report_threads_name(sc->threads, tn, sizeof tn);
  char title[64];
  mbt_model_title(m, title, sizeof title);
  put(b, "<h2 id='net%s'>%s, %dx%d, %d classes, %s</h2>\n", sc->id, title, m->res, m->res,
      m->classes, tn);
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

static void fixed_cell(struct buf *b, const struct row *r) {
  put(b, "<td data-v='%.3f' title='", r->fix.x);
  esc(b, r->f.fnote);
  if (r->fix.basis == FIX_NONE) put(b, "' class='na'>n/a: %s</td>", r->fix.shortwhy);
  else put(b, "'>%s%.2f</td>", r->fix.basis == FIX_ALONE ? "~" : "", r->fix.x);
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
  if (c->threads > 0) put(b, " <i>on %d thread%s</i>", c->threads, c->threads > 1 ? "s" : "");
  put(b, "</td>");
}

/* Where a layer is bound, alone or in the network: "cmp L2", the whole sentence on hover. */
static void bound_cell(struct buf *b, const char *bound, const char *level, const char *where) {
  put(b, "<td class='l %s' title='%s-bound %s, the data in %s'>%s %s</td>",
      bound[0] == 'm' ? "mem" : "cmp", bound, where, level, bound[0] == 'm' ? "mem" : "cmp", level);
}

static void row_html(struct buf *b, const struct section *sc, int i) {
  const struct figs *f = &sc->r[i].f;
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
  fixed_cell(b, r);
  put(b, "<td>%.1f</td></tr>\n", 100 * f->share);
}

void mbt_report_html_layers(struct buf *b, const struct section *sc) {
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
  for (int i = 0; i < sc->m->nlayers; i++) row_html(b, sc, i);
  put(b, "</tbody></table></div>\n");
}

static void summary_e2e(struct buf *b, const struct section *sc) {
  const struct summary *s = &sc->s;
  const struct mbt_model *m = sc->m;
  char tn[32];
  mbt_report_threads_name(sc->threads, tn, sizeof tn);
  if (!s->e.have) {
    if (m->kind == MBT_NET_CUSTOM)
      put(b, "<li>end to end: no saved results (run <code>mobitune bench --e2e --weights FILE");
    else
      put(b, "<li>end to end: no saved results (run <code>mobitune bench --e2e --net %s --alpha "
             "%g --res %d", m->name, m->alpha, m->res);
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

void mbt_report_html_summary(struct buf *b, const struct section *sc) {
  const struct summary *s = &sc->s;
  const struct mbt_model *m = sc->m;
  double pub_macs, pub_params;
  char tn[32];
  mbt_report_threads_name(sc->threads, tn, sizeof tn);
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

/* The candidates of each distinct problem, then of each fusable pair and block the report data
 * names. */
void mbt_report_html_decisions(struct buf *b, const struct section *sc) {
  const struct mbt_layer *l = sc->m->layers;
  const int n = sc->m->nlayers;
  put(b, "<h3>Tuning decisions</h3>\n<div class='decisions'><p>Every candidate the tuner tried "
         "for each problem, timed inside the network (median over interleaved passes), with its "
         "time alone where it was screened, its roofline lower bound, its counter values where "
         "hardware counters exist (%s), and why it stopped being timed.</p>\n",
      sc->p->counters ? "they exist here" : "none on this machine: time only");
  const struct saved *sv = sc->sv;
  for (int i = 0, g = 0; sc->pl && i < n; i++) {
    char k2[96];
    const struct mbt_choice *c = sc->r[i].c;
    int repeats = 0; /* an earlier layer has the same problem (so the same entry) */
    for (int j = 0; c && j < i && !repeats; j++) repeats = sc->r[j].c == c;
    if (c && !repeats) {
      snprintf(k2, sizeof k2, "%s (%s)", l[i].name, mbt_op_name(l[i].op));
      decision(b, k2, c);
    }
    for (; sv->have && g < sv->ngroups && sv->g[g].first <= i; g++) {
      const struct saved_group *gr = &sv->g[g];
      if (gr->first < i || !(c = mbt_plan_find(sc->pl, gr->key))) continue;
      if (gr->layers == 2) snprintf(k2, sizeof k2, "%s + %s fused", l[i].name, l[i + 1].name);
      else snprintf(k2, sizeof k2, "%s + %s + %s as a block", l[i].name, l[i + 1].name, l[i + 2].name);
      decision(b, k2, c);
    }
  }
  put(b, "</div>\n");
}

/* A second profile beside this one: every ceiling of both, and their ratio. */
void mbt_report_html_compare(struct buf *b, const struct mbt_profile *p,
                             const struct mbt_profile *q, const char *qname) {
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

/* The top of the page: style, title, the links to every section. */
void mbt_report_html_head(struct buf *b, const struct mbt_report_in *in) {
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
    const int nt = mbt_report_threads(&in->models[k], in->pl, th, 16);
    char title[64];
    mbt_model_title(&in->models[k], title, sizeof title);
    put(b, "%s<a href='#net%d'>%s/%d</a>", k ? " &middot; " : "", k, title, in->models[k].res);
    for (int t = 1; t < nt; t++) put(b, " <a href='#net%dt%d'>(%d threads)</a>", k, th[t], th[t]);
  }
  if (in->other) put(b, " &middot; <a href='#compare'>profiles side by side</a>");
  put(b, "</p>\n");
}

/* What the measurements cannot vouch for, at the top of the page; a plain line when nothing. */
void mbt_report_html_banner(struct buf *b, const struct warnings *w, const struct warnings *passed) {
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

void mbt_report_html_tail(struct buf *b) { put(b, "%s</body></html>\n", script); }

void mbt_report_html_machine(struct buf *b, const struct mbt_report_in *in,
                             const struct mbt_machine *saved) {
  const struct mbt_profile *p = in->p;
  struct mbt_machine none;
  const struct mbt_machine *m = saved ? saved : &none;
  if (!saved) { /* a data directory from before the report data was saved */
    memset(&none, 0, sizeof none);
    snprintf(none.model, sizeof none.model, "not recorded (no report data: tune again)");
    snprintf(none.vendor, sizeof none.vendor, "unknown");
    snprintf(none.fingerprint, sizeof none.fingerprint, "%s", p->fingerprint);
  }
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
