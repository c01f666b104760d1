/* net/net.h -- engine internals shared with the tuner, benchmarks and tests. */
#ifndef MBT_NET_H
#define MBT_NET_H

#include "common/common.h"
#include "kernels/kernels.h"

size_t mbt_layer_weight_count(const struct mbt_layer *l);
/* 1 when layer @p l has weights and biases (not the pool or the SE product). */
int mbt_layer_has_weights(const struct mbt_layer *l);
void mbt_layer_init_weights(const struct mbt_layer *l, float *w, float *b, struct mbt_rng *r);
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
/* Run layer x->l with @p v on @p threads threads (a grid of row parts x channel parts). */
void mbt_run_rows(const struct mbt_variant *v, const struct mbt_exec *x, int threads);
/* The grid for @p rows rows and @p units channel units on @p threads threads: *rp row parts x
 * *cp channel parts (cp = 1 unless @p by_channel), the one whose busiest thread has the least
 * work; at equal balance, fewer channel parts. */
void mbt_split_2d(int rows, int units, int threads, int by_channel, int *rp, int *cp);

#endif
