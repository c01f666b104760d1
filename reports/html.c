/* reports/html.c -- the self-contained HTML report: machine card, a log-log roofline chart
 * written directly as inline SVG (no script, font or stylesheet from outside), and the
 * per-layer table.  Built only from saved data (machine, profile, plan, model). */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "net/net.h"

/* A growable text buffer, written to disk atomically at the end. */
struct buf {
  char *s;
  size_t n, cap;
  int oom;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (w < 0) {
      b->oom = 1;
      return;
    }
    if ((size_t)w < b->cap - b->n) {
      b->n += (size_t)w;
      return;
    }
    size_t cap = (b->cap + (size_t)w + 1) * 2;
    char *s = realloc(b->s, cap);
    if (!s) {
      b->oom = 1;
      return;
    }
    b->s = s;
    b->cap = cap;
  }
}

/* Text escaped for HTML element content and attribute values. */
static void esc(struct buf *b, const char *s) {
  for (; *s; s++) switch (*s) {
      case '<': put(b, "&lt;"); break;
      case '>': put(b, "&gt;"); break;
      case '&': put(b, "&amp;"); break;
      case '"': put(b, "&quot;"); break;
      default: put(b, "%c", *s);
    }
}

static const char *kind_color(enum mbt_op op) {
  static const char *const c[MBT_OP_COUNT] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd",
                                              "#ff7f0e", "#8c564b"};
  return (unsigned)op < MBT_OP_COUNT ? c[op] : "#000";
}

/* Chart geometry: log10 axes. */
#define CW 760
#define CH 460
#define ML 70
#define MB 50
#define MT 20
#define MR 150
struct axes {
  double x0, x1, y0, y1; /* log10 ranges */
};
static double px(const struct axes *a, double v) {
  return ML + (log10(v) - a->x0) / (a->x1 - a->x0) * (CW - ML - MR);
}
static double py(const struct axes *a, double v) {
  return CH - MB - (log10(v) - a->y0) / (a->y1 - a->y0) * (CH - MB - MT);
}

static void chart(struct buf *b, const struct mbt_profile *p, const struct mbt_plan *pl,
                  const struct mbt_model *model) {
  struct axes a = {-2, 3, -1, ceil(log10(p->peak_simd1.best * 3))};
  put(b, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' viewBox='0 0 %d %d' "
         "role='img' aria-label='roofline chart' id='roofline'>\n", CW, CH, CW, CH);
  put(b, "<rect x='%d' y='%d' width='%d' height='%d' fill='#fff' stroke='#333'/>\n", ML, MT,
      CW - ML - MR, CH - MB - MT);
  for (int e = (int)a.x0; e <= (int)a.x1; e++) {
    double x = px(&a, pow(10, e));
    put(b, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#ddd'/><text x='%.1f' y='%d' "
           "font-size='11' text-anchor='middle'>%g</text>\n", x, MT, x, CH - MB, x, CH - MB + 15,
        pow(10, e));
  }
  for (int e = (int)a.y0; e <= (int)a.y1; e++) {
    double y = py(&a, pow(10, e));
    put(b, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/><text x='%d' y='%.1f' "
           "font-size='11' text-anchor='end'>%g</text>\n", ML, y, CW - MR, y, ML - 5, y + 4,
        pow(10, e));
  }
  put(b, "<text x='%d' y='%d' font-size='12' text-anchor='middle'>operational intensity "
         "(FLOP/byte, compulsory fp32 traffic)</text>\n", (ML + CW - MR) / 2, CH - 12);
  put(b, "<text x='16' y='%d' font-size='12' text-anchor='middle' transform='rotate(-90 16 %d)'>"
         "performance (GFLOP/s, 1 thread)</text>\n", (MT + CH - MB) / 2, (MT + CH - MB) / 2);
  /* Memory-bound region (left of the lowest-bandwidth ridge) shaded. */
  const double peak = p->peak_simd1.best;
  const double ridge_dram = peak / p->levels[p->nlevels - 1].read1.best;
  put(b, "<rect x='%d' y='%d' width='%.1f' height='%d' fill='#fbeaea' opacity='0.6'/>\n", ML, MT,
      px(&a, ridge_dram) - ML, CH - MB - MT);
  put(b, "<text x='%d' y='%d' font-size='11' fill='#a33'>memory-bound (DRAM)</text>\n", ML + 6,
      MT + 14);
  /* Compute roofs. */
  const struct {
    const char *name;
    double v;
  } roofs[] = {{p->simd_isa, peak}, {"scalar", p->peak_scalar1.best}};
  for (int r = 0; r < 2; r++) {
    double y = py(&a, roofs[r].v);
    put(b, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#000' stroke-width='2'/>"
           "<text x='%d' y='%.1f' font-size='11'>%s FMA %.1f GFLOP/s</text>\n", ML, y, CW - MR,
        y, CW - MR + 4, y + 4, roofs[r].name, roofs[r].v);
  }
  /* Bandwidth roofs: y = I x bw up to the SIMD peak. */
  static const char *const dash[] = {"", "6,3", "2,3", "8,3,2,3", "1,2"};
  for (int i = 0; i < p->nlevels; i++) {
    const double bw = p->levels[i].read1.best, xr = peak / bw;
    const double xs = pow(10, a.x0), ys = xs * bw;
    put(b, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#555' stroke-width='1.5' "
           "stroke-dasharray='%s'/>", px(&a, xs), py(&a, ys), px(&a, xr), py(&a, peak),
        dash[i % 5]);
    put(b, "<text x='%.1f' y='%.1f' font-size='10' fill='#555' transform='rotate(-38 %.1f %.1f)'>"
           "%s %.0f GB/s (ridge %.2f)</text>\n", px(&a, xr / 30), py(&a, bw * xr / 30) - 4,
        px(&a, xr / 30), py(&a, bw * xr / 30) - 4, p->levels[i].name, bw, xr);
  }
  /* One point per layer at its achieved rate with the planned variant. */
  for (int i = 0; i < model->nlayers; i++) {
    const struct mbt_layer *l = &model->layers[i];
    char key[96];
    mbt_layer_key(l, key, sizeof key);
    const struct mbt_choice *c = pl ? mbt_plan_find(pl, key) : NULL;
    if (!c || l->macs <= 0) continue;
    struct mbt_place pc;
    mbt_roofline_place(p, model, i, 1, &pc);
    const double g = pc.flops / c->ns;
    put(b, "<circle cx='%.1f' cy='%.1f' r='5' fill='%s' fill-opacity='0.75' stroke='#000'>"
           "<title>", px(&a, pc.intensity), py(&a, g > 0.1 ? g : 0.1), kind_color(l->op));
    put(b, "%s (%s) %dx%dx%d -&gt; %dx%dx%d&#10;variant ", l->name, mbt_op_name(l->op), l->ih,
        l->iw, l->ic, l->oh, l->ow, l->oc);
    esc(b, c->variant);
    put(b, "&#10;%.1f us, %.1f GFLOP/s, I = %.2f FLOP/B, %.0f%% of attainable</title></circle>\n",
        c->ns / 1e3, g, pc.intensity, 100 * g / pc.attainable);
  }
  for (int k = 0; k < MBT_OP_COUNT; k++) {
    put(b, "<circle cx='%d' cy='%d' r='5' fill='%s'/><text x='%d' y='%d' font-size='11'>%s</text>\n",
        CW - MR + 10, CH - MB - 80 + 16 * k, kind_color((enum mbt_op)k), CW - MR + 20,
        CH - MB - 76 + 16 * k, mbt_op_name((enum mbt_op)k));
  }
  put(b, "</svg>\n");
}

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

enum mbt_status mbt_report_write(const char *path, const struct mbt_machine *m,
                                 const struct mbt_profile *p, const struct mbt_plan *pl,
                                 const struct mbt_model *model, const char *commands) {
  struct buf b = {malloc(1 << 16), 0, 1 << 16, 0};
  if (!b.s) return mbt_fail(MBT_ENOMEM, "cannot allocate the report");
  put(&b, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
          "<title>mobitune roofline report</title>\n<style>\n"
          "body{font-family:sans-serif;margin:24px;color:#222}"
          "table{border-collapse:collapse;font-size:12px}"
          "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
          "th{background:#eee}td.l,th.l{text-align:left}"
          "tr.hot td{background:#fff3cd}tr.win td{font-weight:bold}details{margin:2px 0}"
          ".mem{color:#a33}.cmp{color:#236}"
          "dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:bold}"
          "\n</style></head><body>\n");
  put(&b, "<h1>mobitune report: MobileNet %s, alpha %.3g, %dx%d</h1>\n",
      model->kind == MBT_NET_V1 ? "V1" : "V2", model->alpha, model->res, model->res);
  put(&b, "<h2>Machine</h2><dl id='machine'>");
  put(&b, "<dt>CPU</dt><dd>");
  esc(&b, m->model);
  put(&b, " (");
  esc(&b, m->vendor);
  put(&b, "), family %d model %d stepping %d</dd>", m->family, m->cpu_model, m->stepping);
  put(&b, "<dt>ISA</dt><dd>");
  esc(&b, m->features);
  put(&b, "</dd><dt>cores</dt><dd>%d cores, %d threads, %d NUMA node(s)</dd>", m->cores,
      m->threads, m->numa_nodes);
  put(&b, "<dt>caches</dt><dd>");
  for (int i = 0; i < m->ncaches; i++)
    put(&b, "L%d %llu KiB (shared by %d) ", m->caches[i].level,
        (unsigned long long)(m->caches[i].size >> 10), m->caches[i].shared_by);
  put(&b, "</dd><dt>counters</dt><dd>");
  esc(&b, p->counters_note);
  put(&b, "</dd><dt>fingerprint</dt><dd>%s (profile %s, measured %s)</dd>", m->fingerprint,
      p->fingerprint, p->date);
  put(&b, "<dt>mobitune</dt><dd>%s</dd><dt>commands</dt><dd><code>", mbt_version());
  esc(&b, commands ? commands : "");
  put(&b, "</code></dd></dl>\n");

  put(&b, "<h2>Roofline</h2>\n<p>Compute roofs: FMA peak, 1 thread. Bandwidth roofs: read "
          "bandwidth of each level, 1 thread. Points: each layer with its planned variant (hover "
          "for details); colour = layer kind.</p>\n");
  chart(&b, p, pl, model);

  /* Per-layer table, with the layers taking most of the time highlighted. */
  double total = 0, total_ref = 0, predicted = 0, mem_time = 0;
  double *ns = calloc((size_t)model->nlayers, sizeof *ns);
  if (!ns) {
    free(b.s);
    return mbt_fail(MBT_ENOMEM, "cannot allocate the report");
  }
  for (int i = 0; i < model->nlayers; i++) {
    char key[96];
    mbt_layer_key(&model->layers[i], key, sizeof key);
    const struct mbt_choice *c = pl ? mbt_plan_find(pl, key) : NULL;
    ns[i] = c ? c->ns : 0;
    total += ns[i];
    total_ref += c ? c->ref_ns : 0;
  }
  put(&b, "<h2>Layers</h2>\n<table id='layers'><thead><tr><th class='l'>layer</th><th class='l'>"
          "kind</th><th class='l'>input</th><th class='l'>output</th><th>s</th><th>MACs</th>"
          "<th>params</th><th>bytes</th><th>FLOP/B</th><th class='l'>bound (level)</th>"
          "<th class='l'>variant</th><th>time us</th><th>spread</th><th>GFLOP/s</th>"
          "<th>%% attainable</th><th>x ref</th><th>%% time</th></tr></thead><tbody>\n");
  for (int i = 0; i < model->nlayers; i++) {
    const struct mbt_layer *l = &model->layers[i];
    char key[96];
    mbt_layer_key(l, key, sizeof key);
    const struct mbt_choice *c = pl ? mbt_plan_find(pl, key) : NULL;
    struct mbt_place pc;
    mbt_roofline_place(p, model, i, 1, &pc);
    const double share = total > 0 ? ns[i] / total : 0;
    if (pc.attainable > 0) predicted += pc.flops / pc.attainable;
    if (pc.memory_bound) mem_time += ns[i];
    put(&b, "<tr%s><td class='l'>%s</td><td class='l'>%s</td><td class='l'>%dx%dx%d</td>"
            "<td class='l'>%dx%dx%d</td><td>%d</td><td>%.0f</td><td>%.0f</td><td>%.0f</td>"
            "<td>%.2f</td><td class='l %s'>%s (%s)</td><td class='l'>",
        share >= 0.08 ? " class='hot'" : "", l->name, mbt_op_name(l->op), l->ih, l->iw, l->ic,
        l->oh, l->ow, l->oc, l->stride, l->macs, l->params, l->bytes, pc.intensity,
        pc.memory_bound ? "mem" : "cmp", pc.memory_bound ? "memory" : "compute",
        p->levels[pc.level].name);
    if (c) {
      const double g = pc.flops / c->ns;
      esc(&b, c->variant);
      put(&b, "</td><td>%.1f</td><td>%.0f%%</td><td>%.2f</td><td>%.0f%%</td><td>%.1f</td>"
              "<td>%.1f</td></tr>\n", c->ns / 1e3, 100 * c->spread, g,
          pc.attainable > 0 ? 100 * g / pc.attainable : 0, c->ref_ns > 0 ? c->ref_ns / c->ns : 0,
          100 * share);
    } else {
      put(&b, "not tuned</td><td></td><td></td><td></td><td></td><td></td><td></td></tr>\n");
    }
  }
  put(&b, "</tbody></table>\n");
  /* Tuning decisions: every distinct problem of the network, then its pairs and blocks. */
  put(&b, "<h2>Tuning decisions</h2>\n<div id='decisions'><p>Every candidate the tuner tried for "
          "each problem, timed inside the network (median over interleaved passes), with its "
          "time alone where it was screened, its roofline lower bound, its counter values where "
          "hardware counters exist (%s), and why it stopped being timed.</p>\n",
      p->counters ? "they exist here" : "none on this machine: time only");
  for (int i = 0; pl && i < model->nlayers; i++) {
    char key[96], k2[96];
    const struct mbt_layer *l = model->layers;
    mbt_layer_key(&l[i], key, sizeof key);
    const struct mbt_choice *c = mbt_plan_find(pl, key);
    int first = 1;
    for (int k = 0; k < i && first; k++) {
      mbt_layer_key(&l[k], k2, sizeof k2);
      first = strcmp(k2, key) != 0;
    }
    if (c && first) {
      snprintf(k2, sizeof k2, "%s (%s)", l[i].name, mbt_op_name(l[i].op));
      decision(&b, k2, c);
    }
    if (i + 1 < model->nlayers && mbt_pair_fusable(model, i)) {
      mbt_pair_key(&l[i], &l[i + 1], key, sizeof key);
      if ((c = mbt_plan_find(pl, key))) {
        snprintf(k2, sizeof k2, "%s + %s fused", l[i].name, l[i + 1].name);
        decision(&b, k2, c);
      }
    }
    if (i + 2 < model->nlayers && mbt_block_fusable(model, i)) {
      mbt_block_key(&l[i], &l[i + 1], &l[i + 2], key, sizeof key);
      if ((c = mbt_plan_find(pl, key))) {
        snprintf(k2, sizeof k2, "%s + %s + %s as a block", l[i].name, l[i + 1].name, l[i + 2].name);
        decision(&b, k2, c);
      }
    }
  }
  put(&b, "</div>\n");
  put(&b, "<h2>Network summary</h2><ul id='summary'>"
          "<li>total: %.1f M MACs, %.3f M parameters</li>"
          "<li>sum of tuned per-layer medians: %.3f ms (reference kernels: %.3f ms, %.1fx)</li>"
          "<li>roofline prediction (sum of flops / attainable per layer): %.3f ms</li>"
          "<li>share of tuned time in memory-bound layers: %.0f%%</li></ul>\n",
      model->macs / 1e6, model->params / 1e6, total / 1e6, total_ref / 1e6,
      total > 0 ? total_ref / total : 0, predicted * 1e-6, total > 0 ? 100 * mem_time / total : 0);
  put(&b, "</body></html>\n");
  free(ns);
  if (b.oom) {
    free(b.s);
    return mbt_fail(MBT_ENOMEM, "cannot build the report text");
  }
  enum mbt_status st = mbt_write_atomic(path, b.s, b.n);
  free(b.s);
  return st;
}
