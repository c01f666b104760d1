/* tests/test-counters.c -- the counter path, end to end: MBT_EVENTS names a PAPI event, the
 * tuner's timing loop (mbt_measure) reads it around every repetition, and the value per call
 * must agree with the clock.  The event is perf::TASK-CLOCK, a Linux software event (task time
 * in ns) that PAPI's perf_event component counts even in VMs without hardware counters, so the
 * plumbing is exercised here; where PAPI cannot count it (no PAPI, perf_event_paranoid, no
 * perf_event component) the test is skipped with the reason. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "machine/machine.h"
#include "net/net.h"
#include "tests/tap.h"
#include "tuner/counters.h"
#include "tuner/tuner.h"

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
  ok(c->nevents == 1 && !strcmp(c->events[0], "perf::TASK-CLOCK"), "the component counts %s (%s)",
     c->nevents ? c->events[0] : "nothing", note);
  struct mbt_layer l;
  memset(&l, 0, sizeof l);
  l.op = MBT_OP_PWCONV, l.ih = l.oh = l.iw = l.ow = 14, l.ic = 64, l.oc = 64, l.k = l.stride = 1;
  l.res = -2, l.act = MBT_ACT_RELU6, l.params = 64.0 * 64;
  struct mbt_layer_bufs b;
  if (mbt_layer_bufs_alloc(&l, 1, &b) != MBT_OK) skip_all("cannot allocate the layer");
  const struct mbt_variant *v = mbt_registry_find("ref/mbt_f32_pwconv_ref", &l);
  struct mbt_timing t;
  mbt_measure(v, &b.x, 1, 5.0, 5, &t);
  /* Task time cannot exceed the wall time of its repetition (1 thread), and is about the
   * least disturbed repetition's wall time (another tenant may take the core: the task
   * clock then stops while the wall clock runs on). */
  const double task = t.ncounters == 1 ? (double)t.counters[0] : 0;
  ok(t.ncounters == 1 && task >= 0.5 * t.min_ns && task <= 1.2 * t.max_ns,
     "task clock per call %.0f ns, by the wall clock %.0f ns (fastest repetition) to %.0f ns",
     task, t.min_ns, t.max_ns);
  mbt_layer_bufs_free(&b);

  /* In the network: the tuner reads the counters around every layer run and keeps, per
   * candidate, the median count beside the median time.  Summed over every timed candidate,
   * task time and wall time must agree (task time also holds the counter reads' own few
   * microseconds per layer; a preempted run loses task time). */
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
  o.reps = 3, o.quick = 1, o.effort = MBT_MEASURE;
  const enum mbt_status st = mbt_tune(&m, &model, &o, &pl);
  double sum_task = 0, sum_ns = 0;
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
      sum_task += (double)d->counts[0], sum_ns += d->ns;
    }
  ok(st == MBT_OK && timed > 10 && counted == timed && named,
     "every timed candidate of the tuning has a perf::TASK-CLOCK count (%d of %d)", counted, timed);
  ok(sum_task >= 0.6 * sum_ns && sum_task <= 1.3 * sum_ns + 20e3 * timed,
     "their task time %.0f us against their wall time %.0f us", sum_task / 1e3, sum_ns / 1e3);
  mbt_plan_free(&pl);
  mbt_model_free(&model);
  return done();
}
