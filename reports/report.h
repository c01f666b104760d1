/* reports/report.h -- what the report's parts share: the text buffer the page is written into,
 * the saved data a section renders (data.c), its table model (table.c: the rows and figures of a
 * network at one thread count), the chart that draws them (chart.c), and the writers of each
 * format (html.c, csv.c, json.c) that write.c drives through one list of parts.  Nothing here
 * runs kernels, the engine or the tuner: everything comes from saved files. */
#ifndef MBT_REPORT_H
#define MBT_REPORT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>

#include "include/mobitune.h"
#include "machine/isa.h"
#include "plan/plan.h"
#include "reports/write.h"

struct warnings;

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

/* A layer as the report data saved it (tuner/record.c writes the file). */
struct saved_layer {
  int ncand;
  char cand[MBT_MAX_CANDS][96]; /* its candidates in rank order on the measuring machine */
  double counted_i;             /* FLOP/byte from the hardware counters (0: none) */
};
/* A fusable pair or block with a plan entry, and whether the engine runs it fused. */
struct saved_group {
  int first, layers, fused;
  char key[128]; /* its plan key at the section's thread count */
};
/* The report data of one section. */
struct saved {
  int have;                     /* 0: none found (a data directory from before it was saved) */
  struct mbt_machine m;         /* the machine that measured it */
  int nlayers;
  struct saved_layer l[MBT_MAX_LAYERS];
  int ngroups;
  struct saved_group g[2 * MBT_MAX_LAYERS]; /* by first layer, a pair before a block */
};
/* The report data of @p m at @p threads in directory @p dir (NULL: none) into @p s; s->have is
 * 0 when no file there holds it. */
void mbt_report_data_load(const char *dir, const struct mbt_model *m, int threads,
                          struct saved *s);

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

/* A row's figures, as the page, the CSV and the JSON state them. */
struct figs {
  double share, g, att, xref;
  const char *alone, *innet; /* "memory" or "compute" */
  int att_state;             /* mbt_report_attainable's */
  char fnote[400];           /* how x best fixed was found, or why there is none */
  char anote[200];           /* % attainable's note ("" at or below the ceiling) */
  char marks[1600];          /* the marks' sentences ("; " between) */
};

/* Everything the report says about one layer, from the saved data. */
struct row {
  const struct mbt_layer *l;
  const struct mbt_choice *c; /* its plan entry at the section's thread count (NULL: not tuned) */
  const struct saved_layer *saved; /* its report data (NULL: none saved) */
  struct mbt_place pc;        /* roofline placement at the section's thread count */
  enum kind kind;
  double ns;                  /* its median time in the network (0: not tuned) */
  struct fixed fix;           /* the best fixed family's variant here */
  double counter_i;           /* FLOP/byte from counters (0: no counters) */
  int nmarks;
  struct mark marks[4];       /* what the measurements of this row cannot vouch for */
  struct figs f;              /* its figures, once the section is filled */
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
  const struct saved *sv;     /* its report data (sv->have 0: none saved) */
  struct row r[MBT_MAX_LAYERS];
  struct summary s;
  char brief[300];            /* its warnings in a line, for the CSV */
  char warnings[600];         /* the CSV's warnings column: brief and the profile's count */
};

/* The table model (table.c).  The thread counts network @p m has sections for: 1, then every
 * N > 1 at which the plan has an entry for one of its layers, ascending. */
int mbt_report_threads(const struct mbt_model *m, const struct mbt_plan *pl, int *out, int max);
/* Fill section @p sc (p, pl, m, threads, sv set) from the saved data: its title, check, rows,
 * fused groups, best fixed family, marks, summary (end to end from @p e2e_file, may be NULL)
 * and every row's figures. */
void mbt_report_section_fill(struct section *sc, const char *e2e_file);
/* "1 thread", "2 threads". */
const char *mbt_report_threads_name(int threads, char *buf, size_t n);

/* The parts of a section, each in the formats it has (NULL: none in that one); write.c keeps
 * their list, in page order.  A new part is its writers and one entry there. */
struct part {
  void (*html)(struct buf *b, const struct section *sc);
  void (*csv)(FILE *csv, const struct section *sc);
  void (*json)(json_object *jn, const struct section *sc);
};
/* The writers of the parts (html.c, csv.c, json.c). */
void mbt_report_html_roofline(struct buf *b, const struct section *sc);
void mbt_report_html_layers(struct buf *b, const struct section *sc);
void mbt_report_html_summary(struct buf *b, const struct section *sc);
void mbt_report_html_decisions(struct buf *b, const struct section *sc);
void mbt_report_csv_layers(FILE *csv, const struct section *sc);
void mbt_report_json_head(json_object *jn, const struct section *sc);
void mbt_report_json_layers(json_object *jn, const struct section *sc);
void mbt_report_json_summary(json_object *jn, const struct section *sc);

/* The page around the sections (html.c, json.c, csv.c). */
void mbt_report_html_head(struct buf *b, const struct mbt_report_in *in);
void mbt_report_html_banner(struct buf *b, const struct warnings *w, const struct warnings *passed);
/* The machine card: @p m the machine the data names (NULL: none saved). */
void mbt_report_html_machine(struct buf *b, const struct mbt_report_in *in,
                             const struct mbt_machine *m);
void mbt_report_html_compare(struct buf *b, const struct mbt_profile *p,
                             const struct mbt_profile *q, const char *qname);
void mbt_report_html_tail(struct buf *b);
void mbt_report_json_page(json_object *js, const struct mbt_report_in *in,
                          const struct mbt_machine *m, const struct warnings *w);
/* The CSV twin's temporary (mbt_tmp_create), its header written; its name in @p tmp. */
FILE *mbt_report_csv_open(const char *path, char *tmp, size_t n);

/* The best fixed @p family's ("avx512f") variant on row @p r (its layer, plan entry and saved
 * candidates) against the tuned choice (family "": unknown). */
void mbt_report_fixed(const struct row *r, const char *family, struct fixed *f);
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
