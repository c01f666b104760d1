/* tests/tap.h -- a minimal Test Anything Protocol emitter for automake's TAP driver.
 * ok() prints one result line; done() prints the plan "1..N" last; the seed of the shared
 * generator is printed and may be replayed with MBT_TEST_SEED.
 *
 * A program that printed its results exits 0 even when some are "not ok": the driver counts each
 * of those as a FAIL (and make check fails on it), and a non-zero exit status would be counted
 * once more as an ERROR.  An ERROR is left to what the results cannot say: a crash (signal or
 * exit before the plan), a missing plan or a wrong number of results, a "Bail out!". */
#ifndef MBT_TAP_H
#define MBT_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

static inline int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int ok(int cond, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  if (!cond) tap_failed++;
  fflush(stdout);
  return cond;
}

static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("# ");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
}

static inline void skip_all(const char *why) {
  printf("1..0 # SKIP %s\n", why);
  exit(0);
}

/* A result that did not run here, with the reason (TAP "# SKIP"). */
static inline void skip(const char *what, const char *why) {
  printf("ok %d - %s # SKIP %s\n", ++tap_n, what, why);
  fflush(stdout);
}

static inline int done(void) {
  if (tap_failed) printf("# %d of %d failed\n", tap_failed, tap_n);
  printf("1..%d\n", tap_n);
  fflush(stdout);
  return 0; /* the "not ok" lines already are the failures (see above) */
}

static inline unsigned long long test_seed(void) {
  const char *s = getenv("MBT_TEST_SEED");
  unsigned long long seed = s ? strtoull(s, NULL, 0) : 20261122ull;
  printf("# seed %llu (replay with MBT_TEST_SEED=%llu)\n", seed, seed);
  return seed;
}

#endif
