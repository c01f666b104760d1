/* reports/warn.c -- what the report warns about: every ceiling the roofline could not vouch for
 * (flagged, measured under load, raised to a consistent figure, beaten by a timed kernel), the
 * clock and the profile's own warnings; per section, the check after the tune, the entries
 * measured busy or put back to the default, the spreads beyond SPREAD_BOUND and the layers
 * that beat their ceiling; and the marks on one row of a layer table. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/report.h"

void mbt_report_warn(struct warnings *w, const char *group, const char *fmt, ...) {
  if (w->n == w->cap) {
    const int cap = w->cap ? 2 * w->cap : 32;
    struct warning *v = realloc(w->v, (size_t)cap * sizeof *v);
    if (!v) return; /* the page says less; the report itself fails on its own allocation */
    w->v = v, w->cap = cap;
  }
  struct warning *x = &w->v[w->n++];
  snprintf(x->group, sizeof x->group, "%s", group);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->text, sizeof x->text, fmt, ap);
  va_end(ap);
}

void mbt_report_warnings_free(struct warnings *w) {
  free(w->v);
  memset(w, 0, sizeof *w);
}

static const char *const bw_names[MBT_BW_KERNELS] = {"read", "write", "copy", "triad"};

/* Every ceiling of the profile with its name: the compute ones, then each level's bandwidths.
 * @return how many (at most @p max). */
static int ceilings(const struct mbt_profile *p, struct ceiling *out, int max) {
  int n = 0;
  for (int k = 0; k < p->npeaks && n < max; k++, n++) {
    const struct mbt_peak *pk = &p->peaks[k];
    snprintf(out[n].name, sizeof out[n].name, "%s %s %d thread%s", pk->isa, pk->kernel,
             pk->threads, pk->threads > 1 ? "s" : "");
    out[n].f = &pk->gflops, out[n].compute = 1;
  }
  for (int l = 0; l < p->nlevels; l++)
    for (int k = 0; k < MBT_BW_KERNELS; k++)
      for (int t = 0; t < 2 && n < max; t++, n++) {
        const int th = t ? p->threads : 1;
        snprintf(out[n].name, sizeof out[n].name, "%s %s %d thread%s", p->levels[l].name,
                 bw_names[k], th, th > 1 ? "s" : "");
        out[n].f = &p->levels[l].bw[k][t], out[n].compute = 0;
      }
  return n;
}

/* The name of the figure an adjusted ceiling was raised to: another of the same unit with the
 * same value ("" when none is). */
static const char *raised_to(const struct ceiling *c, int n, int i) {
  for (int j = 0; j < n; j++)
    if (j != i && c[j].compute == c[i].compute && c[j].f->best > 0 &&
        fabs(c[j].f->best - c[i].f->best) <= 1e-9 * c[i].f->best)
      return c[j].name;
  return "";
}

int mbt_report_figure_states(const struct mbt_figure *f, const char *raised, char *out, size_t n) {
  out[0] = 0;
  if (f->adjusted && raised && raised[0])
    mbt_report_cat(out, n, "raised to the %s figure (it stayed below it when measured again)", raised);
  else if (f->adjusted)
    mbt_report_cat(out, n, "raised to a consistent figure (it stayed below one it must reach)");
  if (f->suspect)
    mbt_report_cat(out, n, "%sa timed kernel beat it beyond the noise (suspect: the next roofline "
                   "or tune measures it again)", out[0] ? "; " : "");
  if (f->disturbed > 0)
    mbt_report_cat(out, n, "%smeasured under load (%d repetition%s disturbed even after retries)",
                   out[0] ? "; " : "", f->disturbed, f->disturbed > 1 ? "s" : "");
  if (f->flagged)
    mbt_report_cat(out, n, "%srepetitions disagreed by more than 10%%", out[0] ? "; " : "");
  return f->adjusted || f->suspect || f->disturbed > 0 || f->flagged;
}

void mbt_report_profile_warnings(const struct mbt_profile *p, struct warnings *w) {
  static struct ceiling c[MBT_MAX_PEAKS + MBT_MAX_LEVELS * MBT_BW_KERNELS * 2];
  const int n = ceilings(p, c, (int)(sizeof c / sizeof c[0]));
  char group[96], states[400];
  snprintf(group, sizeof group, "The roofline profile (measured %s)", p->date);
  for (int i = 0; i < n; i++)
    if (mbt_report_figure_states(c[i].f, raised_to(c, n, i), states, sizeof states))
      mbt_report_warn(w, group, "%s: %s", c[i].name, states);
  if (p->clock_flagged) {
    char os[64] = "";
    if (p->clock_os_ghz > 0) snprintf(os, sizeof os, " (the OS says %.2f GHz)", p->clock_os_ghz);
    mbt_report_warn(w, group, "clock: the estimate, %.2f GHz from dependent adds, stayed "
                    "implausible%s: the FLOP/cycle figures that use it are unreliable",
                    p->clock_ghz, os);
  }
  for (int i = 0; i < p->nwarnings && i < MBT_MAX_WARNINGS; i++)
    mbt_report_warn(w, group, "%s", p->warnings[i]);
}

/* The compute ceiling a placement used: the peak at its thread count with its value, the
 * widest SIMD's first (an adjusted one has the value of the figure it was raised to). */
static int compute_ceiling(const struct mbt_profile *p, const struct mbt_place *pc, int t,
                           struct ceiling *out) {
  for (int k = 0; k < 2 * p->npeaks; k++) {
    const struct mbt_peak *pk = &p->peaks[k % p->npeaks];
    if ((k < p->npeaks) == !strcmp(pk->isa, p->simd_isa) && strcmp(pk->kernel, "fma+add") &&
        pk->threads == (t ? p->threads : 1) && fabs(pk->gflops.best - pc->peak) <= 1e-9 * pc->peak) {
      snprintf(out->name, sizeof out->name, "%s %s %d thread%s", pk->isa, pk->kernel,
               pk->threads, pk->threads > 1 ? "s" : "");
      out->f = &pk->gflops, out->compute = 1;
      return 1;
    }
  }
  return 0;
}

/* The ceilings placement @p pc was bound by, alone and in the network (one when the same).
 * @return how many. */
static int row_ceilings(const struct mbt_profile *p, const struct mbt_place *pc, int threads,
                        struct ceiling out[2]) {
  const int t = threads > 1 && p->threads > 1;
  int n = 0;
  for (int net = 0; net < 2; net++) {
    const int mem = net ? pc->net_memory_bound || pc->flops <= 0 : pc->memory_bound || pc->flops <= 0;
    const int lv = net ? pc->net_level : pc->level;
    struct ceiling c;
    if (mem) {
      const int th = t ? p->threads : 1;
      snprintf(c.name, sizeof c.name, "%s read %d thread%s", p->levels[lv].name, th, th > 1 ? "s" : "");
      c.f = &p->levels[lv].bw[MBT_BW_READ][t], c.compute = 0;
    } else if (!compute_ceiling(p, pc, t, &c)) {
      continue;
    }
    if (n == 0 || out[0].f != c.f) out[n++] = c;
  }
  return n;
}

static void mark(struct row *r, const char *tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void mark(struct row *r, const char *tag, const char *fmt, ...) {
  if (r->nmarks == (int)(sizeof r->marks / sizeof r->marks[0])) return;
  struct mark *m = &r->marks[r->nmarks++];
  snprintf(m->tag, sizeof m->tag, "%s", tag);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->why, sizeof m->why, fmt, ap);
  va_end(ap);
}

void mbt_report_row_marks(const struct section *sc, struct row *r) {
  const struct mbt_choice *c = r->c;
  struct ceiling ce[2];
  char why[480] = "", states[400];
  r->nmarks = 0;
  if (c && c->busy)
    mark(r, "busy", "measured while the machine was busy (tune --force): the choice and its "
         "time may not hold on a quiet machine");
  if (c && c->fallback)
    mark(r, "fallback", "put back to the default choice: the tuned one ran slower end to end "
         "(the check after the tune)");
  const int n = row_ceilings(sc->p, &r->pc, sc->threads, ce);
  for (int k = 0; k < n; k++)
    if (mbt_report_figure_states(ce[k].f, "", states, sizeof states))
      mbt_report_cat(why, sizeof why, "%splaced against %s, which is %s", why[0] ? "; " : "",
                     ce[k].name, states);
  if (why[0]) mark(r, "ceiling", "%s", why);
  if (c && c->spread > SPREAD_BOUND)
    mark(r, "spread", "its passes disagreed by %.0f%% (marked above %.0f%%): the time is not "
         "a steady one", 100 * c->spread, 100 * SPREAD_BOUND);
}

int mbt_report_check_sentence(const struct mbt_check *ck, char *buf, size_t n) {
  static const char *const outcome[] = {
      "faster: the tuned plan is at least as fast as the default and the best fixed family",
      "fallback: choices that ran slower than the fastest untuned plan's (the default or a "
      "fixed family) were put back",
      "slower: still slower than an untuned plan after the fallback (noise or load)"};
  const int o = ck->outcome >= 0 && ck->outcome < 3 ? ck->outcome : MBT_CHECK_SLOWER;
  buf[0] = 0;
  mbt_report_cat(buf, n, "the check after the tune (%d interleaved rounds, spread %.0f%%): tuned "
                 "plan %.3f ms, default plan %.3f ms (default / tuned %.2fx)", ck->rounds,
                 100 * ck->spread, ck->tuned_ns / 1e6, ck->default_ns / 1e6,
                 ck->tuned_ns > 0 ? ck->default_ns / ck->tuned_ns : 0.0);
  if (ck->fixed[0] && ck->fixed_ns > 0)
    mbt_report_cat(buf, n, ", best fixed family (%s) %.3f ms (%.2fx)", ck->fixed, ck->fixed_ns / 1e6,
                   ck->tuned_ns > 0 ? ck->fixed_ns / ck->tuned_ns : 0.0);
  mbt_report_cat(buf, n, "; outcome %s", outcome[o]);
  if (ck->fallbacks > 0)
    mbt_report_cat(buf, n, "; %d choice%s put back to an untuned plan's", ck->fallbacks,
                   ck->fallbacks > 1 ? "s" : "");
  if (ck->disturbed > 0)
    mbt_report_cat(buf, n, "; %d of its timed runs ran while another process held a CPU, after "
                   "%d retakes: its medians are not a quiet machine's", ck->disturbed, ck->retaken);
  mbt_report_cat(buf, n, "; %d of %d tuning passes ran disturbed%s", ck->busy_passes, ck->passes,
                 ck->busy ? "; forced on a busy machine (tune --force)" : "");
  return o != MBT_CHECK_FASTER || ck->busy_passes > 0 || ck->busy || ck->fallbacks > 0 ||
         ck->disturbed > 0;
}

/* Layer names of the rows @p pick picks, "b1.dw, b2.dw and 3 more". */
static int row_names(const struct section *sc, int (*pick)(const struct row *), char *buf, size_t n) {
  int count = 0;
  buf[0] = 0;
  for (int i = 0; i < sc->m->nlayers; i++) {
    if (!pick(&sc->r[i])) continue;
    if (count < 8) mbt_report_cat(buf, n, "%s%s", count ? ", " : "", sc->r[i].l->name);
    count++;
  }
  if (count > 8) mbt_report_cat(buf, n, " and %d more", count - 8);
  return count;
}

static int pick_busy(const struct row *r) { return r->c && r->c->busy; }
static int pick_fallback(const struct row *r) { return r->c && r->c->fallback; }
static int pick_spread(const struct row *r) { return r->c && r->c->spread > SPREAD_BOUND; }
static int pick_ceiling(const struct row *r) {
  for (int k = 0; k < r->nmarks; k++)
    if (!strcmp(r->marks[k].tag, "ceiling")) return 1;
  return 0;
}
static int pick_over(const struct row *r) {
  return r->c && r->pc.flops > 0 && r->pc.attainable > 0 &&
         r->pc.flops / r->c->ns > (1 + NOISE_BAND) * r->pc.attainable;
}

void mbt_report_section_warnings(struct section *sc, struct warnings *w, struct warnings *passed) {
  char text[640], names[400];
  int n;
  sc->brief[0] = 0;
  if (sc->ck && mbt_report_check_sentence(sc->ck, text, sizeof text)) {
    mbt_report_warn(w, sc->title, "%s", text);
    mbt_report_cat(sc->brief, sizeof sc->brief, "check %s; ", mbt_check_out_name(sc->ck->outcome));
  } else if (sc->ck) {
    mbt_report_warn(passed, sc->title, "%s", text);
  }
  static const struct {
    int (*pick)(const struct row *);
    const char *brief, *what;
  } kinds[] = {
      {pick_busy, "busy", "measured on a busy machine (tune --force)"},
      {pick_fallback, "fallback", "put back to the default choice by the check after the tune"},
      {pick_ceiling, "ceiling", "placed against a ceiling the roofline could not vouch for"},
      {pick_spread, "spread", ""},
      {pick_over, "over ceiling", "faster than their ceiling beyond the noise (the ceiling is "
                                  "suspect, their % attainable is not stated)"},
  };
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    if ((n = row_names(sc, kinds[k].pick, names, sizeof names)) > 0) {
      char what[160];
      if (kinds[k].pick == pick_spread)
        snprintf(what, sizeof what, "timed with passes that disagreed by more than %.0f%%",
                 100 * SPREAD_BOUND);
      else
        snprintf(what, sizeof what, "%s", kinds[k].what);
      mbt_report_warn(w, sc->title, "%d layer%s %s: %s", n, n > 1 ? "s" : "", what, names);
      mbt_report_cat(sc->brief, sizeof sc->brief, "%d %s; ", n, kinds[k].brief);
    }
  const size_t len = strlen(sc->brief);
  if (len >= 2) sc->brief[len - 2] = 0; /* the last "; " */
}
