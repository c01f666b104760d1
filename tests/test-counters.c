/* tests/test-counters.c -- the counter path, end to end: MBT_EVENTS names a PAPI event, the
 * component starts, stops and reads it, the tuner's timing loop (mbt_measure) reads it around
 * every repetition, and the tuner keeps a count per candidate.  The event is perf::TASK-CLOCK, a
 * Linux software event (task time in ns) that PAPI's perf_event component counts even in VMs
 * without hardware counters, so the plumbing is exercised here; where PAPI cannot count it (no
 * PAPI, perf_event_paranoid, no perf_event component) the test is skipped with the reason.
 *
 * Only the plumbing is checked, never the speed: no count is compared with the wall clock or
 * with a rate (a loaded machine stretches the wall clock, and a core shared with another tenant
 * stretches task time).  Counts are compared only with counts of the same work in the same
 * process, in the direction that load cannot reverse: four times the work counts more than the
 * least of three runs of it, with a factor of 4 to spare. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "machine/counters.h"
#include "machine/machine.h"
#include "net/net.h"
#include "tests/tap.h"
#include "tuner/tuner.h"

#define UNTOUCHED (-123456789LL)

/* The component's count of @p calls calls of @p v on @p x (its first event), or -1 when start or
 * stop fails.  The values past the component's events must stay as they were: *stray is set
 * when stop wrote more counts than the events it names. */
static long long count_calls(const struct mbt_counters *c, const struct mbt_variant *v,
                             const struct mbt_exec *x, long calls, int *stray) {
  long long val[MBT_MAX_EVENTS + 2];
  for (int k = 0; k < MBT_MAX_EVENTS + 2; k++) val[k] = UNTOUCHED;
  if (c->start() != 0) return -1;
  for (long i = 0; i < calls; i++) mbt_run_rows(v, x, 1);
  if (c->stop(val) != 0) return -1;
  for (int k = c->nevents; k < MBT_MAX_EVENTS + 2; k++) *stray |= val[k] != UNTOUCHED;
  return val[0] == UNTOUCHED ? -1 : val[0];
}

int main(void) {
  /* What counts say about the roofline, on fixed numbers (no machine needed). */
  const char *ev[] = {"PAPI_TOT_CYC", "PAPI_L2_TCM", "PAPI_SP_OPS", "PAPI_L3_TCM"};
  const long long cnt[] = {1000, 500, 4096, 16};
  double fl = 0, by = 0;
  int got = mbt_counters_roofline(ev, cnt, 4, 64, &fl, &by);
  ok(got && fl == 4096 && by == 1024, "FLOPs from PAPI_SP_OPS, bytes from L3 misses x 64: "
     "I = %.0f FLOP/B", by > 0 ? fl / by : 0);
  got = mbt_counters_roofline(ev, cnt, 3, 64, &fl, &by);
  ok(got && by == 32000, "no L3 event: bytes from L2 misses (%.0f)", by);
  got = mbt_counters_roofline(ev, cnt, 2, 64, &fl, &by);
  ok(!got, "no FLOP event: nothing measured");
  setenv("MBT_EVENTS", "perf::TASK-CLOCK", 1);
  char note[192];
  if (!mbt_counters_probe(note, sizeof note)) {
    skip("the counter path (component, timing loop) counts perf::TASK-CLOCK", note);
    return done();
  }
  const struct mbt_counters *c = mbt_counters_get();
  ok(c->nevents == 1 && !strcmp(c->events[0], "perf::TASK-CLOCK") && c->start && c->stop,
     "the component counts %s (%s)", c->nevents ? c->events[0] : "nothing", note);
  struct mbt_layer l;
  memset(&l, 0, sizeof l);
  l.op = MBT_OP_PWCONV, l.ih = l.oh = l.iw = l.ow = 14, l.ic = 64, l.oc = 64, l.k = l.stride = 1;
  l.res = -2, l.act = MBT_ACT_RELU6, l.params = 64.0 * 64;
  struct mbt_layer_bufs b;
  if (mbt_layer_bufs_alloc(&l, 1, &b) != MBT_OK) skip_all("cannot allocate the layer");
  const struct mbt_variant *v = mbt_registry_find("ref/mbt_f32_pwconv_ref", &b.x.s);
  if (!v) skip_all("no reference pointwise variant");

  /* The component around a loop of calls: a call count whose run counts some 2 ms of task time
   * (found by the counts themselves, not by a clock), then 4x that work, then three runs of it.
   * The 4x run comes first, so that a counter never reset by start would fail the comparison. */
  int stray = 0;
  mbt_run_rows(v, &b.x, 1); /* warm-up: pages, caches */
  long n = 1;
  long long first = count_calls(c, v, &b.x, n, &stray);
  while (first >= 0 && first < 2000000 && n < 256) first = count_calls(c, v, &b.x, n *= 2, &stray);
  const long long four = count_calls(c, v, &b.x, 4 * n, &stray);
  long long least = -1;
  int failed = first < 0 || four < 0;
  for (int r = 0; r < 3; r++) {
    const long long one = count_calls(c, v, &b.x, n, &stray);
    failed |= one < 0;
    if (one >= 0 && (least < 0 || one < least)) least = one;
  }
  ok(!failed && !stray && first > 0 && four > 0 && least > 0,
     "start and stop around %ld calls read one non-zero count (%lld), and no more counts than "
     "events", n, first);
  ok(!failed && four > least, "more work counts more: %lld for %ld calls, against the least of "
     "three runs of %ld calls, %lld", four, 4 * n, n, least);

  /* The tuner's timing loop reads the component around every repetition and keeps the median
   * repetition's count per call. */
  struct mbt_timing t;
  mbt_measure(v, &b.x, 1, 5.0, 5, &t);
  ok(t.ncounters == 1 && t.counters[0] > 0 && t.reps == 5 && t.iters >= 1,
     "mbt_measure reads %d count(s) around its %d repetitions of %ld calls: %lld per call",
     t.ncounters, t.reps, t.iters, t.ncounters ? t.counters[0] : 0);
  mbt_layer_bufs_free(&b);

  /* In the network: the tuner reads the counters around every layer run and keeps, per
   * candidate, the median count beside the median time. */
  if (getenv("MBT_RUNNER") && *getenv("MBT_RUNNER")) {
    skip("counts per candidate in the tuner's network runs", "tuning under an emulator is slow");
    return done();
  }
  struct mbt_machine m;
  mbt_machine_detect(&m);
  struct mbt_model model;
  struct mbt_plan pl;
  mbt_model_build(MBT_NET_V1, 0.25, 64, &model);
  mbt_plan_init(&pl, &m);
  struct mbt_tune_opts o;
  memset(&o, 0, sizeof o);
  /* forced: on a busy machine (a parallel make check) the tune keeps its figures, marked,
   * rather than refusing with MBT_EBUSY, which made this test depend on a quiet machine */
  o.reps = 3, o.quick = 1, o.effort = MBT_MEASURE, o.force = 1;
  const enum mbt_status st = mbt_tune(&m, &model, &o, &pl);
  int counted = 0, timed = 0, named = 1;
  for (int i = 0; i < pl.n; i++)
    for (int j = 0; j < pl.v[i].ncand; j++) {
      const struct mbt_cand *d = &pl.v[i].cand[j];
      if (d->out != MBT_CAND_TIMED || d->ns <= 0 || !strncmp(d->variant, "unfused", 7) ||
          !strncmp(d->variant, "fused", 5))
        continue;
      timed++;
      named &= pl.v[i].nevents == 1 && !strcmp(pl.v[i].events[0], "perf::TASK-CLOCK");
      counted += d->counts[0] > 0;
    }
  ok(st == MBT_OK && timed > 10 && counted == timed && named,
     "every timed candidate of the tuning has a perf::TASK-CLOCK count (%d of %d; tune: %s)",
     counted, timed, st == MBT_OK ? "ok" : mbt_last_error());
  mbt_plan_free(&pl);
  mbt_model_free(&model);
  return done();
}
