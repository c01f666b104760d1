/* plan/merge.h -- the plan store's policy where plans meet: importing and merging files into
 * it, keeping aside a store that cannot be read, and what a tune changed. */
#ifndef MBT_PLAN_MERGE_H
#define MBT_PLAN_MERGE_H

#include <stdio.h>

#include "include/mobitune.h"
#include "plan/store.h"

/* Read the plans @p files[0..n) (each whole and made for @p m) into @p pl, initialised here:
 * an entry replaces one of the same problem from an earlier file always, or with @p faster only
 * when its median time is lower.  On failure @p pl is freed. */
enum mbt_status mbt_plan_merge_files(const char *const *files, int n, int faster,
                                     const struct mbt_machine *m, struct mbt_plan *pl);

/* Read the store at @p path before writing it again, into @p pl (initialised here).  Only a
 * regular file is read: anything else is refused (a FIFO would block).  A store that cannot be
 * read (corrupt, another machine's) is never destroyed: it is kept aside as PATH.rejected and
 * @p pl starts empty.  What it refuses or keeps aside is said on @p log, each line after
 * "@p who: ".  @return 1 when the store was refused or could not be kept aside (said on @p log,
 * nothing changed), else 0 with *st the load's status: MBT_OK (also when kept aside),
 * MBT_ENOTFOUND (no store yet) or another error of mbt_plan_load (not said). */
int mbt_plan_store_open(const char *path, const struct mbt_machine *m, struct mbt_plan *pl,
                        const char *who, FILE *log, enum mbt_status *st);

/* How many entries of @p pl are new or changed (time, effort or variant) against @p old[0..n):
 * what a tune measured. */
int mbt_plan_changed(const struct mbt_plan *pl, const struct mbt_choice *old, int n);

#endif
