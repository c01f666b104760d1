/* plan/merge.c -- importing and merging plan files into the store, keeping aside a store that
 * cannot be read, and counting what a tune changed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "plan/merge.h"

enum mbt_status mbt_plan_merge_files(const char *const *files, int n, int faster,
                                     const struct mbt_machine *m, struct mbt_plan *pl) {
  enum mbt_status st = MBT_OK;
  mbt_plan_init(pl, m);
  for (int f = 0; f < n && st == MBT_OK; f++) {
    struct mbt_plan one;
    if ((st = mbt_plan_load(files[f], m, &one)) != MBT_OK) break;
    for (int i = 0; i < one.n && st == MBT_OK; i++) {
      const struct mbt_choice *had = mbt_plan_find(pl, one.v[i].key);
      if (!had || !faster || one.v[i].ns < had->ns) st = mbt_plan_put(pl, &one.v[i]);
    }
    mbt_plan_free(&one);
  }
  if (st != MBT_OK) mbt_plan_free(pl);
  return st;
}

/* 1 when @p path is there but not a regular file (said on @p log); one that cannot be looked
 * at is left to the load to name. */
static int refused(const char *path, const char *who, FILE *log) {
  if (mbt_replaceable(path) != MBT_EINVAL) return 0;
  fprintf(log, "%s: %s\n", who, mbt_last_error());
  return 1;
}

/* The store @p path, which failed to load, is renamed PATH.rejected (a regular file only, over
 * no special file).  0 on success. */
static int keep_aside(const char *path, const char *who, FILE *log) {
  char keep[4200];
  snprintf(keep, sizeof keep, "%s.rejected", path);
  fprintf(log, "%s: %s\n", who, mbt_last_error());
  if (refused(path, who, log) || refused(keep, who, log)) return 1;
  fprintf(log, "%s: keeping the old file as %s and starting a new plan\n", who, keep);
  if (rename(path, keep) != 0) {
    fprintf(log, "%s: cannot move %s aside: %s\n", who, path, strerror(errno));
    return 1;
  }
  return 0;
}

int mbt_plan_store_open(const char *path, const struct mbt_machine *m, struct mbt_plan *pl,
                        const char *who, FILE *log, enum mbt_status *st) {
  mbt_plan_init(pl, m);
  *st = MBT_OK;
  if (refused(path, who, log)) return 1; /* not even read: a FIFO would block */
  *st = mbt_plan_load(path, m, pl);
  if (*st != MBT_EPARSE && *st != MBT_EMISMATCH) return 0;
  *st = MBT_OK;
  return keep_aside(path, who, log);
}

int mbt_plan_changed(const struct mbt_plan *pl, const struct mbt_choice *old, int n) {
  int changed = 0;
  for (int i = 0; i < pl->n; i++) {
    int same = 0;
    for (int k = 0; old && k < n && !same; k++)
      same = !strcmp(old[k].key, pl->v[i].key) && old[k].ns == pl->v[i].ns &&
             old[k].effort == pl->v[i].effort && !strcmp(old[k].variant, pl->v[i].variant);
    changed += !same;
  }
  return changed;
}
