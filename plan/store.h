/* plan/store.h -- the plan floor's entries as a program's plan holds them: finding and putting
 * choices and checks under their keys, the limits a loader enforces, the names of outcomes.
 * Apart from plan/plan.h (which includes it) so that the report, which reads saved plans, sees
 * the plan without the engine and kernels that plan/plan.h brings in. */
#ifndef MBT_PLAN_STORE_H
#define MBT_PLAN_STORE_H

#include <stddef.h>

#include "include/mobitune.h"

/* ------------------------------------------------------------------ entries */

/* @return the choice for @p key, or NULL. */
const struct mbt_choice *mbt_plan_find(const struct mbt_plan *pl, const char *key);
/* Add or replace a choice. */
enum mbt_status mbt_plan_put(struct mbt_plan *pl, const struct mbt_choice *c);
/* The problem key of a layer at one thread (shape, stride, activation; names excluded). */
void mbt_layer_key(const struct mbt_layer *l, char *buf, size_t n);
/* @p key as stored for a plan tuned at @p threads threads (" t=N" appended when N > 1). */
void mbt_key_threads(const char *key, int threads, char *buf, size_t n);

/* Limits on a plan's values (README, "Plan format"): times in ns at most MBT_PLAN_NS_MAX (an
 * entry's own time at least MBT_PLAN_NS_MIN: the file keeps tenths of a ns, so a smaller one
 * would be written as 0, which no plan may hold), spreads in [0, MBT_PLAN_SPREAD_MAX] (a
 * candidate stopped early can spread over 1000x its median); a loader refuses more. */
#define MBT_PLAN_NS_MAX 1e12
#define MBT_PLAN_NS_MIN 0.05
#define MBT_PLAN_SPREAD_MAX 1e6

/* @return the word a plan stores for outcome @p out (enum mbt_cand_out): "timed", "limit",
 * "screen" or "roofline" ("timed" for any other value). */
const char *mbt_cand_out_name(int out);
/* @return what outcome @p out says, for people: "timed", "over the time limit", "screened
 * out (alone)" or "roofline bound cannot win". */
const char *mbt_cand_out_text(int out);

/* ------------------------------------------------------------------ checks */

/* "net NAME alpha=A res=R" with " t=N" for @p threads > 1: the key of a check. */
void mbt_check_key(const struct mbt_model *m, int threads, char *buf, size_t n);
/* @return the check stored under @p key, or NULL. */
const struct mbt_check *mbt_plan_check(const struct mbt_plan *pl, const char *key);
/* Add or replace the check of its key. */
enum mbt_status mbt_plan_put_check(struct mbt_plan *pl, const struct mbt_check *c);
/* @return "faster", "fallback" or "slower" (enum mbt_check_out). */
const char *mbt_check_out_name(int outcome);

#endif
