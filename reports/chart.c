/* reports/chart.c -- the report's roofline chart, as inline SVG: the compute roofs of every
 * instruction set, the bandwidth roof of every memory level with its ridge point, and every
 * layer at its intensity and achieved rate (on demand, every candidate the tuner timed). */
#include "config.h"

#include <math.h>
#include <stdio.h>
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

void mbt_report_chart(struct buf *b, const struct mbt_profile *p, const struct row *r, int n,
                      double total, int threads, const char *id) {
  const int t = threads > 1 && p->threads > 1; /* which of each level's two figures */
  struct roof roofs[MBT_MAX_PEAKS];
  int nr = 0;
  double top = 1;
  for (int k = 0; k < p->npeaks; k++) {
    const struct mbt_peak *pk = &p->peaks[k];
    if (!strcmp(pk->kernel, "fma+add") || (pk->threads != 1 && pk->threads != p->threads)) continue;
    struct roof *f = &roofs[nr++];
    snprintf(f->label, sizeof f->label, "%s %s, %d thread%s %.0f GFLOP/s", pk->isa, pk->kernel,
             pk->threads, pk->threads > 1 ? "s" : "", pk->gflops.best);
    f->v = pk->gflops.best, f->all = pk->threads > 1;
    top = fmax(top, f->v);
  }
  for (int i = 0; i < nr; i++) /* highest first, for the label stacking */
    for (int j = i + 1; j < nr; j++)
      if (roofs[j].v > roofs[i].v) {
        const struct roof t = roofs[i];
        roofs[i] = roofs[j], roofs[j] = t;
      }
  struct axes a = {-2, 3, -1, ceil(log10(top * 2))};
  put(b, "<p><label><input type='checkbox' onchange=\"document.getElementById('roofline%s')"
         ".classList.toggle('showc')\"> show every candidate the tuner timed (hollow)</label></p>\n", id);
  put(b, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' viewBox='0 0 %d %d' "
         "role='img' aria-label='roofline chart' id='roofline%s' class='roofline'>\n",
      CW, CH, CW, CH, id);
  put(b, "<rect x='%d' y='%d' width='%d' height='%d' fill='#fff' stroke='#333'/>\n", ML, MT,
      CW - ML - MR, CH - MB - MT);
  /* regions (widest SIMD at the section's thread count): memory-bound wherever the data lives left of the L1
   * ridge, compute-bound wherever it lives right of the DRAM ridge; between them the level
   * that holds the data decides */
  const double peak = t ? p->peak_simdn.best : p->peak_simd1.best;
  const double ridge_dram = peak / p->levels[p->nlevels - 1].bw[MBT_BW_READ][t].best;
  const double ridge_l1 = peak / p->levels[0].bw[MBT_BW_READ][t].best;
  put(b, "<rect x='%d' y='%d' width='%.1f' height='%d' fill='#fbe3e3'/>"
         "<text x='%d' y='%d' font-size='11' fill='#a33'>memory-bound</text>"
         "<text x='%d' y='%d' font-size='9' fill='#a33'>at every level</text>\n",
      ML, MT, px(&a, ridge_l1) - ML, CH - MB - MT, ML + 6, CH - MB - 20, ML + 6, CH - MB - 8);
  put(b, "<rect x='%.1f' y='%d' width='%.1f' height='%d' fill='#e3ecfb'/>"
         "<text x='%.1f' y='%d' font-size='11' fill='#236' text-anchor='end'>compute-bound</text>"
         "<text x='%.1f' y='%d' font-size='9' fill='#236' text-anchor='end'>from every level, "
         "DRAM included</text>\n", px(&a, ridge_dram), MT, CW - MR - px(&a, ridge_dram),
      CH - MB - MT, (double)(CW - MR - 6), CH - MB - 20, (double)(CW - MR - 6), CH - MB - 8);
  put(b, "<text x='%.1f' y='%d' font-size='9' fill='#555' text-anchor='middle'>bound by the level "
         "that holds the data</text>\n", (px(&a, ridge_l1) + px(&a, ridge_dram)) / 2, CH - MB - 8);
  for (int e = (int)a.x0; e <= (int)a.x1; e++) {
    const double x = px(&a, pow(10, e));
    put(b, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#ccc'/><text x='%.1f' y='%d' "
           "font-size='11' text-anchor='middle'>%g</text>\n", x, MT, x, CH - MB, x, CH - MB + 15,
        pow(10, e));
  }
  for (int e = (int)a.y0; e <= (int)a.y1; e++) {
    const double y = py(&a, pow(10, e));
    put(b, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ccc'/><text x='%d' y='%.1f' "
           "font-size='11' text-anchor='end'>%g</text>\n", ML, y, CW - MR, y, ML - 5, y + 4,
        pow(10, e));
  }
  put(b, "<text x='%d' y='%d' font-size='12' text-anchor='middle'>operational intensity "
         "(FLOP per byte of compulsory fp32 traffic, log scale)</text>\n", (ML + CW - MR) / 2, CH - 14);
  put(b, "<text x='16' y='%d' font-size='12' text-anchor='middle' transform='rotate(-90 16 %d)'>"
         "performance (GFLOP/s, log scale)</text>\n", (MT + CH - MB) / 2, (MT + CH - MB) / 2);
  /* compute roofs: 1 thread solid, all threads dashed; labels stacked on the right */
  double last = -100;
  for (int i = 0; i < nr; i++) {
    const double y = py(&a, roofs[i].v);
    const double ly = y + 4 < last + 11 ? last + 11 : y + 4;
    last = ly;
    put(b, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#000' stroke-width='%s' %s/>"
           "<text x='%d' y='%.1f' font-size='10'>%s</text>\n", ML, y, CW - MR, y,
        roofs[i].all ? "1" : "2", roofs[i].all ? "stroke-dasharray='5,3'" : "", CW - MR + 4, ly,
        roofs[i].label);
  }
  /* bandwidth roofs (the section's thread count) up to the SIMD peak, each with its ridge */
  static const char *const dash[] = {"", "6,3", "2,3", "8,3,2,3", "1,2"};
  for (int i = 0; i < p->nlevels; i++) {
    const double bw = p->levels[i].bw[MBT_BW_READ][t].best, xr = peak / bw;
    if (!(bw > 0)) continue;
    const double xs = pow(10, a.x0);
    put(b, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#555' stroke-width='1.5' "
           "stroke-dasharray='%s'/>", px(&a, xs), py(&a, xs * bw), px(&a, xr), py(&a, peak),
        dash[i % 5]);
    put(b, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%d' stroke='#555' stroke-dasharray='1,3'/>"
           "<text x='%.1f' y='%d' font-size='9' fill='#555' text-anchor='middle'>%s ridge %.2f</text>",
        px(&a, xr), py(&a, peak), px(&a, xr), CH - MB, px(&a, xr), MT + 12 + 11 * (i % 4),
        p->levels[i].name, xr);
    /* the label sits on its own line, each level further down-left so they do not overlap */
    const double xl = xr / pow(10, 0.6 + 0.45 * i);
    put(b, "<text x='%.1f' y='%.1f' font-size='10' fill='#555' transform='rotate(-38 %.1f %.1f)'>"
           "%s read %.0f GB/s</text>\n", px(&a, xl), py(&a, bw * xl) - 4, px(&a, xl),
        py(&a, bw * xl) - 4, p->levels[i].name, bw);
  }
  /* every candidate the tuner timed (hidden until asked for), then the chosen variants */
  for (int i = 0; i < n; i++) {
    const struct mbt_choice *c = r[i].c;
    if (!c || r[i].pc.flops <= 0) continue;
    for (int j = 0; j < c->ncand; j++) {
      if (c->cand[j].ns <= 0 || !strcmp(c->cand[j].variant, c->variant)) continue;
      put(b, "<circle class='cand' cx='%.1f' cy='%.1f' r='3' fill='none' stroke='%s'><title>",
          px(&a, r[i].pc.intensity), py(&a, r[i].pc.flops / c->cand[j].ns), kind_colors[r[i].kind]);
      put(b, "%s candidate ", r[i].l->name);
      esc(b, c->cand[j].variant);
      put(b, ": %.1f us, %.1f GFLOP/s</title></circle>\n", c->cand[j].ns / 1e3,
          r[i].pc.flops / c->cand[j].ns);
    }
  }
  int labelled = 0;
  for (int i = 0; i < n; i++) {
    const struct mbt_layer *l = r[i].l;
    const struct mbt_choice *c = r[i].c;
    if (!c || r[i].pc.flops <= 0) continue;
    const double g = r[i].pc.flops / c->ns, x = px(&a, r[i].pc.intensity), y = py(&a, g);
    put(b, "<circle cx='%.1f' cy='%.1f' r='5' fill='%s' fill-opacity='0.8' stroke='#000'>"
           "<title>", x, y, kind_colors[r[i].kind]);
    put(b, "%s (%s) %dx%dx%d -&gt; %dx%dx%d&#10;variant ", l->name, mbt_op_name(l->op), l->ih,
        l->iw, l->ic, l->oh, l->ow, l->oc);
    esc(b, c->variant);
    char att[40];
    mbt_report_attainable(r[i].pc.attainable > 0 ? g / r[i].pc.attainable : 0, att, sizeof att);
    put(b, "&#10;%.1f us, %.1f GFLOP/s, I = %.2f FLOP/B, %s of attainable</title></circle>\n",
        c->ns / 1e3, g, r[i].pc.intensity, att);
    if (total > 0 && c->ns / total >= 0.05) /* printed charts name the layers that matter, */
      put(b, "<text x='%.1f' y='%.1f' font-size='9'>%s</text>\n", x + 7, /* above and below */
          y + (labelled++ % 2 ? 12 : -4), l->name);
  }
  for (int k = 0; k < K_COUNT; k++)
    put(b, "<circle cx='%d' cy='%d' r='5' fill='%s' stroke='#000'/><text x='%d' y='%d' "
           "font-size='11'>%s</text>\n", CW - MR + 12, CH - MB - 100 + 16 * k, kind_colors[k],
        CW - MR + 22, CH - MB - 96 + 16 * k, kind_names[k]);
  put(b, "<text x='%d' y='%d' font-size='10'>labelled: layers with 5%%+ of the time</text>\n",
      CW - MR + 12, CH - MB - 100 + 16 * K_COUNT);
  put(b, "</svg>\n");
}

