/* fuzz/fuzz-profile.c -- libFuzzer harness for the machine-profile loader (mbt_profile_load):
 * any input is refused or loaded, never a crash, a sanitizer report or a leak; a profile that
 * loads is summarized and printed (to /dev/null) as 'mobitune roofline --show' would. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include "fuzz/fuzz-common.h"
#include "include/mobitune.h"
#include "roofline/roofline.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *null;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  if (!(null = fopen("/dev/null", "w"))) fuzz_die("cannot open /dev/null");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_write("profile.json", data, size);
  static struct mbt_profile p; /* large: not on the stack */
  const enum mbt_status st = mbt_profile_load(path, &p);
  fuzz_verdict("fuzz-profile", st);
  if (st == MBT_OK) {
    if (p.npeaks < 0 || p.npeaks > MBT_MAX_PEAKS || p.ncurves < 0 || p.ncurves > MBT_MAX_CURVES ||
        p.nlevels < 0 || p.nlevels > MBT_MAX_LEVELS || p.nwarnings < 0 ||
        p.nwarnings > MBT_MAX_WARNINGS)
      fuzz_die("a loaded profile has counts out of range");
    mbt_profile_print(&p, null);
    (void)mbt_profile_best_peak(&p, 1);
    (void)mbt_profile_best_peak(&p, p.threads);
  }
  return 0;
}
