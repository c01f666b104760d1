/* net/net.h -- engine internals shared with the tuner, benchmarks and tests. */
#ifndef MBT_NET_H
#define MBT_NET_H

#include "common/common.h"
#include "kernels/kernels.h"
#include "roofline/roofline.h"

/* The kernels take their own problem type with the network's op and activation values. */
_Static_assert(MBT_KOP_CONV == (int)MBT_OP_CONV && MBT_KOP_DWCONV == (int)MBT_OP_DWCONV &&
                   MBT_KOP_PWCONV == (int)MBT_OP_PWCONV &&
                   MBT_KOP_GAVGPOOL == (int)MBT_OP_GAVGPOOL && MBT_KOP_FC == (int)MBT_OP_FC &&
                   MBT_KOP_SCALE == (int)MBT_OP_SCALE && MBT_KOP_COUNT == (int)MBT_OP_COUNT,
               "enum mbt_kop and enum mbt_op differ");
_Static_assert(MBT_KACT_NONE == (int)MBT_ACT_NONE && MBT_KACT_RELU6 == (int)MBT_ACT_RELU6 &&
                   MBT_KACT_HSWISH == (int)MBT_ACT_HSWISH && MBT_KACT_RELU == (int)MBT_ACT_RELU &&
                   MBT_KACT_HSIGMOID == (int)MBT_ACT_HSIGMOID && MBT_KACT_SILU == (int)MBT_ACT_SILU &&
                   MBT_KACT_SIGMOID == (int)MBT_ACT_SIGMOID && MBT_KACT_COUNT == (int)MBT_ACT_COUNT,
               "enum mbt_kact and enum mbt_act differ");

/* Untimed runs of an engine before each timed run where several engines (plans, libraries)
 * are timed round-robin: tune's check, 'bench --e2e', bench-onednn and bench-xnnpack.  Timed
 * right after the others' runs, an engine found its weights pushed out of the caches; a
 * repeated inference, which 'mobitune run' and a deployment time, finds them where its own run
 * before left them.  On V3-Small (10 MB of weights, a 32 MB L3 shared with another tenant) the
 * check's tuned plan took 0.99 ms against 0.70 in 'mobitune run'; after 1, 3, 5 and 10 runs of
 * its own, 0.88, 0.73, 0.74 and 0.68. */
#define MBT_WARM_RUNS 4

/* The kernels' problem of layer @p l: what a variant, the registry or a packer is given. */
static inline struct mbt_kshape mbt_layer_kshape(const struct mbt_layer *l) {
  return (struct mbt_kshape){(enum mbt_kop)l->op, l->ih, l->iw, l->ic, l->oh, l->ow, l->oc,
                             l->k, l->stride, l->pad, (enum mbt_kact)l->act};
}

size_t mbt_layer_weight_count(const struct mbt_layer *l);
/* 1 when layer @p l has weights and biases (not the pool or the SE product). */
int mbt_layer_has_weights(const struct mbt_layer *l);

void mbt_layer_init_weights(const struct mbt_layer *l, float *w, float *b, struct mbt_rng *r);
/* Write the weights @p w[i] and biases @p b[i] (natural layouts) of every layer i of @p m that
 * has them as a weight file at @p path, atomically (the engine's mbt_engine_save). */
enum mbt_status mbt_weights_write(const struct mbt_model *m, const float *const *w,
                                  const float *const *b, const float mean[3], const float std[3],
                                  const char *path);
/* The natural-layout weights and bias of layer @p i (NULL for the pool). */
void mbt_engine_weights(mbt_engine_t e, int i, const float **w, const float **b);
/* Run layer @p i with variant @p v from now on (packs its weights once per layout). */
enum mbt_status mbt_engine_use(mbt_engine_t e, int i, const struct mbt_variant *v);
/* How an engine runs its network: a variant per layer (NULL: the default, the best static
 * rank) and the strip rows of each fused pair and block (0: apart).  The engine knows nothing
 * of plans: the plan floor fills this from one (mbt_plan_setup); zeroed, it is the default. */
struct mbt_engine_setup {
  const struct mbt_variant *var[MBT_MAX_LAYERS];
  int fuse[MBT_MAX_LAYERS];  /* fuse[i] = R > 0: layers i, i + 1 fused, R rows per strip */
  int block[MBT_MAX_LAYERS]; /* block[i] = R > 0: layers i .. i + 2 asked to run as a block */
  /* team[i][len - 1] = N > 0: the group of len layers from layer i (a layer alone, a pair, a
   * block), when it runs, runs on N threads at most; 0: on all of them */
  int team[MBT_MAX_LAYERS][3];
};
/* Which fused groups run, as the engine walks the layers left to right: at a layer not yet run,
 * the block asked for there (block[i] > 0) when no block taken before overlaps it, else the
 * pair (fuse[i] > 0), else the layer alone.  @p runs[i] gets 3 (a block runs from layer i), 2
 * (a pair) or 0, for the @p n layers. */
void mbt_fusion_runs(int n, const int *fuse, const int *block, int *runs);
/* How many layers run as one from layer @p i of @p e: 3 (a block), 2 (a fused pair), 1 (alone),
 * 0 (inside a group that starts before it, or a bad index).  A group's time is its first
 * layer's (mbt_engine_layer_ns). */
int mbt_engine_group(mbt_engine_t e, int i);
/* An engine for @p model with seeded weights, set up as @p s says (NULL: the default).  With
 * @p force, a layer where a variant's name contains it runs that variant, and nothing is
 * fused. */
enum mbt_status mbt_engine_new(const struct mbt_model *model, const struct mbt_engine_setup *s,
                               const char *force, uint64_t seed, mbt_engine_t *out);
/* Run as @p s says from now on: every layer's variant (NULL: the default) and the fusion. */
enum mbt_status mbt_engine_configure(mbt_engine_t e, const struct mbt_engine_setup *s);
/* The threads each layer runs on (mbt_engine_set_threads). */
int mbt_engine_threads(mbt_engine_t e);
/* The group of @p len layers (1-3) from layer @p i runs on at most @p threads threads from now
 * on (0: on all), when it runs as such a group; MBT_EINVAL on a bad index, length or count. */
enum mbt_status mbt_engine_team(mbt_engine_t e, int i, int len, int threads);
/* The threads the group from layer @p i runs on now (its length as it runs, mbt_engine_group):
 * the engine's count, or fewer as mbt_engine_team set; 0 inside a group or on a bad index. */
int mbt_engine_group_threads(mbt_engine_t e, int i);
/* The rows of the block that runs from layer @p i (0 = none). */
int mbt_engine_block_runs(mbt_engine_t e, int i);
/* The rows asked for the pair (@p len 2) or the block (3) from layer @p i, whether it runs or
 * not (0 = apart, or a bad index or length). */
int mbt_engine_asked(mbt_engine_t e, int i, int len);
/* 1 when layer @p i, a squeeze-and-excitation scale, runs folded into layer i + 1's weights
 * (an MBT_FOLD variant: layer i + 1 then reads layer i's input). */
int mbt_engine_folds(mbt_engine_t e, int i);
/* Run problem x->s with @p v on @p threads threads (a grid of row parts x channel parts). */
void mbt_run_rows(const struct mbt_variant *v, const struct mbt_exec *x, int threads);
/* The same on @p parts of a team of @p threads (its other threads idle; a smaller team would
 * make libgomp replace threads, unpinned). */
void mbt_run_rows_on(const struct mbt_variant *v, const struct mbt_exec *x, int parts,
                     int threads);
/* The grid for @p rows rows and @p units channel units on @p threads threads: *rp row parts x
 * *cp channel parts (cp = 1 unless @p by_channel), the one whose busiest thread has the least
 * work; at equal balance, fewer channel parts. */
void mbt_split_2d(int rows, int units, int threads, int by_channel, int *rp, int *cp);

/* The network as a graph of work items (net/flow.c): row strips of each run group (and
 * channel parts of a layer with few rows), each started once what it reads is written and what
 * it overwrites is read, taken by the first free thread, with no barrier between layers. */
struct mbt_flow;
/* One run group as the engine runs it: layers first .. first + len - 1, strips of @p strip rows
 * (a fused group's; 0 = any), up to @p units channel parts (1: its variant cannot split). */
struct mbt_flow_group {
  int first, len, strip, units;
  int copy; /* 1: an item a thread holds too long may get a backup copy (net/flow.c) */
};
/* One work item: output rows r0 .. r1 - 1 of group g (layers first .. first + len - 1),
 * output-channel part cpart of cparts. */
struct mbt_flow_item {
  int g, first, len, r0, r1, cpart, cparts;
};
/* One run of one item: what @p fn gets to claim its output with. */
struct mbt_flow_claim {
  struct mbt_flow *f;
  int i;
  unsigned run;
};
/* 1 when this copy of the item is the first to claim it (at most one copy gets 1 per run): an
 * item that computes into a staging buffer copies it out only then. */
int mbt_flow_claim(const struct mbt_flow_claim *c);
/* Run item @p it on @p thread's scratch: 1 when its output is in place, 0 when another copy's
 * is (it lost mbt_flow_claim). */
typedef int (*mbt_flow_fn)(void *ctx, const struct mbt_flow_item *it, int thread,
                           const struct mbt_flow_claim *c);
/* The graph of @p ng groups of @p m, in the order they run, each writing its own buffer (none
 * shared: nothing rewrites an item's inputs during a run); items of about
 * @p item_flops each, at least @p threads for a group that is cut at all.  NULL when out of
 * memory. */
struct mbt_flow *mbt_flow_new(const struct mbt_model *m, const struct mbt_flow_group *spec,
                              int ng, int threads, double item_flops);
/* Wait until no copy of @p f's items runs (a late copy uses its thread's scratch). */
void mbt_flow_wait(struct mbt_flow *f);
/* Free @p f once no copy of its items runs and no pool worker looks at it. */
void mbt_flow_free(struct mbt_flow *f);
int mbt_flow_items(const struct mbt_flow *f);
const struct mbt_flow_item *mbt_flow_item(const struct mbt_flow *f, int i);
/* Run every item on @p threads threads: @p fn(ctx, item, thread, claim), with thread in
 * 0 .. threads - 1 (for per-thread scratch); once each, but for backup copies of the copyable
 * items a thread holds too long.  Returns when every item is done (a late copy may still run:
 * see net/flow.c for why that is safe). */
void mbt_flow_run(struct mbt_flow *f, int threads, mbt_flow_fn fn, void *ctx);
/* Backup copies run so far, by every flow in the process. */
long mbt_flow_copies(void);
/* For the tests: the thread on @p slot sleeps @p ns before every @p every-th item it runs, as
 * one that loses its core would (every = 0: never).  Set it between runs. */
void mbt_flow_delay(int slot, long every, double ns);

/* A network on the roofline, printed (net/place.c: above the roofline, it names the layers). */

/* The table of where every layer of @p m sits on @p p at @p threads threads, alone and in the
 * network, after the ridge points; then the memory-bound count and the network's bound.
 * @p name names the profile. */
void mbt_roofline_print_model(const struct mbt_profile *p, const char *name,
                              const struct mbt_model *m, int threads, FILE *out);
/* 1 when layer @p i of @p m, timed at @p ns inside the network, beat its ceiling there beyond
 * the noise: that ceiling is marked suspect in @p p (*marked, when given, counts the marks
 * that changed). */
int mbt_roofline_beaten(struct mbt_profile *p, const struct mbt_model *m, int i, int threads,
                        const char *variant, double ns, int *marked);

/* A layer's time inside the network (0: not timed) and what ran it. */
struct mbt_layer_time {
  double ns;
  const char *variant; /* its name, or "-" */
  const char *mark;    /* printed after it ("" when none) */
};
/* A line per layer of @p m on @p out (none when NULL): its placement on @p p at @p threads
 * threads and what it achieved at @p lt[i].ns; a layer that beat its ceiling marks it
 * suspect (mbt_roofline_beaten).  @return the marks that changed; *memory_bound gets the
 * layers memory-bound in the network. */
int mbt_roofline_print_timed(struct mbt_profile *p, const struct mbt_model *m, int threads,
                             const struct mbt_layer_time *lt, FILE *out, int *memory_bound);

/* Beyond the public API: a weight file's tensors (weights.c), fusion by hand and counters
 * (engine.c), and what the CLI prints and names (run.c). */
/* @return the tensor called @p name, or NULL. */
const struct mbt_tensor *mbt_weights_find(const struct mbt_weights *w, const char *name);
/* 1 when layer @p i of @p m is a depthwise layer whose output only layer i + 1 (pointwise)
 * reads: the two can run fused in strips. */
int mbt_pair_fusable(const struct mbt_model *m, int i);
/* 1 when layer @p i is a pointwise layer or a full convolution whose output only layer i + 1
 * reads and layers i + 1, i + 2 are a fusable pair: the three can run as one block (expand or
 * stem, depthwise, project). */
int mbt_block_fusable(const struct mbt_model *m, int i);
/* The most depthwise rows per strip a fused pair or block runs (the CLI's --fuse, a plan's
 * fused[rows=N]); more is refused. */
#define MBT_FUSE_ROWS_MAX 64
/* Fuse layers i and i + 1, @p rows depthwise rows per strip (0 = run them apart; at most
 * MBT_FUSE_ROWS_MAX). */
enum mbt_status mbt_engine_fuse(mbt_engine_t e, int i, int rows);
/* Ask for layers i to i + 2 to run as one block of @p rows depthwise rows per strip (0 = not);
 * requests run left to right, and one that overlaps an earlier block is left out. */
enum mbt_status mbt_engine_block(mbt_engine_t e, int i, int rows);
/* Read the hardware counters around every layer of the following runs (@p on = 1) or not.
 * @return 1 when counting (the counter component has events), else 0. */
int mbt_engine_count(mbt_engine_t e, int on);
/* The counts of layer @p i in the last run (a fused group's on its first layer), in the order
 * of the counter component's events; NULL when @p i is out of range. */
const long long *mbt_engine_layer_counts(mbt_engine_t e, int i);
/* Run every fusable pair and block of the engine's network fused, @p rows depthwise rows per
 * strip (0: none fused), whatever the plan chose. */
enum mbt_status mbt_engine_fuse_all(mbt_engine_t e, int rows);
/* @return 1 when some layer of @p e runs a variant whose name contains @p text (the engine
 * forces one wherever one applies: 0 says that no layer of the network has one). */
int mbt_engine_uses(mbt_engine_t e, const char *text);

/* What a timed run found, as 'mobitune run' reports it. */
struct mbt_run_result {
  const struct mbt_model *model;
  int batch, threads, runs;
  struct mbt_run_stats stats;
  double gflops;
  const char *weights, *image;     /* the files run on (NULL: seeded weights, input) */
  const float *prob;               /* class probabilities */
  const int *top;                  /* the top classes (mbt_topk), ntop of them */
  int ntop;
  const struct mbt_labels *labels; /* or NULL */
  const float *logits;             /* classes of them */
  const struct mbt_verify *verify; /* or NULL: not verified */
  const char *schedule;            /* "auto", "layers" or "flow" (several threads) */
  long layer_runs, flow_runs;      /* the runs each schedule took */
};
/* @p r as one line of JSON (strings made valid UTF-8: U+FFFD for a byte that is not). */
void mbt_run_print_json(const struct mbt_run_result *r, FILE *out);

/* DIR/e2e-NET-ALPHA-RES-tTHREADS.json: where 'bench --e2e' saves the end-to-end results of
 * @p m at @p threads threads in the data directory @p dir, and where the report reads them. */
void mbt_e2e_path(const char *dir, const struct mbt_model *m, int threads, char *buf, size_t n);

#endif
