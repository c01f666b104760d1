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

/* Append to the string @p out (of @p n bytes), truncating. */
void mbt_report_cat(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

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

/* A mark on a row of a layer table: a word, and the sentence behind it. */
struct mark {
  char tag[12];  /* "busy", "fallback", "ceiling", "spread" */
  char why[480];
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
  int nmarks;
  struct mark marks[4];       /* what the measurements of this row cannot vouch for */
};

/* What the saved 'bench --e2e' results of a section say; the best fixed configuration is the
 * variant family with the lowest end-to-end median ("" when there are none). */
struct e2e {
  int have;
  char best_family[16];
  double tuned, tuned_lo, tuned_hi, def, def_lo, def_hi, ref, fixed;
};

/* The numbers of one section's summary. */
struct summary {
  double total, total_ref, predicted, mem_time, mem_time_net, fusion_saved;
  struct e2e e;
  char family[16];         /* the best fixed family ("": none known) */
  const char *family_from; /* what says so */
};

/* One section of the page: a network at one thread count that the plan was tuned at. */
struct section {
  const struct mbt_profile *p;
  const struct mbt_plan *pl;  /* NULL: no plan */
  const struct mbt_model *m;
  int threads;
  char id[16];                /* "0": network 0 at 1 thread; "0t2": at 2 threads */
  char title[96];             /* "MobileNet v2 0.35/96, 1 thread" */
  const struct mbt_check *ck; /* the check after the tune (NULL: none recorded) */
  struct row r[MBT_MAX_LAYERS];
  struct summary s;
  char brief[300];            /* its warnings in a line, for the CSV */
};
/* The section's plan entry for problem @p key (its thread count's key). */
const struct mbt_choice *mbt_report_entry(const struct section *sc, const char *key);

/* The best fixed @p family's ("avx512f") variant on layer @p l against the tuned choice @p c
 * (NULL: not tuned; family "": unknown). */
void mbt_report_fixed(const struct mbt_layer *l, const struct mbt_choice *c, const char *family,
                      struct fixed *f);
/* The family whose variants sum to the least time over the tuned rows of @p r, among those
 * with a ratio on every tuned row (the best fixed family when no end-to-end results say).
 * @return 0 when none has one everywhere. */
int mbt_report_family_estimate(const struct row *r, int n, char *out, size_t len);

/* Timings whose passes disagree by more than this ((max - min) / median) are marked. */
#define SPREAD_BOUND 0.10

/* The page's warnings (warn.c): sentences, each under its heading (the profile, a section). */
struct warning {
  char group[96];
  char text[640];
};
struct warnings {
  int n, cap;
  struct warning *v;
};
void mbt_report_warn(struct warnings *w, const char *group, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mbt_report_warnings_free(struct warnings *w);
/* Every ceiling of @p p that is flagged, measured under load, adjusted or suspect; the clock
 * when flagged; the profile's own warnings. */
void mbt_report_profile_warnings(const struct mbt_profile *p, struct warnings *w);

/* A ceiling with its name ("avx512f fma 1 thread", "L2 read 2 threads"). */
struct ceiling {
  char name[48];
  const struct mbt_figure *f;
  int compute; /* 1: GFLOP/s, 0: GB/s */
};
/* What is wrong with figure @p f, in words, into @p out ("" when nothing; @p raised: the name of
 * the figure an adjusted one was raised to, when known).  @return non-zero when something is. */
int mbt_report_figure_states(const struct mbt_figure *f, const char *raised, char *out, size_t n);
/* The marks of row @p r of @p sc: its entry busy or put back, its ceiling not vouched for,
 * its spread beyond SPREAD_BOUND. */
void mbt_report_row_marks(const struct section *sc, struct row *r);
/* The check after a tune in a sentence. @return non-zero when it warns (not faster, busy
 * passes, forced, choices put back). */
int mbt_report_check_sentence(const struct mbt_check *ck, char *buf, size_t n);
/* The warnings of a section into @p w (a check that found nothing into @p passed), and
 * sc->brief. */
void mbt_report_section_warnings(struct section *sc, struct warnings *w, struct warnings *passed);

/* The roofline chart of one section: every layer at its intensity and achieved rate, against
 * the bandwidth ceilings at @p threads threads (1 or the profile's all-thread count). */
void mbt_report_chart(struct buf *b, const struct mbt_profile *p, const struct row *r, int n,
                      double total, int threads, const char *id);

#endif
