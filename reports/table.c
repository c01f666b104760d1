/* reports/table.c -- the table model: a section's rows and summary, filled from saved data only
 * (the plan, the profile, the report data tune saved, the end-to-end results bench saved), with
 * every figure the formats state, so that the writers only format them. */
#include "config.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/isa.h"
#include "reports/report.h"

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
      else if (mbt_isa_of_name(name) && mbt_isa_of_name(name)->family &&
               !strcmp(mbt_isa_of_name(name)->family, name)) { /* a fixed family's run */
        if (r->fixed == 0 || med < r->fixed) {
          r->fixed = med;
          snprintf(r->best_family, sizeof r->best_family, "%s", name);
        }
      }
    }
  }
  json_object_put(js);
}

/* The plan's own entry for layer @p l at the section's thread count (NULL: none). */
static const struct mbt_choice *layer_entry(const struct section *sc, const struct mbt_layer *l) {
  struct mbt_problem p;
  mbt_problem_layer(l, sc->threads, &p);
  return mbt_plan_exact(sc->pl, &p);
}

/* Row @p i: placement, plan entry, kind, saved candidates and counted intensity. */
static void row_fill(struct section *sc, int i) {
  const struct mbt_layer *l = &sc->m->layers[i];
  struct row *r = &sc->r[i];
  memset(r, 0, sizeof *r);
  r->l = l;
  r->c = layer_entry(sc, l);
  r->ns = r->c ? r->c->ns : 0;
  mbt_place_as_run(sc->p, sc->m, i, sc->threads, r->c ? r->c->variant : NULL, &r->pc);
  r->kind = l->op == MBT_OP_CONV ? K_CONV : l->op == MBT_OP_DWCONV ? K_DW
            : l->op == MBT_OP_PWCONV ? K_PW : K_OTHER;
  r->saved = sc->sv->have ? &sc->sv->l[i] : NULL;
  if (r->c && r->c->nevents && r->saved) r->counter_i = r->saved->counted_i;
}

/* The fused groups the engine runs, as the report data saved them. */
static void mark_fused(struct section *sc) {
  for (int k = 0; sc->pl && sc->sv->have && k < sc->sv->ngroups; k++) {
    const struct saved_group *g = &sc->sv->g[k];
    const struct mbt_choice *c = g->fused ? mbt_plan_find(sc->pl, g->key) : NULL;
    if (!c) continue;
    for (int j = g->first; j < g->first + g->layers; j++) sc->r[j].kind = K_FUSED;
    sc->s.fusion_saved += c->ref_ns - c->ns;
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
    mbt_report_fixed(&sc->r[i], s->family, &sc->r[i].fix);
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

void mbt_report_section_fill(struct section *sc, const char *e2e_file) {
  struct summary *s = &sc->s;
  const struct mbt_model *m = sc->m;
  char key[128];
  memset(s, 0, sizeof *s);
  char title[64];
  if (m->kind == MBT_NET_CUSTOM) mbt_model_title(m, title, sizeof title);
  else snprintf(title, sizeof title, "MobileNet %s %.3g", m->name, m->alpha);
  snprintf(sc->title, sizeof sc->title, "%s/%d, %d thread%s", title, m->res, sc->threads,
           sc->threads > 1 ? "s" : "");
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
  for (int i = 0; i < sc->m->nlayers; i++) figs_of(sc, &sc->r[i], &sc->r[i].f);
}

/* The thread counts network @p m has sections for: 1, then every N > 1 at which the plan has
 * an entry for one of its layers (key + " t=N"), ascending. */
int mbt_report_threads(const struct mbt_model *m, const struct mbt_plan *pl, int *out, int max) {
  int n = 0;
  out[n++] = 1;
  for (int e = 0; pl && e < pl->n && n < max; e++) {
    struct mbt_problem p, q;
    int have = 0;
    if (mbt_problem_parse(pl->v[e].key, &p) != MBT_OK || p.kind != MBT_PROBLEM_LAYER ||
        p.threads < 2)
      continue;
    for (int k = 0; k < n; k++) have |= out[k] == p.threads;
    for (int i = 0; i < m->nlayers && !have; i++) {
      mbt_problem_layer(&m->layers[i], p.threads, &q);
      if (mbt_problem_same(&p, &q)) out[n++] = p.threads, have = 1;
    }
  }
  for (int i = 1; i < n; i++) /* insertion sort */
    for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
      const int t = out[j];
      out[j] = out[j - 1], out[j - 1] = t;
    }
  return n;
}

const char *mbt_report_threads_name(int threads, char *buf, size_t n) {
  snprintf(buf, n, "%d thread%s", threads, threads > 1 ? "s" : "");
  return buf;
}
