/* plan/plan.h -- the plan floor: problem keys, plan entries, fusion groups.  It sits above the
 * networks (net/) and below the tuner; it is the one place that turns layers into the keys a
 * plan stores its entries under, and plan entries back into what an engine runs. */
#ifndef MBT_PLAN_H
#define MBT_PLAN_H

#include <stddef.h>

#include "include/mobitune.h"
#include "plan/store.h"

struct mbt_engine_setup; /* net/net.h: what an engine runs (mbt_plan_setup fills it) */

/* ------------------------------------------------------------------ problems */

/* What a problem key names: one layer, a depthwise + pointwise pair or a pointwise + depthwise
 * + pointwise block (both run fused in strips), or a whole network (the check after a tune). */
enum mbt_problem_kind { MBT_PROBLEM_LAYER, MBT_PROBLEM_PAIR, MBT_PROBLEM_BLOCK, MBT_PROBLEM_NET };

/* A problem: the fields its key holds and no others (the rest stay 0), zeroed before they are
 * set, so that two problems are the same exactly when their bytes are (mbt_problem_same). */
struct mbt_problem {
  enum mbt_problem_kind kind;
  enum mbt_op op;          /* LAYER: the layer's op (MBT_OP_FC for any op without a form) */
  int h, w;                /* input rows and columns of the first layer */
  int ic, c, oc;           /* input channels, depthwise channels, output channels */
  int k, stride;           /* the kernel of the (depthwise) layer */
  int k0, stride0;         /* a block whose first layer is a full convolution: its kernel */
  enum mbt_act act[3];     /* the activations of the layers, in order */
  int residual;            /* 1: the last layer adds a residual */
  char net[48];            /* NET: the network (mbt_model_id), width multiplier, resolution */
  double alpha;
  int res;
  int threads;             /* the thread count it is tuned at (1: a key without " t=N") */
};

/* The problem of layer @p l at @p threads threads. */
void mbt_problem_layer(const struct mbt_layer *l, int threads, struct mbt_problem *p);
/* The problem of the @p len layers of @p m from layer @p i: 1 the layer, 2 the pair, 3 the
 * block (whether they can run fused is the caller's: mbt_pair_fusable, mbt_block_fusable). */
void mbt_problem_group(const struct mbt_model *m, int i, int len, int threads,
                       struct mbt_problem *p);
/* The problem of the whole network @p m at @p threads threads (the key of its check). */
void mbt_problem_net(const struct mbt_model *m, int threads, struct mbt_problem *p);
/* The key of @p p, as plans store it: "dwconv h=112 w=112 c=32 k=3 s=1 act=relu6 t=2".  The
 * one printer of keys. */
void mbt_problem_key(const struct mbt_problem *p, char *buf, size_t n);
/* The problem of @p key: the one parser of keys.  Only what mbt_problem_key prints is taken
 * (the key printed again must be the same bytes); MBT_EPARSE, saying why, on anything else. */
enum mbt_status mbt_problem_parse(const char *key, struct mbt_problem *p);
/* 1 when @p a and @p b are the same problem. */
int mbt_problem_same(const struct mbt_problem *a, const struct mbt_problem *b);

/* The plan key of a fusable pair (one thread). */
void mbt_pair_key(const struct mbt_layer *dw, const struct mbt_layer *pw, char *buf, size_t n);
/* The plan key of a fusable block (one thread). */
void mbt_block_key(const struct mbt_layer *ex, const struct mbt_layer *dw,
                   const struct mbt_layer *pw, char *buf, size_t n);
/* 1 when an earlier layer of @p m has the same problem as layer @p i (it shares that layer's
 * measurements). */
int mbt_layer_repeats(const struct mbt_model *m, int i);

/* A decimal integer in [lo, hi] and nothing after it (no leading space): 1 with *out set. */
int mbt_plan_int(const char *v, long long lo, long long hi, long long *out);

/* ------------------------------------------------------------------ plan entries */

/* The entry for @p p: the one tuned at its thread count, else the one-thread entry; NULL when
 * the plan (which may be NULL) has neither. */
/* The entry tuned for @p p at exactly its thread count; NULL when there is none. */
const struct mbt_choice *mbt_plan_exact(const struct mbt_plan *pl, const struct mbt_problem *p);
const struct mbt_choice *mbt_plan_entry(const struct mbt_plan *pl, const struct mbt_problem *p);

/* The variant name of a pair's or block's choice: "fused[rows=R]", "unfused" for 0 rows.  The
 * one printer of that name. */
void mbt_rows_name(int rows, char *buf, size_t n);
/* The rows of such a name: 1 for "fused[rows=R]" with R in 0..MBT_FUSE_ROWS_MAX (and *rows =
 * R), 0 for a name that does not start "fused[" (*rows = 0), -1 for a malformed "fused[...".
 * The one parser of that name. */
int mbt_rows_parse(const char *variant, int *rows);

/* ------------------------------------------------------------------ fusion groups */

/* The kinds of group a walk visits (mbt_groups_begin). */
#define MBT_GROUP_LAYER 1u
#define MBT_GROUP_PAIR 2u
#define MBT_GROUP_BLOCK 4u
#define MBT_GROUP_FUSED (MBT_GROUP_PAIR | MBT_GROUP_BLOCK)
#define MBT_GROUP_ALL (MBT_GROUP_LAYER | MBT_GROUP_FUSED)

/* One group of a model's layers that has a plan entry of its own. */
struct mbt_group {
  int first, len;          /* layers first .. first + len - 1: 1 a layer, 2 a pair, 3 a block */
  struct mbt_problem p;    /* its problem at the walk's thread count */
  char key[96];            /* p's key (mbt_problem_key) */
};

/* A walk over the groups of a model: at each layer i, in this order, the layer, the pair from
 * i when it is fusable (mbt_pair_fusable), the block from i when it is (mbt_block_fusable).
 * Overlapping groups are all visited: which of them run is the plan's decision
 * (mbt_plan_fusion), and the engine runs blocks left to right before pairs. */
struct mbt_groups {
  const struct mbt_model *m;
  unsigned kinds;
  int threads, i, len;
};
/*   struct mbt_groups it;
 *   struct mbt_group g;
 *   for (mbt_groups_begin(&it, model, MBT_GROUP_FUSED, threads); mbt_groups_next(&it, &g);)
 *     ... g.first, g.len, g.key ... */
void mbt_groups_begin(struct mbt_groups *it, const struct mbt_model *m, unsigned kinds,
                      int threads);
/* The next group into @p g: 1, or 0 at the end. */
int mbt_groups_next(struct mbt_groups *it, struct mbt_group *g);

/* ------------------------------------------------------------------ plans into engines */

/* The plan's fusion decisions for @p m at @p threads threads: fuse[i] (pairs) and block[i]
 * (blocks) get the rows of the entry of the group from layer i, 0 where it runs apart or has
 * no entry; @p pl may be NULL (nothing fused).  MBT_EPARSE, naming the entry, for a variant
 * that is not fused[rows=N] with N in 0..MBT_FUSE_ROWS_MAX (then nothing is fused). */
enum mbt_status mbt_plan_fusion(const struct mbt_plan *pl, const struct mbt_model *m, int threads,
                                int *fuse, int *block);
/* What the plan says for every layer of @p m at @p threads threads: the variant of its entry
 * where the registry has it for the layer (else NULL: the default), and the fusion decisions
 * (mbt_plan_fusion, whose status it returns; the variants are set whatever it says). */
enum mbt_status mbt_plan_setup(const struct mbt_plan *pl, const struct mbt_model *m, int threads,
                               struct mbt_engine_setup *s);

#endif
