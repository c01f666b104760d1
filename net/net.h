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
                   MBT_KACT_HSIGMOID == (int)MBT_ACT_HSIGMOID,
               "enum mbt_kact and enum mbt_act differ");

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
};
/* Which fused groups run, as the engine walks the layers left to right: at a layer not yet run,
 * the block asked for there (block[i] > 0) when no block taken before overlaps it, else the
 * pair (fuse[i] > 0), else the layer alone.  @p runs[i] gets 3 (a block runs from layer i), 2
 * (a pair) or 0, for the @p n layers. */
void mbt_fusion_runs(int n, const int *fuse, const int *block, int *runs);
/* An engine for @p model with seeded weights, set up as @p s says (NULL: the default).  With
 * @p force, a layer where a variant's name contains it runs that variant, and nothing is
 * fused. */
enum mbt_status mbt_engine_new(const struct mbt_model *model, const struct mbt_engine_setup *s,
                               const char *force, uint64_t seed, mbt_engine_t *out);
/* Run as @p s says from now on: every layer's variant (NULL: the default) and the fusion. */
enum mbt_status mbt_engine_configure(mbt_engine_t e, const struct mbt_engine_setup *s);
/* The threads each layer runs on (mbt_engine_set_threads). */
int mbt_engine_threads(mbt_engine_t e);
/* The rows of the block that runs from layer @p i (0 = none). */
int mbt_engine_block_runs(mbt_engine_t e, int i);
/* Run problem x->s with @p v on @p threads threads (a grid of row parts x channel parts). */
void mbt_run_rows(const struct mbt_variant *v, const struct mbt_exec *x, int threads);
/* The grid for @p rows rows and @p units channel units on @p threads threads: *rp row parts x
 * *cp channel parts (cp = 1 unless @p by_channel), the one whose busiest thread has the least
 * work; at equal balance, fewer channel parts. */
void mbt_split_2d(int rows, int units, int threads, int by_channel, int *rp, int *cp);

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
                        double ns, int *marked);
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

#endif
