/* fuzz/fuzz-plan.c -- libFuzzer harness for the plan loader (mbt_plan_load): any input is
 * refused or loaded, never a crash, a sanitizer report or a leak.  The machine and registry
 * identity are fixed up as fuzz/fuzz-plan-common.h says, so the whole parser is reachable. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include "fuzz/fuzz-common.h"
#include "fuzz/fuzz-plan-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct mbt_machine m;
  const char *path = fuzz_plan_input("plan.txt", data, size, &m);
  struct mbt_plan pl;
  const enum mbt_status st = mbt_plan_load(path, &m, &pl);
  fuzz_verdict("fuzz-plan", st);
  if (st == MBT_OK) {
    /* what a loaded plan promises its users */
    if (pl.n < 0 || pl.n > pl.cap || (pl.n && !pl.v) || pl.nchecks < 0 ||
        pl.nchecks > MBT_MAX_CHECKS)
      fuzz_die("a loaded plan has inconsistent counts");
    for (int i = 0; i < pl.n; i++) {
      const struct mbt_choice *c = &pl.v[i];
      if (!memchr(c->key, 0, sizeof c->key) || !memchr(c->variant, 0, sizeof c->variant) ||
          c->ncand < 0 || c->ncand > MBT_MAX_CANDS || c->nevents < 0 ||
          c->nevents > MBT_PLAN_EVENTS || mbt_plan_find(&pl, c->key) == NULL)
        fuzz_die("a loaded plan entry is inconsistent");
    }
  }
  mbt_plan_free(&pl);
  return 0;
}
