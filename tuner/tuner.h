/* tuner/tuner.h -- timing one layer variant (shared by the tuner and the benchmarks), and the
 * planner's parts: candidates (tuner/candidates.c), interleaved passes (tuner/passes.c), choice
 * (tuner/choice.c), fusion (tuner/fusion.c), driven by mbt_tune (tuner/tune.c). */
#ifndef MBT_TUNER_H
#define MBT_TUNER_H

#include <stdio.h>

#include "kernels/kernels.h"
#include "machine/counters.h"
#include "machine/machine.h"
#include "net/net.h"
#include "plan/plan.h"

/* Buffers for one layer, filled from a seeded generator. */
struct mbt_layer_bufs {
  float *in, *out, *res, *w, *b;
  struct mbt_exec x;
};
enum mbt_status mbt_layer_bufs_alloc(const struct mbt_layer *l, uint64_t seed,
                                     struct mbt_layer_bufs *b);
void mbt_layer_bufs_free(struct mbt_layer_bufs *b);

struct mbt_timing {
  double median_ns, min_ns, max_ns; /* per call */
  long iters;                       /* calls per repetition */
  int reps;
  int ncounters;
  long long counters[MBT_MAX_EVENTS]; /* per call, from the median repetition's loop */
};

/* Warm up, double the call count until one repetition lasts min_ms, then time reps
 * repetitions; counters (when the component can count) are read around each repetition. */
void mbt_measure(const struct mbt_variant *v, const struct mbt_exec *x, int threads,
                 double min_ms, int reps, struct mbt_timing *t);

/* ------------------------------------------------------------------ the planner's parts */

#define MBT_TUNE_MAXC 32  /* candidates of one layer */
#define MBT_TUNE_PRUNE 2.5 /* the isolated screen drops candidates this much slower alone */

/* What the tuner knows of one candidate besides its in-network times (kept in the plan). */
struct mbt_cand_info {
  const struct mbt_variant *v;
  int out;          /* enum mbt_cand_out */
  double alone_ns;  /* isolated screen time (0 = not screened) */
  double bound_ns;  /* roofline lower bound at the tuning thread count (0 = no profile) */
};

struct mbt_layer_cands {
  int todo;                          /* 1 when this layer's key is being tuned */
  int n;                             /* candidates (reference excluded) */
  const struct mbt_variant *v[MBT_TUNE_MAXC];
  struct mbt_cand_info info[MBT_TUNE_MAXC]; /* of v[j] */
  int ngone;                         /* candidates dropped before the network runs */
  struct mbt_cand_info gone[MBT_TUNE_MAXC];
  const struct mbt_variant *ref;
  int pruned;                        /* candidates dropped by the isolated pre-screen */
  int roof_pruned;                   /* of those, dropped by the roofline bound untimed */
};

/* One tuning: what it tunes, where it times it, and what the load did to its passes. */
struct mbt_tuning {
  const struct mbt_machine *m;
  const struct mbt_model *model;
  const struct mbt_tune_opts *o;
  struct mbt_plan *pl;
  int threads, passes, effort;
  double t_begin;            /* mbt_now_ns() when it began */
  mbt_engine_t e;            /* the network the candidates are timed in */
  float *in;                 /* its input */
  const int *fuse_rows;      /* strip heights tried for fusion (0 = the layers apart) */
  int nfuse;
  float *cold;               /* the flush buffer of a cold tuning (NULL: warm, the default) */
  size_t ncold;
  double wait_left_ns;       /* waiting budget left for a busy machine to calm down */
  double pass_ns, busy_ns;   /* time of the passes that count, and of those that ran busy */
  double busy_worst;         /* the least CPU share a tuning thread had in a pass */
  int busy_passes, team_passes;
  int busy_cpu;              /* the CPU another process held most often (-1: none) */
  int busy_hits[MBT_LOAD_MAX];
  int repeats_left, repeats_done; /* disturbed passes that may still be, and were, repeated */
  int forced_busy;           /* 1: too busy, kept by --force */
  char (*put_keys)[96];      /* keys this tuning put into the plan (marked when forced busy) */
  int nput, put_cap;
};

/* The layers phase: every layer's candidates and their times inside the network. */
struct mbt_layer_phase {
  struct mbt_layer_cands lc[MBT_MAX_LAYERS];
  char keys[MBT_MAX_LAYERS][96]; /* layer i's problem key at the tuning's thread count */
  int first[MBT_MAX_LAYERS];     /* 1: layer i is tuned, the first with its key */
  int maxn, ntodo;               /* the most candidates of a tuned layer; tuned layers */
  double *t;      /* t[(i * MBT_TUNE_MAXC + j) * passes + p]: candidate j of layer i, pass p, ns */
  int nev;        /* counter events read around every layer (0: none) */
  double *cn;     /* their counts: cn[((i * MBT_TUNE_MAXC + j) * passes + p) * nev + event] */
  /* the per-candidate time limit, from the warm-up pass */
  double warm[MBT_MAX_LAYERS][MBT_TUNE_MAXC];
  unsigned char drop[MBT_MAX_LAYERS][MBT_TUNE_MAXC];
  int best_warm[MBT_MAX_LAYERS], dropped;
  int np;         /* complete passes */
  double t_start; /* mbt_now_ns() when the passes began */
};

/* tuner/passes.c: the tuning's state, the load, and the interleaved passes over the layers. */
void mbt_tuning_begin(struct mbt_tuning *t, const struct mbt_machine *m,
                      const struct mbt_model *model, const struct mbt_tune_opts *o,
                      struct mbt_plan *pl);
void mbt_tuning_end(struct mbt_tuning *t);
/* 1 once mbt_tune_interrupt() was called in this tuning. */
int mbt_tune_interrupted(void);
/* Before a pass: wait (within the tuning's budget) for the tuning team's cores to be free. */
void mbt_tune_settle(struct mbt_tuning *t);
/* After pass @p pass of @p phase: 1 when it ran disturbed and is to be repeated. */
int mbt_tune_disturbed(struct mbt_tuning *t, struct mbt_load *lp, const char *phase, int pass);
/* Before a timed run of a cold tuning: stream the flush buffer. */
void mbt_tune_flush(struct mbt_tuning *t);
/* The flush buffer of a cold tuning (twice the last-level cache). */
enum mbt_status mbt_tune_cold(struct mbt_tuning *t);
/* Put @p c into the plan, remembering its key. */
enum mbt_status mbt_tune_put(struct mbt_tuning *t, const struct mbt_choice *c);
/* After the passes: refuse (MBT_EBUSY), or keep marked busy, what a busy machine measured. */
enum mbt_status mbt_tune_verdict(struct mbt_tuning *t);
/* The configurations a phase times (a strip height, a thread count): set(conf) puts the
 * engine in configuration conf (*skip = 1: none to time there), record(conf, pass) reads the
 * run's times. */
struct mbt_rounds {
  enum mbt_status (*set)(struct mbt_tuning *t, int conf, void *ctx, int *skip);
  void (*record)(struct mbt_tuning *t, int conf, int pass, void *ctx);
  void *ctx;
};
/* The passes of a phase over @p nconf configurations: in each, every configuration once, each
 * first in turn (set, one network run, record); pass -1 warms up and records nothing; a pass
 * another process disturbed is repeated (named @p phase).  Stops at an interrupt, the pass
 * unfinished (the caller asks mbt_tune_interrupted: a partial pass decides nothing). */
enum mbt_status mbt_tune_rounds(struct mbt_tuning *t, const char *phase, int nconf,
                                const struct mbt_rounds *r);
/* Phase 1: every tuned layer's candidates, round after round inside the network. */
enum mbt_status mbt_tune_layer_passes(struct mbt_tuning *t, struct mbt_layer_phase *ph);

/* tuner/candidates.c */
/* 1 when @p key must be measured: no entry, one made at a lower effort, or --redo. */
int mbt_tune_need(const struct mbt_tuning *t, const char *key);
/* Every layer's key and candidates, screened alone at the measure effort. */
void mbt_tune_candidates(struct mbt_tuning *t, struct mbt_layer_phase *ph);
/* The reference variant @p ref on layer @p l (index @p i), timed once alone, ns. */
double mbt_tune_ref_ns(const struct mbt_layer *l, const struct mbt_variant *ref, int i);

/* tuner/choice.c */
/* Each tuned problem's choice from the passes, into the plan. */
enum mbt_status mbt_tune_choose_layers(struct mbt_tuning *t, struct mbt_layer_phase *ph);
/* The choice among strip heights for a pair or block (score[j]: time of the @p users groups
 * with t->fuse_rows[j] rows; heights over @p oh are not tried).  @return the index chosen. */
int mbt_tune_strip_choice(const struct mbt_tuning *t, const char *key, const double *score,
                          int users, int oh, struct mbt_choice *c);
/* MBT_ESTIMATE: every tuned problem's best-ranked variant at its roofline time; runs nothing. */
enum mbt_status mbt_tune_estimate(struct mbt_tuning *t, const struct mbt_layer_phase *ph);

/* Fusion is taken, a winner beats its runner-up and fewer threads are taken, only when that
 * saves more than this fraction; a smaller gain is within the noise of this machine, and the
 * simpler plan is kept. */
#define MBT_TUNE_TIE 0.02

/* tuner/fusion.c */
/* 1 when a fusable pair or block has no plan entry to reuse. */
int mbt_tune_groups_todo(const struct mbt_tuning *t);
/* Phase 2: fusion of every dw -> pw pair, with every layer on its winner. */
enum mbt_status mbt_tune_pairs(struct mbt_tuning *t);
/* Phase 3: with the pairs decided, blocks of three layers. */
enum mbt_status mbt_tune_blocks(struct mbt_tuning *t);
/* With every layer on its winner, the squeeze-and-excitation scales measured in this tune
 * (@p ph) that can fold into the next layer's weights, timed on their winner and folded. */
enum mbt_status mbt_tune_folds(struct mbt_tuning *t, const struct mbt_layer_phase *ph);

/* tuner/teams.c */
/* Phase 4, on several threads: each run group this tuning decided, timed on all the threads
 * and on fewer; one faster on fewer keeps that count in its entry. */
enum mbt_status mbt_tune_teams(struct mbt_tuning *t);

/* tuner/record.c */
/*
 * Save in directory @p dir what the report of @p model at @p threads threads shows beyond the
 * plan @p pl (may be NULL) and the profile: the machine @p m that measured them, each layer's
 * candidates in rank order (what a fixed family runs), the intensities counted by the hardware
 * counters and the fusion groups the engine runs, as DIR/report-data-NET-ALPHA-RES-tN.json
 * (README, "The report"), atomically.  'tune' and 'bench --e2e' call it.
 */
enum mbt_status mbt_record_save(const char *dir, const struct mbt_machine *m,
                                const struct mbt_model *model, const struct mbt_plan *pl,
                                int threads);

#endif
