/* reports/write.h -- the report floor's entry: what a report is made of and the call that writes
 * it (write.c).  Apart from reports/report.h (which includes it), which is the renderers' own. */
#ifndef MBT_REPORT_WRITE_H
#define MBT_REPORT_WRITE_H

#include <stddef.h>

#include "include/mobitune.h"

/* What a report is made of: saved data only, never the machine it is made on. */
struct mbt_report_in {
  const struct mbt_profile *p;       /* the measuring machine's profile */
  const struct mbt_profile *other;   /* a second profile shown side by side, or NULL */
  const char *other_name;
  const struct mbt_plan *pl;         /* the plan store (may hold no entries) */
  const struct mbt_model *models;    /* the networks, one section each */
  int nmodels;
  const char *const *e2e;            /* per network: the file 'bench --e2e' saved (or NULL) */
  const char *commands;              /* the commands that made the data, shown on the page */
  /* Where 'bench --e2e --threads N' saved a network's results, for each thread count N > 1
   * that the plan was tuned at (the report has a section per count); NULL: none. */
  void (*e2e_threads)(const void *ctx, const struct mbt_model *m, int threads, char *buf,
                      size_t n);
  const void *e2e_ctx;               /* passed to e2e_threads */
  /* The directory of the report data (mbt_record_save): the machine, the candidates, the
   * counted intensities and the fusion groups of each section; NULL: none saved. */
  const char *data_dir;
};

/* Write the self-contained HTML report at @p path and its twins (same path, .csv: the layer
 * tables; .json: machine, summaries and layer tables), each atomically. */
enum mbt_status mbt_report_write(const char *path, const struct mbt_report_in *in);

#endif
