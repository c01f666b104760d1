/* tests/test-flow.c -- the flow schedule (net/flow.c) and its pool.
 *
 * The graph, over randomized networks, item sizes, channel parts and thread counts, with one
 * thread made a straggler (it sleeps 10 ms before some of its items, as one that loses its core
 * does): in every run exactly one run of every item claims it, none that claims it started
 * before the items that write the rows it reads (worked out here from the layers' kernel,
 * stride and padding, not from the graph's own dependencies), and the straggler's items get
 * backup copies.
 *
 * The engine: every network at small widths, default and fused (pairs, then blocks), on 2 to 4
 * threads with and without a straggler, on a new input every run: the logits equal those of one
 * thread bit for bit (the same kernels on the same rows; only the order of the items differs),
 * backup copies, staged pointwise items and late copies from the run before included; so too
 * with groups run on fewer threads than the engine's, as a plan's threads=K asks. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"
#include "tests/tap.h"

#define MAXI 8192

struct check {
  const struct mbt_flow *f;
  const struct mbt_model *m;
  int n;
  _Atomic int done[MAXI], claims[MAXI];
  _Atomic int early; /* items started before what they read was written */
  _Atomic int slot1; /* runs of items the straggler made */
};

/* Rows [*a, *b) of layer @p l's input that its output rows [*a, *b) read (the tests' own). */
static void input_rows(const struct mbt_layer *l, int *a, int *b) {
  if (l->op == MBT_OP_GAVGPOOL || l->op == MBT_OP_FC) {
    *a = 0, *b = l->ih;
  } else if (l->op == MBT_OP_CONV || l->op == MBT_OP_DWCONV) {
    const int lo = *a * l->stride - l->pad, hi = (*b - 1) * l->stride - l->pad + l->k;
    *a = lo < 0 ? 0 : lo, *b = hi > l->ih ? l->ih : hi;
  }
}

/* 1 when every item writing rows [a, b) of layer t's output is done. */
static int written(struct check *c, int t, int a, int b) {
  for (int i = 0; i < c->n; i++) {
    const struct mbt_flow_item *it = mbt_flow_item(c->f, i);
    if (it->first + it->len - 1 == t && it->r0 < b && a < it->r1 && !atomic_load(&c->done[i]))
      return 0;
  }
  return 1;
}

static int check_item(void *ctx, const struct mbt_flow_item *it, int thread,
                      const struct mbt_flow_claim *claim) {
  struct check *c = ctx;
  const int i = (int)(it - mbt_flow_item(c->f, 0));
  const struct mbt_layer *l = &c->m->layers[it->first]; /* every group here is one layer */
  int a = it->r0, b = it->r1, early = 0;
  input_rows(l, &a, &b);
  if (l->src >= 0 && !written(c, l->src, a, b)) early = 1;
  if (l->res >= 0) {
    const int whole = c->m->layers[l->res].oh != l->oh;
    if (!written(c, l->res, whole ? 0 : it->r0, whole ? c->m->layers[l->res].oh : it->r1))
      early = 1;
  }
  for (const double t0 = mbt_now_ns(); mbt_now_ns() - t0 < 5e3;) { /* an item's work: 5 us */
  }
  if (thread == 1) atomic_fetch_add(&c->slot1, 1);
  if (!mbt_flow_claim(claim)) return 0; /* a late copy: it must not count */
  atomic_fetch_add(&c->early, early);
  atomic_fetch_add(&c->claims[i], 1);
  atomic_store(&c->done[i], 1);
  return 1;
}

static void graph_tests(struct mbt_rng *r) {
  static struct check c;
  for (int trial = 0; trial < 12; trial++) {
    struct mbt_model m;
    const enum mbt_net_kind kind = (enum mbt_net_kind)(1 + trial % 4);
    const int res = 32 + 8 * (int)mbt_rng_range(r, 0, 8.99f);
    mbt_model_build(kind, trial % 3 == 0 ? 0.35 : 0.5, res, &m);
    struct mbt_flow_group g[MBT_MAX_LAYERS];
    for (int i = 0; i < m.nlayers; i++)
      g[i] = (struct mbt_flow_group){i, 1, 0, 1 + (int)mbt_rng_range(r, 0, 3.99f), 1};
    const int threads = 2 + (int)mbt_rng_range(r, 0, 2.99f);
    const double item = 2e4 * (1 + (int)mbt_rng_range(r, 0, 20));
    struct mbt_flow *f = mbt_flow_new(&m, g, m.nlayers, threads, item);
    if (!f || mbt_flow_items(f) > MAXI) {
      ok(0, "%s %d px: the graph is built with at most %d items", mbt_net_name(kind), res, MAXI);
      mbt_flow_free(f), mbt_model_free(&m);
      continue;
    }
    c.f = f, c.m = &m, c.n = mbt_flow_items(f);
    const long copies0 = mbt_flow_copies();
    int once = 1, early = 0;
    atomic_store(&c.slot1, 0);
    mbt_flow_delay(1, 1 + trial % 3, 10e6); /* slot 1 sleeps 10 ms before some items */
    for (int run = 0; run < 4; run++) {
      for (int i = 0; i < c.n; i++) atomic_store(&c.done[i], 0), atomic_store(&c.claims[i], 0);
      atomic_store(&c.early, 0);
      mbt_flow_run(f, threads, check_item, &c);
      for (int i = 0; i < c.n; i++) once &= atomic_load(&c.claims[i]) == 1;
      early += atomic_load(&c.early);
    }
    mbt_flow_free(f); /* waits for the straggler's late copies */
    mbt_flow_delay(-1, 0, 0);
    const long copies = mbt_flow_copies() - copies0;
    ok(once && early == 0,
       "%s %.2f/%d as %d items of %.0f kFLOP on %d threads, one a straggler, 4 runs: every item "
       "claimed once per run, none before the rows it reads (%d early)",
       mbt_net_name(kind), m.alpha, res, c.n, item / 1e3, threads, early);
    /* the others copy an item the straggler holds from 30 us on, unless they are off their
     * cores for the whole of its 10 ms sleeps */
    if (atomic_load(&c.slot1) > 0)
      ok(copies > 0, "  the straggler's items got backup copies (%ld; it ran %d)", copies,
         atomic_load(&c.slot1));
    else
      skip("  the straggler's items got backup copies", "it took no item (more threads than cores)");
    mbt_model_free(&m);
  }
}

/* Logits of @p e on @p in. */
/* Many short runs back to back on more threads than cores, items that do nothing but check:
 * a thread still leaving one run must not disturb the next (its stale view of which items
 * are done once moved the next run's start past items not yet run, and the run never ended).
 * A watchdog turns a hang into a failure. */
static void stress_tests(void) {
  static struct check c;
  const char *runner = getenv("MBT_RUNNER"); /* qemu-user: 100x slower, the watchdog would fire */
  if (runner && *runner) {
    skip("20000 runs back to back on 4 threads", "under an emulator (MBT_RUNNER)");
    return;
  }
  struct mbt_model m;
  mbt_model_build(MBT_NET_V3S, 0.35, 32, &m);
  struct mbt_flow_group g[MBT_MAX_LAYERS];
  for (int i = 0; i < m.nlayers; i++) g[i] = (struct mbt_flow_group){i, 1, 0, 2, 1};
  struct mbt_flow *f = mbt_flow_new(&m, g, m.nlayers, 4, 1e4);
  if (!f) {
    ok(0, "the stress graph is built");
    mbt_model_free(&m);
    return;
  }
  c.f = f, c.m = &m, c.n = mbt_flow_items(f);
  alarm(240);
  const int runs = 20000;
  int once = 1, early = 0;
  for (int run = 0; run < runs; run++) {
    for (int i = 0; i < c.n; i++) atomic_store(&c.done[i], 0), atomic_store(&c.claims[i], 0);
    atomic_store(&c.early, 0);
    mbt_flow_run(f, 4, check_item, &c);
    for (int i = 0; i < c.n; i++) once &= atomic_load(&c.claims[i]) == 1;
    early += atomic_load(&c.early);
  }
  alarm(0);
  ok(once && early == 0, "%d runs of %d items back to back on 4 threads: each ended, every item "
     "claimed once per run, none early (%d)", runs, c.n, early);
  mbt_flow_free(f);
  mbt_model_free(&m);
}

static void logits(mbt_engine_t e, const float *in, float *out, int n) {
  mbt_engine_run(e, in);
  memcpy(out, mbt_engine_logits(e), (size_t)n * sizeof *out);
}

/* Two engines on the same model (seeded weights alike) with the same fusion: fuse 1 = every
 * fusable pair in strips of pair_rows, 2 = every fusable block in strips of block_rows. */
static void twin_engines(enum mbt_net_kind net, int threads, int fuse, int pair_rows,
                         int block_rows, struct mbt_model *m, mbt_engine_t *one,
                         mbt_engine_t *e) {
  mbt_model_build(net, 0.5, 64, m);
  mbt_engine_create(m, NULL, NULL, threads, one);
  mbt_engine_create(m, NULL, NULL, threads, e);
  for (int i = 0; i + 1 < m->nlayers; i++) {
    if (fuse == 1 && mbt_pair_fusable(m, i))
      mbt_engine_fuse(*one, i, pair_rows), mbt_engine_fuse(*e, i, pair_rows);
    if (fuse == 2 && mbt_block_fusable(m, i))
      mbt_engine_block(*one, i, block_rows), mbt_engine_block(*e, i, block_rows);
  }
}

static void engine_tests(void) {
  const long copies0 = mbt_flow_copies();
  for (int net = MBT_NET_V1; net <= MBT_NET_V3S; net++)
    for (int fuse = 0; fuse < 3; fuse++) {
      struct mbt_model m;
      mbt_engine_t one, e;
      twin_engines((enum mbt_net_kind)net, 3, fuse, 3, 2, &m, &one, &e);
      const int n = m.classes;
      float *in = mbt_alloc((size_t)m.res * m.res * 3, sizeof(float));
      float *want = malloc((size_t)n * sizeof *want), *got = malloc((size_t)n * sizeof *got);
      for (int threads = 2; threads <= 4; threads++)
        for (int slow = 0; slow < 2; slow++) {
          mbt_engine_set_threads(e, threads);
          mbt_engine_set_schedule(e, MBT_SCHEDULE_FLOW);
          mbt_flow_delay(slow ? 1 : -1, 5, 2e6);
          int same = 1;
          for (int run = 0; run < 5; run++) { /* a new input each run */
            mbt_engine_fill_input(one, in, 100 + (uint64_t)run);
            logits(one, in, want, n);
            logits(e, in, got, n);
            if (memcmp(want, got, (size_t)n * sizeof *got) != 0) {
              float d = 0;
              for (int k = 0; k < n; k++) d = fabsf(want[k] - got[k]) > d ? fabsf(want[k] - got[k]) : d;
              diag("run %d: logits differ by up to %g", run, d);
              same = 0;
            }
          }
          mbt_flow_delay(-1, 0, 0);
          ok(same, "%s 0.5/64%s on %d threads%s, 5 inputs: the logits of one thread, bit for bit",
             mbt_net_name(m.kind), fuse == 1 ? ", pairs fused" : fuse == 2 ? ", blocks fused" : "",
             threads, slow ? ", one a straggler" : "");
        }
      mbt_engine_destroy(e);
      mbt_engine_destroy(one);
      mbt_free(in), free(want), free(got);
      mbt_model_free(&m);
    }
  diag("backup copies in the engine runs: %ld", mbt_flow_copies() - copies0);
}

/* The automatic schedule: each run is one of the two, both are tried, the logits stay one
 * thread's; a straggler in some runs makes no difference to the values (a late copy of a
 * flow run uses the strips the layer schedule's next run uses). */
static void auto_tests(void) {
  struct mbt_model m;
  mbt_model_build(MBT_NET_V2, 0.35, 64, &m);
  mbt_engine_t one, e;
  mbt_engine_create(&m, NULL, NULL, 4, &one);
  mbt_engine_create(&m, NULL, NULL, 4, &e);
  for (int i = 0; i + 1 < m.nlayers; i++) /* pairs fused: both schedules use the strips */
    if (mbt_pair_fusable(&m, i)) mbt_engine_fuse(one, i, 2), mbt_engine_fuse(e, i, 2);
  mbt_engine_set_threads(e, 2);
  float *in = mbt_alloc((size_t)m.res * m.res * 3, sizeof(float));
  float *want = malloc((size_t)m.classes * sizeof *want), *got = malloc((size_t)m.classes * sizeof *got);
  int same = 1;
  const int runs = 40;
  for (int run = 0; run < runs; run++) {
    mbt_flow_delay(run % 10 < 5 ? 1 : -1, 4, 1e6);
    mbt_engine_fill_input(one, in, 200 + (uint64_t)run);
    logits(one, in, want, m.classes);
    logits(e, in, got, m.classes);
    same &= memcmp(want, got, (size_t)m.classes * sizeof *got) == 0;
  }
  mbt_flow_delay(-1, 0, 0);
  const long l = mbt_engine_schedule_runs(e, MBT_SCHEDULE_LAYERS);
  const long f = mbt_engine_schedule_runs(e, MBT_SCHEDULE_FLOW);
  ok(same && l + f == runs && l > 0 && f > 0,
     "v2 0.35/64, pairs fused, on 2 threads, automatic schedule, %d runs: %ld layer by layer, "
     "%ld as a flow, "
     "every one the logits of one thread", runs, l, f);
  mbt_engine_destroy(e), mbt_engine_destroy(one);
  mbt_free(in), free(want), free(got);
  mbt_model_free(&m);
}

/* Groups on fewer threads (mbt_engine_team, what a plan's threads=K sets): random counts on
 * random layers, pairs and blocks, on 3 threads, both schedules, a straggler in the flow: the
 * logits stay one thread's bit for bit, each group runs on the count asked for (at most the
 * engine's), and bad requests are refused. */
static void team_tests(struct mbt_rng *r) {
  for (int net = MBT_NET_V2; net <= MBT_NET_V3S; net += MBT_NET_V3S - MBT_NET_V2)
    for (int fuse = 0; fuse < 3; fuse++) {
      struct mbt_model m;
      mbt_engine_t one, e;
      twin_engines((enum mbt_net_kind)net, 5, fuse, 2, 3, &m, &one, &e);
      mbt_engine_set_threads(e, 3);
      int asked = 0, wrong = 0, solo = 0;
      for (int i = 0; i < m.nlayers; i++)
        for (int len = 1; len <= 3 && i + len <= m.nlayers; len++) {
          const int k = (int)(mbt_rng_next(r) % 4); /* 0 (all), 1, 2 or 3 */
          mbt_engine_team(e, i, len, k);
        }
      for (int i = 0; i < m.nlayers; i++) {
        const int len = mbt_engine_group(e, i), t = mbt_engine_group_threads(e, i);
        if (len == 0) continue;
        asked++;
        solo += t == 1;
        wrong += t < 1 || t > 3;
      }
      const int n = m.classes;
      float *in = mbt_alloc((size_t)m.res * m.res * 3, sizeof(float));
      float *want = malloc((size_t)n * sizeof *want), *got = malloc((size_t)n * sizeof *got);
      int same = 1;
      for (int s = 0; s < 2; s++) {
        mbt_engine_set_schedule(e, s ? MBT_SCHEDULE_FLOW : MBT_SCHEDULE_LAYERS);
        mbt_flow_delay(s ? 1 : -1, 3, 1e6);
        for (int run = 0; run < 3; run++) {
          mbt_engine_fill_input(one, in, 300 + (uint64_t)run);
          logits(one, in, want, n);
          logits(e, in, got, n);
          same &= memcmp(want, got, (size_t)n * sizeof *got) == 0;
        }
        mbt_flow_delay(-1, 0, 0);
      }
      ok(same && !wrong && solo > 0,
         "%s 0.5/64%s on 3 threads, random groups on 1-3 of them (%d of %d on one), both "
         "schedules: the logits of one thread, bit for bit", mbt_net_name(m.kind),
         fuse == 1 ? ", pairs fused" : fuse == 2 ? ", blocks fused" : "", solo, asked);
      mbt_engine_destroy(e), mbt_engine_destroy(one);
      mbt_free(in), free(want), free(got);
      mbt_model_free(&m);
    }
  struct mbt_model m;
  mbt_model_build(MBT_NET_V1, 0.25, 32, &m);
  mbt_engine_t e;
  mbt_engine_create(&m, NULL, NULL, 1, &e);
  mbt_engine_set_threads(e, 2);
  const int n = m.nlayers;
  ok(mbt_engine_team(e, 0, 1, 1) == MBT_OK && mbt_engine_group_threads(e, 0) == 1 &&
         mbt_engine_team(e, 0, 1, 7) == MBT_OK && mbt_engine_group_threads(e, 0) == 2 &&
         mbt_engine_group_threads(e, n) == 0,
     "a group's count is capped at the engine's threads (7 asked, 2 run)");
  ok(mbt_engine_team(e, -1, 1, 1) == MBT_EINVAL && mbt_engine_team(e, n - 1, 2, 1) == MBT_EINVAL &&
         mbt_engine_team(e, 0, 4, 1) == MBT_EINVAL && mbt_engine_team(e, 0, 1, -1) == MBT_EINVAL,
     "bad groups and counts refused: %s", mbt_last_error());
  mbt_engine_destroy(e);
  mbt_model_free(&m);
}

int main(void) {
  struct mbt_rng r;
  mbt_rng_seed(&r, test_seed());
  graph_tests(&r);
  stress_tests();
  engine_tests();
  auto_tests();
  team_tests(&r);
  return done();
}
