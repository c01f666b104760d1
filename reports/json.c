/* reports/json.c -- the JSON twin of the report: the machine, the warnings and, per section,
 * the network, its layer table and its summary. */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>

#include "reports/report.h"

static void row_json(json_object *jl, const struct section *sc, int i) {
  const struct mbt_profile *p = sc->p;
  const struct row *r = &sc->r[i];
  const struct mbt_layer *l = r->l;
  const struct mbt_choice *c = r->c;
  const struct mbt_place *pc = &r->pc;
  const struct figs *f = &r->f;
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
  /* the threads it runs on, where the plan gives it fewer than the section's (null: all) */
  json_object_object_add(o, "runs_on_threads", c && c->threads > 0 ? json_object_new_int(c->threads) : NULL);
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

void mbt_report_json_layers(json_object *jn, const struct section *sc) {
  json_object *jl = json_object_new_array();
  for (int i = 0; i < sc->m->nlayers; i++) row_json(jl, sc, i);
  json_object_object_add(jn, "layers", jl);
}

void mbt_report_json_head(json_object *jn, const struct section *sc) {
  const struct mbt_model *m = sc->m;
  char id[64];
  mbt_model_id(m, id, sizeof id);
  json_object_object_add(jn, "net", json_object_new_string(id));
  json_object_object_add(jn, "alpha", json_object_new_double(m->alpha));
  json_object_object_add(jn, "res", json_object_new_int(m->res));
  json_object_object_add(jn, "threads", json_object_new_int(sc->threads));
  json_object_object_add(jn, "classes", json_object_new_int(m->classes));
  json_object_object_add(jn, "macs", json_object_new_double(m->macs));
  json_object_object_add(jn, "params", json_object_new_double(m->params));
}

void mbt_report_json_summary(json_object *jn, const struct section *sc) {
  const struct summary *s = &sc->s;
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
}

void mbt_report_json_page(json_object *js, const struct mbt_report_in *in,
                          const struct mbt_machine *m, const struct warnings *w) {
  json_object *jm = json_object_new_object(), *jw = json_object_new_array();
  /* (no report data saved: the machine is unknown, its fingerprint the profile's) */
  json_object_object_add(jm, "cpu", m ? json_object_new_string(m->model) : NULL);
  json_object_object_add(jm, "isa", m ? json_object_new_string(m->features) : NULL);
  json_object_object_add(jm, "cores", json_object_new_int(m ? m->cores : 0));
  json_object_object_add(jm, "threads", json_object_new_int(m ? m->threads : 0));
  json_object_object_add(jm, "fingerprint", json_object_new_string(m ? m->fingerprint : in->p->fingerprint));
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
