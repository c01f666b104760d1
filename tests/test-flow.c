/* tests/test-flow.c -- the flow schedule (net/flow.c) and its pool.
 *
 * The graph, over randomized networks, item sizes, channel parts and thread counts, with one
 * thread made a straggler (it sleeps 1 ms before some of its items, as one that loses its core
 * does): in every run every item is run exactly once, and none starts before the items that
 * write the rows it reads (worked out here from the layers' kernel, stride and padding, not from
 * the graph's own dependencies).
 *
 * The engine: every network at small widths, default and fused (pairs, then blocks), on 2 to 4
 * threads with and without a straggler, on a new input every run: the logits equal those of one
 * thread bit for bit (the same kernels on the same rows; only the order of the items differs). */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "tests/tap.h"

#define MAXI 8192

struct check {
  const struct mbt_flow *f;
  const struct mbt_model *m;
  int n;
  _Atomic int done[MAXI], execs[MAXI];
  _Atomic int early; /* items started before what they read was written */
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

static void check_item(void *ctx, const struct mbt_flow_item *it, int thread) {
  struct check *c = ctx;
  (void)thread;
  const int i = (int)(it - mbt_flow_item(c->f, 0));
  const struct mbt_layer *l = &c->m->layers[it->first]; /* every group here is one layer */
  int a = it->r0, b = it->r1;
  input_rows(l, &a, &b);
  if (l->src >= 0 && !written(c, l->src, a, b)) atomic_fetch_add(&c->early, 1);
  if (l->res >= 0) {
    const int whole = c->m->layers[l->res].oh != l->oh;
    if (!written(c, l->res, whole ? 0 : it->r0, whole ? c->m->layers[l->res].oh : it->r1))
      atomic_fetch_add(&c->early, 1);
  }
  for (const double t0 = mbt_now_ns(); mbt_now_ns() - t0 < 5e3;) { /* an item's work: 5 us */
  }
  atomic_fetch_add(&c->execs[i], 1);
  int zero = 0;
  atomic_compare_exchange_strong(&c->done[i], &zero, 1);
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
      g[i] = (struct mbt_flow_group){i, 1, 0, 1 + (int)mbt_rng_range(r, 0, 3.99f)};
    const int threads = 2 + (int)mbt_rng_range(r, 0, 2.99f);
    const double item = 2e4 * (1 + (int)mbt_rng_range(r, 0, 20));
    struct mbt_flow *f = mbt_flow_new(&m, g, m.nlayers, threads, item);
    if (!f || mbt_flow_items(f) > MAXI) {
      ok(0, "%s %d px: the graph is built with at most %d items", mbt_net_name(kind), res, MAXI);
      mbt_flow_free(f), mbt_model_free(&m);
      continue;
    }
    c.f = f, c.m = &m, c.n = mbt_flow_items(f);
    int once = 1, early = 0;
    mbt_flow_delay(1, 3 + trial % 3, 1e6); /* slot 1 sleeps 1 ms before some items */
    for (int run = 0; run < 4; run++) {
      for (int i = 0; i < c.n; i++) atomic_store(&c.done[i], 0), atomic_store(&c.execs[i], 0);
      atomic_store(&c.early, 0);
      mbt_flow_run(f, threads, check_item, &c);
      for (int i = 0; i < c.n; i++) once &= atomic_load(&c.execs[i]) == 1;
      early += atomic_load(&c.early);
    }
    mbt_flow_delay(-1, 0, 0);
    mbt_flow_free(f);
    ok(once && early == 0,
       "%s %.2f/%d as %d items of %.0f kFLOP on %d threads, one a straggler, 4 runs: every item "
       "run once per run, none before the rows it reads (%d early)",
       mbt_net_name(kind), m.alpha, res, c.n, item / 1e3, threads, early);
    mbt_model_free(&m);
  }
}

/* Logits of @p e on @p in. */
static void logits(mbt_engine_t e, const float *in, float *out, int n) {
  mbt_engine_run(e, in);
  memcpy(out, mbt_engine_logits(e), (size_t)n * sizeof *out);
}

static void engine_tests(void) {
  for (int net = MBT_NET_V1; net <= MBT_NET_V3S; net++)
    for (int fuse = 0; fuse < 3; fuse++) {
      struct mbt_model m;
      mbt_model_build((enum mbt_net_kind)net, 0.5, 64, &m);
      mbt_engine_t one, e;
      mbt_engine_create(&m, NULL, NULL, 3, &one);
      mbt_engine_create(&m, NULL, NULL, 3, &e);
      for (int i = 0; i + 1 < m.nlayers; i++) {
        if (fuse == 1 && mbt_pair_fusable(&m, i)) mbt_engine_fuse(one, i, 3), mbt_engine_fuse(e, i, 3);
        if (fuse == 2 && mbt_block_fusable(&m, i)) mbt_engine_block(one, i, 2), mbt_engine_block(e, i, 2);
      }
      const int n = m.classes;
      float *in = mbt_alloc((size_t)m.res * m.res * 3, sizeof(float));
      float *want = malloc((size_t)n * sizeof *want), *got = malloc((size_t)n * sizeof *got);
      for (int threads = 2; threads <= 4; threads++)
        for (int slow = 0; slow < 2; slow++) {
          mbt_engine_set_threads(e, threads);
          mbt_engine_set_schedule(e, MBT_SCHEDULE_FLOW);
          mbt_flow_delay(slow ? 1 : -1, 5, 2e5);
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
}

int main(void) {
  struct mbt_rng r;
  mbt_rng_seed(&r, test_seed());
  graph_tests(&r);
  engine_tests();
  return done();
}
