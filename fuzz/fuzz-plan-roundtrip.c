/* fuzz/fuzz-plan-roundtrip.c -- libFuzzer harness for the plan writer: an input that loads is
 * saved (mbt_plan_save), loaded again and compared entry by entry with what was loaded first
 * (the figures to the precision the format writes them), and saved again: the second file
 * must be byte for byte the first.  A plan that loads and cannot be written, or whose written
 * text does not load back as the same plan, is a failure (abort). */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <math.h>

#include "fuzz/fuzz-common.h"
#include "fuzz/fuzz-plan-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *what; /* the field that differs */

/* Equal to @p tol, the half unit of the last digit written (both NaN, or the same infinity). */
static int same(double a, double b, double tol, const char *field) {
  if (isnan(a) && isnan(b)) return 1;
  if (a == b || fabs(a - b) <= tol + 1e-12 * fabs(a)) return 1;
  what = field;
  return 0;
}

static int same_str(const char *a, const char *b, const char *field) {
  if (!strcmp(a, b)) return 1;
  what = field;
  return 0;
}

static int same_cand(const struct mbt_cand *a, const struct mbt_cand *b, int nevents) {
  int ok = same_str(a->variant, b->variant, "cand variant") && same(a->ns, b->ns, 0.05, "cand ns") &&
           same(a->spread, b->spread, 5e-5, "cand spread") &&
           same(a->alone_ns, b->alone_ns, 0.05, "cand alone_ns") &&
           same(a->bound_ns, b->bound_ns, 0.05, "cand bound_ns");
  if (ok && a->out != b->out) what = "cand out", ok = 0;
  for (int k = 0; ok && k < nevents; k++)
    if (a->counts[k] != b->counts[k]) what = "cand counts", ok = 0;
  return ok;
}

static int same_choice(const struct mbt_choice *a, const struct mbt_choice *b) {
  int ok = same_str(a->key, b->key, "key") && same_str(a->variant, b->variant, "variant") &&
           same_str(a->runner_up, b->runner_up, "runner_up") && same(a->ns, b->ns, 0.05, "ns") &&
           same(a->spread, b->spread, 5e-5, "spread") && same(a->ref_ns, b->ref_ns, 0.05, "ref_ns") &&
           same(a->runner_up_ns, b->runner_up_ns, 0.05, "runner_up_ns");
  if (ok && (a->tie != b->tie || a->effort != b->effort || a->cold != b->cold ||
             a->busy != b->busy || a->fallback != b->fallback))
    what = "flags (tie, effort, cold, busy, fallback)", ok = 0;
  if (ok && (a->nevents != b->nevents || a->ncand != b->ncand)) what = "event or candidate count", ok = 0;
  for (int k = 0; ok && k < a->nevents; k++) ok = same_str(a->events[k], b->events[k], "events");
  for (int j = 0; ok && j < a->ncand; j++) ok = same_cand(&a->cand[j], &b->cand[j], a->nevents);
  return ok;
}

static int same_check(const struct mbt_check *a, const struct mbt_check *b) {
  int ok = same_str(a->key, b->key, "check key") && same_str(a->fixed, b->fixed, "check fixed") &&
           same(a->tuned_ns, b->tuned_ns, 0.05, "check tuned_ns") &&
           same(a->default_ns, b->default_ns, 0.05, "check default_ns") &&
           same(a->fixed_ns, b->fixed_ns, 0.05, "check fixed_ns") &&
           same(a->spread, b->spread, 5e-5, "check spread");
  if (ok && (a->rounds != b->rounds || a->fallbacks != b->fallbacks ||
             a->busy_passes != b->busy_passes || a->passes != b->passes ||
             a->outcome != b->outcome || a->busy != b->busy || a->retaken != b->retaken ||
             a->disturbed != b->disturbed))
    what = "check counts", ok = 0;
  return ok;
}

static int same_plan(const struct mbt_plan *a, const struct mbt_plan *b) {
  if (a->n != b->n || a->nchecks != b->nchecks) return what = "entry or check count", 0;
  if (!same_str(a->fingerprint, b->fingerprint, "fingerprint") ||
      !same_str(a->registry, b->registry, "registry"))
    return 0;
  for (int i = 0; i < a->n; i++)
    if (!same_choice(&a->v[i], &b->v[i])) return 0;
  for (int i = 0; i < a->nchecks; i++)
    if (!same_check(&a->checks[i], &b->checks[i])) return 0;
  return 1;
}

/* Abort with the reason and the text written. */
static void round_trip_failed(const char *why, const char *saved) {
  size_t n = 0;
  char *text = fuzz_slurp(saved, &n);
  fprintf(stderr, "fuzz-plan-roundtrip: %s (%s)\n--- the text written:\n%.*s---\n", why,
          mbt_last_error(), (int)(n < 8192 ? n : 8192), text ? text : "");
  free(text);
  fuzz_die("the plan writer's round trip failed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct mbt_machine m;
  const char *in = fuzz_plan_input("plan.txt", data, size, &m);
  struct mbt_plan first, second, third;
  const enum mbt_status st = mbt_plan_load(in, &m, &first);
  fuzz_verdict("fuzz-plan-roundtrip", st);
  if (st != MBT_OK) {
    mbt_plan_free(&first);
    return 0;
  }
  char saved[1024], again[1024];
  snprintf(saved, sizeof saved, "%s", fuzz_path("saved.txt"));
  snprintf(again, sizeof again, "%s", fuzz_path("again.txt"));
  if (mbt_plan_save(&first, &m, saved) != MBT_OK) round_trip_failed("a loaded plan cannot be saved", saved);
  if (mbt_plan_load(saved, &m, &second) != MBT_OK) round_trip_failed("a saved plan does not load", saved);
  if (!same_plan(&first, &second)) {
    fprintf(stderr, "fuzz-plan-roundtrip: the %s differs\n", what);
    round_trip_failed("a saved plan loads as another plan", saved);
  }
  if (mbt_plan_save(&second, &m, again) != MBT_OK || mbt_plan_load(again, &m, &third) != MBT_OK)
    round_trip_failed("a plan saved twice does not load", again);
  size_t n1 = 0, n2 = 0;
  char *t1 = fuzz_slurp(saved, &n1), *t2 = fuzz_slurp(again, &n2);
  if (!t1 || !t2 || n1 != n2 || memcmp(t1, t2, n1)) round_trip_failed("saving a saved plan changes its text", again);
  free(t1);
  free(t2);
  mbt_plan_free(&first);
  mbt_plan_free(&second);
  mbt_plan_free(&third);
  if (getenv("FUZZ_VERBOSE")) fprintf(stderr, "fuzz-plan-roundtrip: saved and loaded back as itself\n");
  unlink(saved);
  unlink(again);
  return 0;
}
