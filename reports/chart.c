/* reports/chart.c -- the report's roofline chart, as inline SVG: the compute roofs of every
 * instruction set, the bandwidth roof of every memory level with its ridge point, and every
 * layer at its intensity and achieved rate (on demand, every candidate the tuner timed).
 *
 * Layers without arithmetic (the global pool, V3's squeeze-and-excitation products: 0 FLOP per
 * byte) have no place on a log axis: they sit at its left edge, as triangles, at the height
 * their achieved bandwidth has on the bandwidth roofs there.  Labels name the layers with 5%+
 * of the time (and the pool); identical layers at one point get one label ("b8-11.expand"),
 * and a label that would overlap another moves aside or, with no room, is left out (the
 * point's tooltip still names it). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/report.h"

static const char *const kind_names[K_COUNT] = {"full conv", "depthwise", "pointwise",
                                                "fused group", "other (pool, fc, SE product)"};
static const char *const kind_colors[K_COUNT] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e",
                                                 "#7f7f7f"};

/* Chart geometry: log10 axes. */
#define CW 860
#define CH 520
#define ML 70
#define MB 50
#define MT 20
#define MR 230
struct axes {
  double x0, x1, y0, y1; /* log10 ranges */
};
static double px(const struct axes *a, double v) {
  return ML + (log10(v) - a->x0) / (a->x1 - a->x0) * (CW - ML - MR);
}
static double py(const struct axes *a, double v) {
  const double y = CH - MB - (log10(v) - a->y0) / (a->y1 - a->y0) * (CH - MB - MT);
  return y < MT ? MT : y > CH - MB ? CH - MB : y;
}

/* A compute roof: an ISA's FMA (or mul+add) ceiling at a thread count. */
struct roof {
  char label[48];
  double v;
  int all; /* 1: all threads */
};

/* The compute roofs at 1 and all threads, highest first (for the label stacking). */
static int compute_roofs(const struct mbt_profile *p, struct roof *roofs) {
  int nr = 0;
  for (int k = 0; k < p->npeaks; k++) {
    const struct mbt_peak *pk = &p->peaks[k];
    if (!strcmp(pk->kernel, "fma+add") || (pk->threads != 1 && pk->threads != p->threads)) continue;
    struct roof *f = &roofs[nr++];
    snprintf(f->label, sizeof f->label, "%s %s, %d thread%s %.0f GFLOP/s", pk->isa, pk->kernel,
             pk->threads, pk->threads > 1 ? "s" : "", pk->gflops.best);
    f->v = pk->gflops.best, f->all = pk->threads > 1;
  }
  for (int i = 0; i < nr; i++)
    for (int j = i + 1; j < nr; j++)
      if (roofs[j].v > roofs[i].v) {
        const struct roof t = roofs[i];
        roofs[i] = roofs[j], roofs[j] = t;
      }
  return nr;
}

/* The frame: regions (widest SIMD at the section's thread count: memory-bound wherever the data
 * lives left of the L1 ridge, compute-bound wherever it lives right of the DRAM ridge; between
 * them the level that holds the data decides), grid, axis titles. */
static void frame(struct buf *b, const struct axes *a, const struct mbt_profile *p, int t,
                  double peak) {
  const double ridge_dram = peak / p->levels[p->nlevels - 1].bw[MBT_BW_READ][t].best;
  const double ridge_l1 = peak / p->levels[0].bw[MBT_BW_READ][t].best;
  put(b, "<rect x='%d' y='%d' width='%d' height='%d' fill='#fff' stroke='#333'/>\n", ML, MT,
      CW - ML - MR, CH - MB - MT);
  put(b, "<rect x='%d' y='%d' width='%.1f' height='%d' fill='#fbe3e3'/>"
         "<text x='%d' y='%d' font-size='11' fill='#a33'>memory-bound</text>"
         "<text x='%d' y='%d' font-size='9' fill='#a33'>at every level</text>\n",
      ML, MT, px(a, ridge_l1) - ML, CH - MB - MT, ML + 14, CH - MB - 20, ML + 14, CH - MB - 8);
  put(b, "<rect x='%.1f' y='%d' width='%.1f' height='%d' fill='#e3ecfb'/>"
         "<text x='%.1f' y='%d' font-size='11' fill='#236' text-anchor='end'>compute-bound</text>"
         "<text x='%.1f' y='%d' font-size='9' fill='#236' text-anchor='end'>from every level, "
         "DRAM included</text>\n", px(a, ridge_dram), MT, CW - MR - px(a, ridge_dram),
      CH - MB - MT, (double)(CW - MR - 6), CH - MB - 20, (double)(CW - MR - 6), CH - MB - 8);
  put(b, "<text x='%.1f' y='%d' font-size='9' fill='#555' text-anchor='middle'>bound by the level "
         "that holds the data</text>\n", (px(a, ridge_l1) + px(a, ridge_dram)) / 2, CH - MB - 8);
  for (int e = (int)a->x0; e <= (int)a->x1; e++) {
    const double x = px(a, pow(10, e));
    put(b, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#ccc'/><text x='%.1f' y='%d' "
           "font-size='11' text-anchor='middle'>%g</text>\n", x, MT, x, CH - MB, x, CH - MB + 15,
        pow(10, e));
  }
  for (int e = (int)a->y0; e <= (int)a->y1; e++) {
    const double y = py(a, pow(10, e));
    put(b, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ccc'/><text x='%d' y='%.1f' "
           "font-size='11' text-anchor='end'>%g</text>\n", ML, y, CW - MR, y, ML - 5, y + 4,
        pow(10, e));
  }
  put(b, "<text x='%d' y='%d' font-size='12' text-anchor='middle'>operational intensity "
         "(FLOP per byte of compulsory fp32 traffic, log scale)</text>\n", (ML + CW - MR) / 2, CH - 14);
  put(b, "<text x='16' y='%d' font-size='12' text-anchor='middle' transform='rotate(-90 16 %d)'>"
         "performance (GFLOP/s, log scale)</text>\n", (MT + CH - MB) / 2, (MT + CH - MB) / 2);
}

/* Compute roofs (1 thread solid, all threads dashed; labels stacked on the right), then the
 * bandwidth roofs at the section's thread count up to the SIMD peak, each with its ridge. */
static void roofs(struct buf *b, const struct axes *a, const struct mbt_profile *p, int t,
                  double peak, const struct roof *rf, int nr) {
  double last = -100;
  for (int i = 0; i < nr; i++) {
    const double y = py(a, rf[i].v);
    const double ly = y + 4 < last + 11 ? last + 11 : y + 4;
    last = ly;
    put(b, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#000' stroke-width='%s' %s/>"
           "<text x='%d' y='%.1f' font-size='10'>%s</text>\n", ML, y, CW - MR, y,
        rf[i].all ? "1" : "2", rf[i].all ? "stroke-dasharray='5,3'" : "", CW - MR + 4, ly,
        rf[i].label);
  }
  static const char *const dash[] = {"", "6,3", "2,3", "8,3,2,3", "1,2"};
  for (int i = 0; i < p->nlevels; i++) {
    const double bw = p->levels[i].bw[MBT_BW_READ][t].best, xr = peak / bw;
    if (!(bw > 0)) continue;
    const double xs = pow(10, a->x0);
    put(b, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#555' stroke-width='1.5' "
           "stroke-dasharray='%s'/>", px(a, xs), py(a, xs * bw), px(a, xr), py(a, peak),
        dash[i % 5]);
    put(b, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%d' stroke='#555' stroke-dasharray='1,3'/>"
           "<text x='%.1f' y='%d' font-size='9' fill='#555' text-anchor='middle'>%s ridge %.2f</text>",
        px(a, xr), py(a, peak), px(a, xr), CH - MB, px(a, xr), MT + 12 + 11 * (i % 4),
        p->levels[i].name, xr);
    /* the label sits on its own line, each level further down-left so they do not overlap */
    const double xl = xr / pow(10, 0.6 + 0.45 * i);
    put(b, "<text x='%.1f' y='%.1f' font-size='10' fill='#555' transform='rotate(-38 %.1f %.1f)'>"
           "%s read %.0f GB/s</text>\n", px(a, xl), py(a, bw * xl) - 4, px(a, xl),
        py(a, bw * xl) - 4, p->levels[i].name, bw);
  }
}

/* Where a tuned layer sits: its intensity and rate, or (no FLOPs) the left edge at the height
 * of its achieved bandwidth on the bandwidth roofs there.  @return 0 when it is not drawn. */
static int spot(const struct axes *a, const struct row *r, double *x, double *y) {
  if (!r->c || !(r->c->ns > 0)) return 0;
  if (r->pc.flops > 0) {
    *x = px(a, r->pc.intensity), *y = py(a, r->pc.flops / r->c->ns);
  } else {
    if (!(r->l->bytes > 0)) return 0;
    *x = ML, *y = py(a, pow(10, a->x0) * r->l->bytes / r->c->ns); /* a->x0: 0.01 FLOP/B */
  }
  return 1;
}

/* Every candidate the tuner timed (hidden until asked for). */
static void candidates(struct buf *b, const struct axes *a, const struct row *r, int n) {
  for (int i = 0; i < n; i++) {
    const struct mbt_choice *c = r[i].c;
    if (!c || r[i].pc.flops <= 0) continue;
    for (int j = 0; j < c->ncand; j++) {
      if (c->cand[j].ns <= 0 || !strcmp(c->cand[j].variant, c->variant)) continue;
      put(b, "<circle class='cand' cx='%.1f' cy='%.1f' r='3' fill='none' stroke='%s'><title>",
          px(a, r[i].pc.intensity), py(a, r[i].pc.flops / c->cand[j].ns), kind_colors[r[i].kind]);
      put(b, "%s candidate ", r[i].l->name);
      esc(b, c->cand[j].variant);
      put(b, ": %.1f us, %.1f GFLOP/s</title></circle>\n", c->cand[j].ns / 1e3,
          r[i].pc.flops / c->cand[j].ns);
    }
  }
}

/* The chosen variants: a circle per layer, a triangle at the left edge for those without FLOPs. */
static void points(struct buf *b, const struct axes *a, const struct row *r, int n) {
  for (int i = 0; i < n; i++) {
    const struct mbt_layer *l = r[i].l;
    const struct mbt_choice *c = r[i].c;
    double x, y;
    if (!spot(a, &r[i], &x, &y)) continue;
    if (r[i].pc.flops > 0)
      put(b, "<circle cx='%.1f' cy='%.1f' r='5' fill='%s' fill-opacity='0.8' stroke='#000'>",
          x, y, kind_colors[r[i].kind]);
    else
      put(b, "<path class='edge' d='M%.1f %.1fl9 -5v10z' fill='%s' stroke='#000'>", x, y,
          kind_colors[r[i].kind]);
    put(b, "<title>%s (%s) %dx%dx%d -&gt; %dx%dx%d&#10;variant ", l->name, mbt_op_name(l->op),
        l->ih, l->iw, l->ic, l->oh, l->ow, l->oc);
    esc(b, c->variant);
    if (r[i].pc.flops > 0) {
      char att[40];
      const double g = r[i].pc.flops / c->ns;
      mbt_report_attainable(r[i].pc.attainable > 0 ? g / r[i].pc.attainable : 0, att, sizeof att);
      put(b, "&#10;%.1f us, %.1f GFLOP/s, I = %.2f FLOP/B, %s of attainable</title></circle>\n",
          c->ns / 1e3, g, r[i].pc.intensity, att);
    } else {
      put(b, "&#10;%.1f us, %.1f GB/s; 0 FLOP/B has no place on the log axis: drawn at its "
             "left edge, at the height %.1f GB/s has on the bandwidth roofs there</title></path>\n",
          c->ns / 1e3, l->bytes / c->ns, l->bytes / c->ns);
    }
  }
}

/* One label: the layers at one point, their share of the time, where it went. */
struct label {
  double x, y, share;
  enum kind kind;
  int force;       /* named whatever its share (the global pool) */
  int first, n;    /* the first layer and how many sit here */
  int idx[MBT_MAX_LAYERS];
  char text[48];
  double bx, by, bw; /* its box: left, baseline, width (0: not placed) */
};

/* "b8-11.expand" for b8.expand ... b11.expand; "b3.dw +2" for names of another pattern. */
static void group_name(const struct row *r, const struct label *g, char *out, size_t n) {
  char pre[24] = "", suf[24] = "";
  int lo = 0, hi = 0, same = 1;
  for (int k = 0; k < g->n && same; k++) {
    const char *s = r[g->idx[k]].l->name;
    const size_t np = strcspn(s, "0123456789");
    char *end;
    const long v = strtol(s + np, &end, 10);
    if (end == s + np) same = 0;
    else if (k == 0) {
      snprintf(pre, sizeof pre, "%.*s", (int)np, s), snprintf(suf, sizeof suf, "%s", end);
      lo = hi = (int)v;
    } else {
      same = strlen(pre) == np && !strncmp(pre, s, np) && !strcmp(suf, end) && v == hi + 1;
      hi = (int)v;
    }
  }
  if (g->n == 1) snprintf(out, n, "%s", r[g->first].l->name);
  else if (same) snprintf(out, n, "%s%d-%d%s", pre, lo, hi, suf);
  else snprintf(out, n, "%s +%d", r[g->first].l->name, g->n - 1);
}

/* The labelled points: identical layers (one point) together; the global pool always. */
static int label_groups(const struct axes *a, const struct row *r, int n, double total,
                        struct label *g) {
  int ng = 0, pool = -1;
  for (int i = 0; i < n; i++)
    if (r[i].l->op == MBT_OP_GAVGPOOL) pool = i; /* the last one: the squeeze pools come first */
  for (int i = 0; i < n; i++) {
    double x, y;
    if (!spot(a, &r[i], &x, &y)) continue;
    int k = i == pool ? ng : 0; /* the pool alone: it is named whatever its share */
    while (k < ng && (g[k].force || r[g[k].first].l->op != r[i].l->op || g[k].kind != r[i].kind ||
                      fabs(g[k].x - x) >= 0.5 || fabs(g[k].y - y) >= 0.5))
      k++;
    if (k == ng) {
      memset(&g[ng], 0, sizeof g[ng]);
      g[ng].x = x, g[ng].y = y, g[ng].kind = r[i].kind, g[ng].first = i, ng++;
    }
    g[k].idx[g[k].n++] = i;
    g[k].share += total > 0 ? r[i].ns / total : 0;
    g[k].force |= i == pool;
  }
  int kept = 0;
  for (int k = 0; k < ng; k++)
    if (g[k].share >= 0.05 || g[k].force) {
      g[kept] = g[k];
      group_name(r, &g[kept], g[kept].text, sizeof g[kept].text);
      if (g[kept].force && r[g[kept].first].pc.flops <= 0)
        snprintf(g[kept].text + strlen(g[kept].text), sizeof g[kept].text - strlen(g[kept].text),
                 " (0 FLOP/B: edge)");
      kept++;
    }
  return kept;
}

#define LABEL_H 11 /* a 9-pixel font's box as a browser draws it (10 px), and a pixel apart */
static int overlaps(const struct label *g, int ng, double x, double y, double w) {
  if (x < ML || x + w > CW - MR || y - LABEL_H < MT || y > CH - MB) return 1;
  for (int k = 0; k < ng; k++)
    if (g[k].bw > 0 && x < g[k].bx + g[k].bw && g[k].bx < x + w && y - LABEL_H < g[k].by &&
        g[k].by - LABEL_H < y)
      return 1;
  return 0;
}

/* Labels, the largest share first, each where it overlaps no other: right above, right below,
 * left above, left below, further down; none when there is no room. */
static void labels(struct buf *b, const struct axes *a, const struct row *r, int n, double total) {
  static struct label g[MBT_MAX_LAYERS];
  static const double off[][2] = {{7, -4}, {7, 12}, {-7, -4}, {-7, 12}, {7, 24}, {-7, 24}, {7, -16}};
  const int ng = label_groups(a, r, n, total, g);
  for (int pass = 0; pass < ng; pass++) {
    int k = -1;
    for (int j = 0; j < ng; j++) /* the largest share not placed yet (the pool first) */
      if (g[j].bx == 0 && g[j].bw >= 0 && (k < 0 || g[j].force > g[k].force ||
                                           (g[j].force == g[k].force && g[j].share > g[k].share)))
        k = j;
    const double w = 5.0 * (double)strlen(g[k].text) + 2;
    g[k].bw = -1; /* tried */
    for (size_t o = 0; o < sizeof off / sizeof off[0]; o++) {
      const double x = off[o][0] > 0 ? g[k].x + off[o][0] + 2 : g[k].x + off[o][0] - w;
      const double y = g[k].y + off[o][1];
      if (overlaps(g, ng, x, y, w)) continue;
      g[k].bx = x, g[k].by = y, g[k].bw = w;
      put(b, "<text x='%.1f' y='%.1f' font-size='9' class='lbl'>", x, y);
      esc(b, g[k].text);
      put(b, "</text>\n");
      break;
    }
  }
}

static void legend(struct buf *b) {
  for (int k = 0; k < K_COUNT; k++)
    put(b, "<circle cx='%d' cy='%d' r='5' fill='%s' stroke='#000'/><text x='%d' y='%d' "
           "font-size='11'>%s</text>\n", CW - MR + 12, CH - MB - 116 + 16 * k, kind_colors[k],
        CW - MR + 22, CH - MB - 112 + 16 * k, kind_names[k]);
  const int y = CH - MB - 116 + 16 * K_COUNT;
  put(b, "<path d='M%d %dl9 -5v10z' fill='#7f7f7f' stroke='#000'/><text x='%d' y='%d' "
         "font-size='10'>0 FLOP/B (pool, SE product): at the</text><text x='%d' y='%d' "
         "font-size='10'>left edge, at its GB/s on the roofs</text>\n", CW - MR + 8, y,
      CW - MR + 22, y + 4, CW - MR + 22, y + 15);
  put(b, "<text x='%d' y='%d' font-size='10'>labelled: layers with 5%%+ of the time</text>"
         "<text x='%d' y='%d' font-size='10'>(identical ones once: b8-11.expand)</text>\n",
      CW - MR + 12, y + 32, CW - MR + 12, y + 43);
}

void mbt_report_chart(struct buf *b, const struct mbt_profile *p, const struct row *r, int n,
                      double total, int threads, const char *id) {
  const int t = threads > 1 && p->threads > 1; /* which of each level's two figures */
  struct roof rf[MBT_MAX_PEAKS];
  const int nr = compute_roofs(p, rf);
  double top = nr ? fmax(1, rf[0].v) : 1, bottom = 0.1;
  for (int i = 0; i < n; i++) { /* a point above every roof (a ceiling too low) stays in view, */
    if (!r[i].c || !(r[i].c->ns > 0)) continue; /* and so do those at the left edge */
    if (r[i].pc.flops > 0) top = fmax(top, r[i].pc.flops / r[i].c->ns);
    else if (r[i].l->bytes > 0) bottom = fmin(bottom, 0.01 * r[i].l->bytes / r[i].c->ns);
  }
  const struct axes a = {-2, 3, fmax(-3, floor(log10(bottom))), ceil(log10(top * 2))};
  const double peak = t ? p->peak_simdn.best : p->peak_simd1.best;
  put(b, "<p><label><input type='checkbox' onchange=\"document.getElementById('roofline%s')"
         ".classList.toggle('showc')\"> show every candidate the tuner timed (hollow)</label></p>\n", id);
  put(b, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' viewBox='0 0 %d %d' "
         "role='img' aria-label='roofline chart' id='roofline%s' class='roofline'>\n",
      CW, CH, CW, CH, id);
  frame(b, &a, p, t, peak);
  roofs(b, &a, p, t, peak, rf, nr);
  candidates(b, &a, r, n);
  points(b, &a, r, n);
  labels(b, &a, r, n, total);
  legend(b);
  put(b, "</svg>\n");
}
