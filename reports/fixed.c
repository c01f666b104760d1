/* reports/fixed.c -- "x best fixed": the best fixed configuration (one variant family forced on
 * every layer, as 'bench --e2e' runs it) against the tuned plan, layer by layer.
 *
 * A forced engine runs, on each layer, the best-ranked candidate of the family ("__avx512f" in
 * its name), or the default candidate where the family has none: the candidates as the report
 * data saved them, in rank order, on the machine that measured them.  Its time on the layer is the
 * one the tuner measured for that variant in the network; where the tuner screened it out of
 * the network timing, the ratio of the two variants' times alone stands in (marked as such);
 * where the tuner never ran it (its roofline bound could not win), there is no ratio, and the
 * reason says so. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "machine/isa.h"
#include "reports/report.h"

/* The variant a forced engine runs on the layer of @p sl for @p family: the first saved
 * candidate (best rank first) whose name has "__family", else the default (the first); NULL
 * when none runs it. */
static const char *forced_variant(const struct saved_layer *sl, const char *family) {
  char tag[24];
  snprintf(tag, sizeof tag, "__%s", family);
  for (int k = 0; k < sl->ncand; k++)
    if (strstr(sl->cand[k], tag)) return sl->cand[k];
  return sl->ncand ? sl->cand[0] : NULL;
}

static const struct mbt_cand *cand_of(const struct mbt_choice *c, const char *variant) {
  for (int j = 0; j < c->ncand; j++)
    if (!strcmp(c->cand[j].variant, variant)) return &c->cand[j];
  return NULL;
}

void mbt_report_fixed(const struct row *r, const char *family, struct fixed *f) {
  const struct mbt_choice *c = r->c;
  memset(f, 0, sizeof *f);
  const char *v = c && family[0] && r->saved ? forced_variant(r->saved, family) : NULL;
  if (!c || !family[0] || !v) {
    snprintf(f->shortwhy, sizeof f->shortwhy, "%s", !c ? "not tuned" : !family[0] ? "no family"
             : !r->saved ? "not saved" : "no variant");
    snprintf(f->why, sizeof f->why, "%s", !c ? "the layer has no plan entry at this thread count"
             : !family[0] ? "no fixed family is known (no end-to-end results, no check, no candidate records)"
             : !r->saved ? "no report data was saved for this network and thread count (tune again)"
             : "no variant of this build runs the layer here");
    return;
  }
  f->variant = v;
  if (!strcmp(v, c->variant)) {
    f->x = 1, f->basis = FIX_SAME;
    return;
  }
  const struct mbt_cand *fv = cand_of(c, v), *win = cand_of(c, c->variant);
  if (fv && fv->ns > 0 && c->ns > 0) {
    f->x = fv->ns / c->ns, f->basis = FIX_NET;
    return;
  }
  if (fv && fv->alone_ns > 0 && win && win->alone_ns > 0) {
    f->x = fv->alone_ns / win->alone_ns, f->basis = FIX_ALONE;
    return;
  }
  if (c->ncand == 0) {
    snprintf(f->shortwhy, sizeof f->shortwhy, "no record");
    snprintf(f->why, sizeof f->why, "the plan entry predates candidate records (tune with --redo)");
  } else if (!fv) {
    snprintf(f->shortwhy, sizeof f->shortwhy, "not tried");
    snprintf(f->why, sizeof f->why, "the tuner did not try %s here", v);
  } else if (fv->out == MBT_CAND_ROOFLINE) {
    snprintf(f->shortwhy, sizeof f->shortwhy, "pruned");
    if (win && win->alone_ns > 0 && fv->bound_ns > 0)
      snprintf(f->why, sizeof f->why, "%s was not run: its roofline bound (%.1f us) could not "
               "beat the winner's time alone (%.1f us)", v, fv->bound_ns / 1e3,
               win->alone_ns / 1e3);
    else
      snprintf(f->why, sizeof f->why, "%s was not run: its roofline bound could not beat the "
               "winner's time", v);
  } else {
    snprintf(f->shortwhy, sizeof f->shortwhy, "not timed");
    snprintf(f->why, sizeof f->why, "the tuner kept no time of %s here", v);
  }
}

int mbt_report_family_estimate(const struct row *r, int n, char *out, size_t len) {
  int nisa;
  const struct mbt_isa_info *isa = mbt_isa_table(&nisa);
  double best = 0;
  out[0] = 0;
  for (int k = 0; k < nisa; k++) { /* every kernel family of the ISA table */
    const char *family = isa[k].family;
    char tag[24];
    if (!family) continue;
    double sum = 0;
    int complete = 1, own = 0; /* own: the family has a variant of its own somewhere */
    snprintf(tag, sizeof tag, "__%s", family);
    for (int i = 0; i < n && complete; i++) {
      struct fixed f;
      if (!r[i].c) continue;
      mbt_report_fixed(&r[i], family, &f);
      complete = f.basis != FIX_NONE;
      own |= f.variant && strstr(f.variant, tag) != NULL;
      sum += f.x * r[i].c->ns;
    }
    if (complete && own && sum > 0 && (best == 0 || sum < best)) {
      best = sum;
      snprintf(out, len, "%s", family);
    }
  }
  return out[0] != 0;
}
