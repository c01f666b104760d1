/* reports/csv.c -- the CSV twin of the report: a row per layer of every section (RFC 4180),
 * written to a temporary file that write.c renames over the old one at the end. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "reports/report.h"

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

/* RFC 4180: variant names hold commas ("[mc=48,kc=256]"), so text is quoted. */
static void row_csv(FILE *csv, const struct section *sc, int i, const char *warnings) {
  const struct mbt_profile *p = sc->p;
  const struct mbt_model *m = sc->m;
  const struct row *r = &sc->r[i];
  const struct mbt_layer *l = r->l;
  const struct mbt_choice *c = r->c;
  const struct mbt_place *pc = &r->pc;
  const struct figs *f = &r->f;
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
          "%s,%s,%s,%.3f,%.4f,%.3f,%s,%.3f,%s,%.4f,%d,%s,%s,%s,%s,%s\n", m->name,
          m->alpha, m->res, i, l->name, mbt_op_name(l->op), l->ih, l->iw, l->ic, l->oh, l->ow,
          l->oc, l->stride, l->macs, l->params, l->bytes, pc->intensity, r->counter_i, f->alone,
          p->levels[pc->level].name, f->innet, p->levels[pc->net_level].name, var, r->ns / 1e3,
          c ? c->spread : 0.0, f->g, att, f->xref, xfix, f->share, sc->threads, sc->s.family,
          fnote, anote, marks, warn);
}

FILE *mbt_report_csv_open(const char *path, char *tmp, size_t n) {
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

void mbt_report_csv_layers(FILE *csv, const struct section *sc) {
  for (int i = 0; i < sc->m->nlayers; i++) row_csv(csv, sc, i, sc->warnings);
}
