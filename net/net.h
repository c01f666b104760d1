/* net/net.h -- engine internals shared with the tuner, benchmarks and tests. */
#ifndef MBT_NET_H
#define MBT_NET_H

#include "common/common.h"
#include "kernels/kernels.h"

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
/* 1 when an earlier layer of @p m has the same problem key as layer @p i (it shares that
 * layer's measurements). */
int mbt_layer_repeats(const struct mbt_model *m, int i);
/* The plan key of a fusable pair. */
void mbt_pair_key(const struct mbt_layer *dw, const struct mbt_layer *pw, char *buf, size_t n);
/* The plan key of a fusable block. */
void mbt_block_key(const struct mbt_layer *ex, const struct mbt_layer *dw,
                   const struct mbt_layer *pw, char *buf, size_t n);
/* The rows of the block that runs from layer @p i (0 = none). */
int mbt_engine_block_runs(mbt_engine_t e, int i);
/* Run problem x->s with @p v on @p threads threads (a grid of row parts x channel parts). */
void mbt_run_rows(const struct mbt_variant *v, const struct mbt_exec *x, int threads);
/* The grid for @p rows rows and @p units channel units on @p threads threads: *rp row parts x
 * *cp channel parts (cp = 1 unless @p by_channel), the one whose busiest thread has the least
 * work; at equal balance, fewer channel parts. */
void mbt_split_2d(int rows, int units, int threads, int by_channel, int *rp, int *cp);

#endif
