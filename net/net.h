/* net/net.h -- engine internals shared with the tuner, benchmarks and tests. */
#ifndef MBT_NET_H
#define MBT_NET_H

#include "common/common.h"
#include "kernels/kernels.h"

size_t mbt_layer_weight_count(const struct mbt_layer *l);
void mbt_layer_init_weights(const struct mbt_layer *l, float *w, float *b, struct mbt_rng *r);
/* The natural-layout weights and bias of layer @p i (NULL for the pool). */
void mbt_engine_weights(mbt_engine_t e, int i, const float **w, const float **b);
/* Run layer @p i with variant @p v from now on (packs its weights once per layout). */
enum mbt_status mbt_engine_use(mbt_engine_t e, int i, const struct mbt_variant *v);
void mbt_run_rows(const struct mbt_variant *v, const struct mbt_exec *x, int threads);

#endif
