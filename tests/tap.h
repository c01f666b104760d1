/* tests/tap.h -- a minimal Test Anything Protocol emitter for automake's TAP driver.
 * ok() prints one result line; plan_lazy() defers "1..N" to done(); the seed of the shared
 * generator is printed and may be replayed with MBT_TEST_SEED. */
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
  printf("1..%d\n", tap_n);
  return tap_failed ? 1 : 0;
}

static inline unsigned long long test_seed(void) {
  const char *s = getenv("MBT_TEST_SEED");
  unsigned long long seed = s ? strtoull(s, NULL, 0) : 20261122ull;
  printf("# seed %llu (replay with MBT_TEST_SEED=%llu)\n", seed, seed);
  return seed;
}

#endif
