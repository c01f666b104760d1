/* reports/report.h -- what the report's parts share: the text buffer the page is written into,
 * the rows of a section (a network at one thread count), and the chart that draws them. */
#ifndef MBT_REPORT_H
#define MBT_REPORT_H

#include <stddef.h>

#include "include/mobitune.h"

/* A growable text buffer, written to disk atomically at the end. */
struct buf {
  char *s;
  size_t n, cap;
  int oom;
};
/* (The library exports every extern symbol: these keep the mbt_ prefix, used by short names.) */
#define put mbt_report_put
#define esc mbt_report_esc
void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text escaped for HTML element content and attribute values. */
void esc(struct buf *b, const char *s);

/* What a point on the chart is: the layer kinds of the legend. */
enum kind { K_CONV, K_DW, K_PW, K_FUSED, K_OTHER, K_COUNT };

/* A layer's achieved rate over its attainable ceiling, as the report states it: never above
 * 100% as a fact.  Up to NOISE_BAND over, "100%*" (within the noise); beyond it, ">100%
 * (ceiling suspect)".  @return 0 at or below the ceiling, 1 within the band, 2 beyond it. */
#define NOISE_BAND 0.05
int mbt_report_attainable(double ratio, char *text, size_t n);
/* Its explanation, for a tooltip or the CSV's note ("" at or below the ceiling). */
void mbt_report_attainable_note(double ratio, char *text, size_t n);

/* The best fixed family's variant on one layer against the tuned choice (fixed.c). */
enum fix_basis {
  FIX_NONE,  /* no ratio: why says why */
  FIX_SAME,  /* the tuned choice is the family's variant */
  FIX_NET,   /* both timed in the network */
  FIX_ALONE, /* the family's variant was screened out: the ratio of their times alone */
};
struct fixed {
  double x;            /* the family's time / the tuned time (0: none) */
  int basis;           /* enum fix_basis */
  const char *variant; /* the family's variant on the layer (NULL: none) */
  char shortwhy[16];   /* FIX_NONE: the reason in a word or two ("pruned") */
  char why[256];       /* FIX_NONE: the reason in a sentence */
};

/* Everything the report says about one layer, from the saved data. */
struct row {
  const struct mbt_layer *l;
  const struct mbt_choice *c; /* its plan entry at the section's thread count (NULL: not tuned) */
  struct mbt_place pc;        /* roofline placement at the section's thread count */
  enum kind kind;
  double ns;                  /* its median time in the network (0: not tuned) */
  struct fixed fix;           /* the best fixed family's variant here */
  double counter_i;           /* FLOP/byte from counters (0: no counters) */
};

/* The best fixed @p family's ("avx512f") variant on layer @p l against the tuned choice @p c
 * (NULL: not tuned; family "": unknown). */
void mbt_report_fixed(const struct mbt_layer *l, const struct mbt_choice *c, const char *family,
                      struct fixed *f);
/* The family whose variants sum to the least time over the tuned rows of @p r, among those
 * with a ratio on every tuned row (the best fixed family when no end-to-end results say).
 * @return 0 when none has one everywhere. */
int mbt_report_family_estimate(const struct row *r, int n, char *out, size_t len);

/* The roofline chart of one section: every layer at its intensity and achieved rate, against
 * the bandwidth ceilings at @p threads threads (1 or the profile's all-thread count). */
void mbt_report_chart(struct buf *b, const struct mbt_profile *p, const struct row *r, int n,
                      double total, int threads, const char *id);

#endif
