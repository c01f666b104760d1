/* tests/test-fused.c -- fused depthwise + pointwise against the two reference kernels run one
 * after the other, for every fusable pair of MobileNet V1 and V2 (alpha 0.5, 64 px, so every
 * channel count and stride occurs), every depthwise variant the host runs, a spread of pointwise
 * variants, strip heights 1, 3 and 8, and the rows split in two ranges (as two threads do).
 * Per element: |y - ref| <= 1e-6 + 2e-5 * (the same chain run on |x|, |w|, |bias|).  Blocks
 * (pointwise -> depthwise -> pointwise, mbt_drv_pwdwpw_fused; and the stem blocks, full
 * convolution -> depthwise -> pointwise, with every convolution variant) likewise, with 3e-5
 * for the longer chain, and whole networks with every pair, then every block, fused.  Also the
 * thread grid of a layer, and that running one keeps the OpenMP team's threads (and their
 * pinning). */
#define _GNU_SOURCE /* syscall */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/kernels.h"
#include "net/net.h"
#include "tests/tap.h"
#include "tuner/tuner.h"

static float *falloc(size_t n) { return mbt_alloc(n ? n : 1, sizeof(float)); }

/* Layer @p l run by the reference on @p in (and on |in|, |w|, |b| into mag), weights seeded;
 * with @p res (and its magnitudes @p ares) added after the epilogue. */
struct layer_data {
  float *w, *b, *aw, *ab, *out, *mag;
};
static void ref_layer(const struct mbt_layer *l, const float *in, const float *ain,
                      const float *res, const float *ares, struct layer_data *d,
                      struct mbt_rng *r) {
  const size_t nw = mbt_layer_weight_count(l), nout = (size_t)l->oh * l->ow * l->oc;
  d->w = falloc(nw), d->b = falloc((size_t)l->oc), d->aw = falloc(nw), d->ab = falloc((size_t)l->oc);
  d->out = falloc(nout), d->mag = falloc(nout);
  mbt_layer_init_weights(l, d->w, d->b, r);
  for (size_t k = 0; k < nw; k++) d->aw[k] = fabsf(d->w[k]);
  for (int k = 0; k < l->oc; k++) d->ab[k] = fabsf(d->b[k]);
  struct mbt_exec x = {mbt_layer_kshape(l), in, d->out, res, d->w, d->b, 0, 0, NULL, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, NULL, 0};
  mbt_exec_act(&x);
  mbt_ref_fn(x.s.op)(&x, 0, l->oh);
  struct mbt_exec xm = {mbt_layer_kshape(l), ain, d->mag, ares, d->aw, d->ab, -INFINITY, INFINITY, NULL, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, NULL, 0};
  mbt_ref_fn(x.s.op)(&xm, 0, l->oh);
}

static void check_block(const struct mbt_model *m, int i, const struct mbt_variant *all, int nv,
                        struct mbt_rng *r) {
  const struct mbt_layer *L = &m->layers[i];
  const size_t nin = (size_t)L[0].ih * L[0].iw * L[0].ic, nout = (size_t)L[2].oh * L[2].ow * L[2].oc;
  float *x = falloc(nin), *ax = falloc(nin), *out = falloc(nout);
  for (size_t k = 0; k < nin; k++) ax[k] = fabsf(x[k] = mbt_rng_range(r, -2, 2));
  struct layer_data d[3];
  /* the project layer's residual may be the first layer's output (V3-Large's stem block): the
   * driver reads it from its window, so the first layer's own output buffer holds NaNs */
  const int res_window = L[2].res == i;
  float *nans = falloc(res_window ? (size_t)L[0].oh * L[0].ow * L[0].oc : 0);
  for (size_t k = 0; res_window && k < (size_t)L[0].oh * L[0].ow * L[0].oc; k++) nans[k] = NAN;
  ref_layer(&L[0], x, ax, NULL, NULL, &d[0], r);
  ref_layer(&L[1], d[0].out, d[0].mag, NULL, NULL, &d[1], r);
  ref_layer(&L[2], d[1].out, d[1].mag, res_window ? d[0].out : NULL,
            res_window ? d[0].mag : NULL, &d[2], r);
  const size_t strip = 8 * (size_t)L[1].ow * L[1].oc;
  const size_t window = (size_t)(7 * L[1].stride + L[1].k) * L[1].iw * L[1].ic;
  float *scratch = falloc(2 * (strip + window));
  /* [best-ranked, reference] for layers 0 and 2; after them, with a full convolution first,
   * every other convolution variant the host runs for layer 0 (each writes the window through
   * its orow0), with the reference for layer 2 and the first depthwise variant only */
  const struct mbt_variant *pwv[8][2];
  const struct mbt_kshape ks[3] = {mbt_layer_kshape(&L[0]), mbt_layer_kshape(&L[1]),
                                   mbt_layer_kshape(&L[2])};
  const int conv = L[0].op == MBT_OP_CONV;
  int npv = 2;
  for (int j = 0; j < 2; j++) {
    const struct mbt_variant *cand[32];
    const int nc = mbt_registry_candidates(&ks[2 * j], cand, 32);
    pwv[0][j] = cand[0];
    const char *ref = j == 0 && conv ? "ref/mbt_f32_conv_ref" : "ref/mbt_f32_pwconv_ref";
    pwv[1][j] = mbt_registry_find(ref, &ks[2 * j]);
    for (int c = 1; j == 0 && conv && c < nc && npv < 8; c++)
      if (strncmp(cand[c]->name, "ref/", 4)) pwv[npv++][0] = cand[c];
  }
  for (int pv = 2; pv < npv; pv++) pwv[pv][1] = pwv[1][1];
  int dw_seen = 0;
  for (int a = 0; a < nv; a++) {
    if (all[a].op != MBT_KOP_DWCONV || !mbt_registry_find(all[a].name, &ks[1])) continue;
    const int npv_here = dw_seen++ == 0 ? npv : 2;
    for (int pv = 0; pv < npv_here; pv++) {
      float *packed[2];
      mbt_variant_pack(pwv[pv][0], &ks[0], d[0].w, &packed[0]);
      mbt_variant_pack(pwv[pv][1], &ks[2], d[2].w, &packed[1]);
      for (int rows = 1; rows <= 8; rows += rows == 1 ? 2 : 5) {
        for (size_t k = 0; k < nout; k++) out[k] = NAN;
        float *rw = res_window ? nans : NULL;
        struct mbt_exec xe = {ks[0], x, rw, NULL, d[0].w, d[0].b, 0, 0, NULL, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, NULL, 0};
        struct mbt_exec xd = {ks[1], NULL, NULL, NULL, d[1].w, d[1].b, 0, 0, NULL, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, NULL, 0};
        struct mbt_exec xp = {ks[2], NULL, out, rw, d[2].w, d[2].b, 0, 0, NULL, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, NULL, 0};
        mbt_exec_act(&xe), mbt_exec_act(&xd), mbt_exec_act(&xp);
        mbt_exec_bind(&xe, pwv[pv][0], packed[0]);
        mbt_exec_bind(&xd, &all[a], NULL);
        mbt_exec_bind(&xp, pwv[pv][1], packed[1]);
        const int half = L[2].oh / 2 | 1;
        for (int t = 0; t < 2; t++) {
          float *s = scratch + (size_t)t * (strip + window);
          mbt_drv_pwdwpw_fused(pwv[pv][0], &xe, &all[a], &xd, pwv[pv][1], &xp, rows, s + strip, s,
                               t ? half : 0, t ? L[2].oh : half);
        }
        size_t bad = 0;
        for (size_t k = 0; k < nout; k++)
          bad += !(fabs((double)out[k] - d[2].out[k]) <= 1e-6 + 3e-5 * d[2].mag[k]);
        ok(bad == 0, "%s block %s+%s+%s%s: %s + %s + %s rows=%d", mbt_net_name(m->kind),
           L[0].name, L[1].name, L[2].name, res_window ? " (residual from the window)" : "",
           pwv[pv][0]->name, all[a].name, pwv[pv][1]->name, rows);
        if (bad) diag("%zu of %zu elements out of tolerance", bad, nout);
      }
      mbt_free(packed[0]), mbt_free(packed[1]);
    }
  }
  for (int j = 0; j < 3; j++) {
    float *f[] = {d[j].w, d[j].b, d[j].aw, d[j].ab, d[j].out, d[j].mag};
    for (size_t k = 0; k < 6; k++) mbt_free(f[k]);
  }
  mbt_free(x), mbt_free(ax), mbt_free(out), mbt_free(scratch), mbt_free(nans);
}

/* The thread grid: rows alone on big maps, channels on 7x7 maps and the fully connected layer,
 * both on many threads; rows when the channel units do not split evenly. */
static void split_grid(void) {
  static const struct {
    int rows, units, threads, by_channel, rp, cp;
  } c[] = {
      {14, 64, 16, 1, 2, 8}, {112, 4, 16, 1, 16, 1}, {7, 64, 2, 1, 1, 2}, {14, 64, 2, 1, 2, 1},
      {7, 3, 2, 1, 2, 1},    {7, 64, 16, 0, 7, 1},   {1, 16, 4, 1, 1, 4}, {28, 16, 16, 1, 4, 4},
      {56, 64, 1, 1, 1, 1},  {3, 60, 6, 1, 3, 2},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    int rp, cp;
    mbt_split_2d(c[i].rows, c[i].units, c[i].threads, c[i].by_channel, &rp, &cp);
    ok(rp == c[i].rp && cp == c[i].cp, "%d rows x %d channel units on %d threads%s: %d x %d "
       "(want %d x %d)", c[i].rows, c[i].units, c[i].threads, c[i].by_channel ? "" : ", rows only",
       rp, cp, c[i].rp, c[i].cp);
  }
}

#if defined(_OPENMP) && defined(SYS_gettid)
/* The OS threads of a team of @p n. */
static void team_tids(int n, long *tid) {
#pragma omp parallel num_threads(n)
  tid[omp_get_thread_num()] = (long)syscall(SYS_gettid);
}
#endif

/* A layer whose grid uses fewer threads than the team (the fully connected layer: one row, 16
 * panels, on 32 threads) must not shrink the team: libgomp would end the spare threads and
 * start new, unpinned ones for the next full team. */
static void team_kept(void) {
#if defined(_OPENMP) && defined(SYS_gettid)
  if (getenv("MBT_RUNNER") && *getenv("MBT_RUNNER")) { /* qemu-user: OpenMP teams crawl */
    skip("the team kept", "32 threads under an emulator");
    return;
  }
  enum { N = 32 };
  struct mbt_model m;
  mbt_model_build(MBT_NET_V1, 1.0, 224, &m);
  const struct mbt_layer *l = &m.layers[m.nlayers - 1];
  const struct mbt_variant *cand[32], *v = NULL;
  const struct mbt_kshape ks = mbt_layer_kshape(l);
  const int nc = mbt_registry_candidates(&ks, cand, 32);
  for (int k = 0; k < nc && !v; k++)
    if (cand[k]->flags & MBT_SPLIT_C) v = cand[k];
  struct mbt_layer_bufs b;
  float *packed = NULL;
  if (!v || mbt_layer_bufs_alloc(l, 7, &b) != MBT_OK) {
    skip("the team kept", "no channel-splitting variant for the fully connected layer");
    mbt_model_free(&m);
    return;
  }
  if (mbt_variant_pack(v, &ks, b.w, &packed) != MBT_OK) exit(1);
  mbt_exec_bind(&b.x, v, packed);
  long before[N], after[N];
  team_tids(N, before);
  mbt_run_rows(v, &b.x, N);
  team_tids(N, after);
  int same = 1;
  for (int t = 0; t < N; t++) same &= before[t] == after[t];
  ok(same, "a layer split over fewer threads than the team (%s) keeps the team's %d threads",
     v->name, N);
  mbt_free(packed);
  mbt_layer_bufs_free(&b);
  mbt_model_free(&m);
#else
  skip("the team kept", "no OpenMP, or no gettid");
#endif
}

/* The layers that fetch a later layer's weights ahead (mbt_engine_ahead): pointwise layers
 * before a fully connected one, with at most 4 MiB of weights read in between, so none in V1
 * (its last standalone carrier has 12.5 MB after it) and some in V3-Small when its pointwise
 * variants fetch ahead. */
static void ahead_reach(void) {
  for (int net = MBT_NET_V1; net <= MBT_NET_V3S; net += MBT_NET_V3S - MBT_NET_V1) {
    struct mbt_model m;
    mbt_engine_t e;
    mbt_model_build((enum mbt_net_kind)net, 1.0, 224, &m);
    if (mbt_engine_create(&m, NULL, NULL, 5, &e) != MBT_OK) exit(1);
    int carriers = 0, sound = 1, can = 0;
    for (int i = 0; i < m.nlayers; i++) {
      const struct mbt_layer *l = &m.layers[i];
      const struct mbt_kshape ks = mbt_layer_kshape(l);
      const struct mbt_variant *v = mbt_registry_find(mbt_engine_variant(e, i), &ks);
      can |= l->op == MBT_OP_PWCONV && v && (v->flags & MBT_AHEAD);
      const int j = mbt_engine_ahead(e, i);
      if (j < 0) continue;
      double between = 0;
      for (int k = i + 1; k < j; k++) between += m.layers[k].params * 4.0;
      sound &= l->op == MBT_OP_PWCONV && j > i && m.layers[j].op == MBT_OP_FC &&
               between <= (double)(4 << 20);
      carriers++;
    }
    if (net == MBT_NET_V1)
      ok(carriers == 0, "ahead: no layer of V1 1.0/224 carries the classifier (%d do)", carriers);
    else if (can)
      ok(carriers > 0 && sound, "ahead: %d layers of V3-Small carry a fully connected layer's "
         "weights, each pointwise with 4 MiB or less read in between%s", carriers,
         sound ? "" : " (not so)");
    else
      skip("ahead: V3-Small's carriers", "no pointwise variant here fetches ahead");
    mbt_engine_destroy(e);
    mbt_model_free(&m);
  }
}

int main(void) {
  split_grid();
  team_kept();
  ahead_reach();
  struct mbt_rng r;
  mbt_rng_seed(&r, test_seed());
  int nv;
  const struct mbt_variant *all = mbt_registry_all(&nv);
  for (int net = MBT_NET_V1; net <= MBT_NET_V3S; net++) {
    struct mbt_model m;
    mbt_model_build((enum mbt_net_kind)net, 0.5, 64, &m);
    for (int i = 0; i + 1 < m.nlayers; i++) {
      if (!mbt_pair_fusable(&m, i)) continue;
      const struct mbt_layer *d = &m.layers[i], *p = &m.layers[i + 1];
      const size_t nin = (size_t)d->ih * d->iw * d->ic, nmid = (size_t)d->oh * d->ow * d->oc,
                   nout = (size_t)p->oh * p->ow * p->oc;
      float *x = falloc(nin), *ax = falloc(nin), *mid = falloc(nmid), *amid = falloc(nmid);
      float *wd = falloc(mbt_layer_weight_count(d)), *bd = falloc((size_t)d->oc);
      float *wp = falloc(mbt_layer_weight_count(p)), *bp = falloc((size_t)p->oc);
      float *awd = falloc(mbt_layer_weight_count(d)), *abd = falloc((size_t)d->oc);
      float *awp = falloc(mbt_layer_weight_count(p)), *abp = falloc((size_t)p->oc);
      float *ref = falloc(nout), *mag = falloc(nout), *out = falloc(nout);
      float *scratch = falloc(8 * (size_t)d->ow * d->oc * 2);
      for (size_t k = 0; k < nin; k++) ax[k] = fabsf(x[k] = mbt_rng_range(&r, -2, 2));
      mbt_layer_init_weights(d, wd, bd, &r);
      mbt_layer_init_weights(p, wp, bp, &r);
      for (size_t k = 0; k < mbt_layer_weight_count(d); k++) awd[k] = fabsf(wd[k]);
      for (size_t k = 0; k < mbt_layer_weight_count(p); k++) awp[k] = fabsf(wp[k]);
      for (int k = 0; k < d->oc; k++) abd[k] = fabsf(bd[k]);
      for (int k = 0; k < p->oc; k++) abp[k] = fabsf(bp[k]);
      struct mbt_exec xd = {mbt_layer_kshape(d), x, mid, NULL, wd, bd, 0, 0, NULL, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, NULL, 0};
      struct mbt_exec xp = {mbt_layer_kshape(p), mid, ref, NULL, wp, bp, 0, 0, NULL, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, NULL, 0};
      mbt_exec_act(&xd);
      mbt_exec_act(&xp);
      mbt_ref_dwconv(&xd, 0, d->oh);
      mbt_ref_pwconv(&xp, 0, p->oh);
      struct mbt_exec md = {xd.s, ax, amid, NULL, awd, abd, -INFINITY, INFINITY, NULL, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, NULL, 0};
      struct mbt_exec mp = {xp.s, amid, mag, NULL, awp, abp, -INFINITY, INFINITY, NULL, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, NULL, 0};
      mbt_ref_dwconv(&md, 0, d->oh);
      mbt_ref_pwconv(&mp, 0, p->oh);
      /* a spread: the pointwise variant j with the depthwise variant i when (i + j) % 5 == 0
       * (or j is the reference), so that every pointwise variant meets a fifth of the
       * depthwise ones, whatever the number of variants */
      int dw_seen = 0;
      for (int a = 0; a < nv; a++) {
        if (all[a].op != MBT_KOP_DWCONV || !mbt_registry_find(all[a].name, &xd.s)) continue;
        int pw_seen = dw_seen++;
        for (int b = 0; b < nv; b++) {
          if (all[b].op != MBT_KOP_PWCONV || !mbt_registry_find(all[b].name, &xp.s)) continue;
          if (pw_seen++ % 5 != 0 && strncmp(all[b].name, "ref/", 4)) continue;
          float *packed;
          mbt_variant_pack(&all[b], &xp.s, wp, &packed);
          for (int rows = 1; rows <= 8; rows += rows == 1 ? 2 : 5) {
            for (size_t k = 0; k < nout; k++) out[k] = NAN;
            struct mbt_exec fd = xd, fp = xp;
            fp.out = out;
            mbt_exec_bind(&fd, &all[a], NULL);
            mbt_exec_bind(&fp, &all[b], packed);
            const int half = p->oh / 2;
            mbt_drv_dwpw_fused(&all[a], &fd, &all[b], &fp, rows, scratch, 0, half);
            mbt_drv_dwpw_fused(&all[a], &fd, &all[b], &fp, rows,
                               scratch + 8 * (size_t)d->ow * d->oc, half, p->oh);
            size_t bad = 0;
            for (size_t k = 0; k < nout; k++)
              bad += !(fabs((double)out[k] - ref[k]) <= 1e-6 + 2e-5 * mag[k]);
            ok(bad == 0, "%s %s+%s: %s + %s rows=%d", mbt_net_name(m.kind), d->name, p->name,
               all[a].name, all[b].name, rows);
            if (bad) diag("%zu of %zu elements out of tolerance", bad, nout);
          }
          mbt_free(packed);
        }
      }
      float *bufs[] = {x, ax, mid, amid, wd, bd, wp, bp, awd, abd, awp, abp, ref, mag, out, scratch};
      for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++) mbt_free(bufs[k]);
    }
    mbt_model_free(&m);
  }
  /* Blocks (pointwise -> depthwise -> pointwise) against the three reference kernels, for every
   * block of both networks: every depthwise variant with the best-ranked pointwise variants,
   * then the reference pointwise pair; strips of 1, 3 and 8 rows; rows in two ranges. */
  for (int net = MBT_NET_V1; net <= MBT_NET_V3S; net++) {
    struct mbt_model m;
    mbt_model_build((enum mbt_net_kind)net, 0.5, 64, &m);
    for (int i = 0; i + 2 < m.nlayers; i++)
      if (mbt_block_fusable(&m, i)) check_block(&m, i, all, nv, &r);
    mbt_model_free(&m);
  }
  /* Stem blocks (full convolution -> depthwise -> pointwise: V1's, V2's and V3-Large's stem
   * and first block, V3-Large's project adding the stem's output from the window) on odd maps,
   * 75 and 97 pixels a side, and at width 1.0 (32-channel stems). */
  static const struct { double alpha; int res; } stems[] = {{0.5, 75}, {1.0, 97}};
  for (int net = MBT_NET_V1; net <= MBT_NET_V3S; net++)
    for (size_t k = 0; k < sizeof stems / sizeof stems[0]; k++) {
      if (net == MBT_NET_V3S) { /* its first depthwise layer's output is read by the squeeze */
        struct mbt_model m;
        mbt_model_build((enum mbt_net_kind)net, stems[k].alpha, stems[k].res, &m);
        ok(!mbt_block_fusable(&m, 0), "v3-small %g/%d: the stem and the first block cannot run "
           "as one block (squeeze-and-excitation)", stems[k].alpha, stems[k].res);
        mbt_model_free(&m);
        continue;
      }
      struct mbt_model m;
      mbt_model_build((enum mbt_net_kind)net, stems[k].alpha, stems[k].res, &m);
      /* V3-Large's residual comes from the window only where the engine cannot pad the
       * project's pixel stride: 16 channels, not the 8 of width 0.5 (mbt_act_stride) */
      const int want = net != MBT_NET_V3L || m.layers[0].oc % 16 == 0;
      ok(m.layers[0].op == MBT_OP_CONV && mbt_block_fusable(&m, 0) == want,
         "%s %g/%d: the stem block (%d channels) is %sfusable", mbt_net_name(m.kind),
         stems[k].alpha, stems[k].res, m.layers[0].oc, want ? "" : "not ");
      if (mbt_block_fusable(&m, 0)) check_block(&m, 0, all, nv, &r);
      mbt_model_free(&m);
    }
  /* Whole networks with every fusable pair fused (strips of 1, 3 and 8 rows): the engine must
   * keep a fused depthwise layer's input alive until the pointwise layer has written its output
   * (activation buffers are shared by liveness), and 1 and 2 threads must agree.  Last,
   * V3-Large at width 1.0, whose stem block reads its residual from the window. */
  for (int net = MBT_NET_V1; net <= MBT_NET_V3S + 1; net++) {
    struct mbt_model m;
    if (net > MBT_NET_V3S) mbt_model_build(MBT_NET_V3L, 1.0, 64, &m);
    else mbt_model_build((enum mbt_net_kind)net, 0.5, 64, &m);
    mbt_engine_t ref, e;
    mbt_engine_create(&m, NULL, "ref/", 5, &ref);
    mbt_engine_create(&m, NULL, NULL, 5, &e);
    float *in = mbt_alloc((size_t)m.res * m.res * 3, sizeof(float));
    mbt_engine_fill_input(ref, in, 9);
    mbt_engine_run(ref, in);
    const float *want = mbt_engine_logits(ref);
    /* under an emulator (MBT_RUNNER set: qemu-user), OpenMP teams crawl: one thread only */
    const char *runner = getenv("MBT_RUNNER");
    const int max_threads = runner && *runner ? 1 : 2;
    /* first every pair, then (pairs still fused) every block that can run */
    for (int kind = 0; kind < 2; kind++)
      for (int rows = 1; rows <= 8; rows += rows == 1 ? 2 : 5)
        for (int threads = 1; threads <= max_threads; threads++) {
          int groups = 0;
          for (int i = 0; i + 1 < m.nlayers; i++)
            if (kind == 0 && mbt_pair_fusable(&m, i))
              groups += mbt_engine_fuse(e, i, rows) == MBT_OK;
            else if (kind == 1 && mbt_block_fusable(&m, i) && mbt_engine_block(e, i, rows) == MBT_OK)
              groups += mbt_engine_block_runs(e, i) > 0;
          mbt_engine_set_threads(e, threads);
          mbt_engine_run(e, in);
          const float *got = mbt_engine_logits(e);
          double err = 0, big = 0;
          for (int c = 0; c < 1000; c++) { /* (plain comparisons: aarch64 GCC 12's vectoriser
                                              crashes on two fmax reductions in one loop) */
            const double d = fabs((double)got[c] - want[c]), w = fabs((double)want[c]);
            if (d > err) err = d;
            if (w > big) big = w;
          }
          ok(groups >= 2 && err <= 1e-5 + 1e-4 * big,
             "%s %g/64 with %d %s fused, rows=%d, %d thread(s): max |logit - ref| %.3g",
             mbt_net_name(m.kind), m.alpha, groups, kind ? "blocks" : "pairs", rows, threads, err);
        }
    mbt_free(in);
    mbt_engine_destroy(e);
    mbt_engine_destroy(ref);
    mbt_model_free(&m);
  }
  /* Squeeze-and-excitation's scale folded into the project's weights (the "fold/" variant):
   * V3-Small and V3-Large, every scale folded, every other layer on its default variant, at 1
   * and 2 threads, layer by layer and as a flow, against the reference engine. */
  for (int net = MBT_NET_V3L; net <= MBT_NET_V3S; net++) {
    struct mbt_model m;
    mbt_model_build((enum mbt_net_kind)net, net == MBT_NET_V3L ? 0.75 : 1.0, 64, &m);
    mbt_engine_t ref, e;
    mbt_engine_create(&m, NULL, "ref/", 5, &ref);
    mbt_engine_create(&m, NULL, "fold/", 5, &e);
    float *in = mbt_alloc((size_t)m.res * m.res * 3, sizeof(float));
    mbt_engine_fill_input(ref, in, 9);
    mbt_engine_run(ref, in);
    const float *want = mbt_engine_logits(ref);
    int scales = 0, folds = 0;
    for (int i = 0; i < m.nlayers; i++) {
      scales += m.layers[i].op == MBT_OP_SCALE;
      folds += mbt_engine_folds(e, i);
    }
    const char *runner = getenv("MBT_RUNNER");
    const int max_threads = runner && *runner ? 1 : 2;
    for (int threads = 1; threads <= max_threads; threads++)
      for (int sched = 0; sched < (threads > 1 ? 2 : 1); sched++) { /* one thread: layers */
        mbt_engine_set_threads(e, threads);
        mbt_engine_set_schedule(e, sched ? MBT_SCHEDULE_FLOW : MBT_SCHEDULE_LAYERS);
        double err = 0, big = 0;
        for (int run = 0; run < 2; run++) { /* twice: the second reuses the folded buffers */
          mbt_engine_run(e, in);
          const float *got = mbt_engine_logits(e);
          for (int c = 0; c < 1000; c++) {
            const double d = fabs((double)got[c] - want[c]), w = fabs((double)want[c]);
            if (d > err) err = d;
            if (w > big) big = w;
          }
        }
        ok(scales > 3 && folds == scales && err <= 1e-5 + 1e-4 * big,
           "%s %g/64, %d of %d scales folded into the project's weights, %d thread(s), %s: max "
           "|logit - ref| %.3g", mbt_net_name(m.kind), m.alpha, folds, scales, threads,
           sched ? "flow" : "layers", err);
      }
    /* the projects on a variant of natural [ic][oc] weights (no packer): the fold scales
     * those */
    int natural = 0, still = 0;
    for (int i = 0; i + 1 < m.nlayers; i++) {
      if (!mbt_layer_foldable(&m, i)) continue;
      const struct mbt_kshape ks = mbt_layer_kshape(&m.layers[i + 1]);
      const struct mbt_variant *nv = mbt_registry_find("ref/mbt_f32_pwconv_ref", &ks);
      natural += nv && mbt_engine_use(e, i + 1, nv) == MBT_OK;
      still += mbt_engine_folds(e, i);
    }
    mbt_engine_set_threads(e, 1);
    mbt_engine_run(e, in);
    double err = 0, big = 0;
    for (int c = 0; c < 1000; c++) {
      const double d = fabs((double)mbt_engine_logits(e)[c] - want[c]), w = fabs((double)want[c]);
      if (d > err) err = d;
      if (w > big) big = w;
    }
    ok(natural == scales && still == scales && err <= 1e-5 + 1e-4 * big,
       "%s %g/64, %d folds into projects on natural weights: max |logit - ref| %.3g",
       mbt_net_name(m.kind), m.alpha, still, err);
    mbt_free(in);
    mbt_engine_destroy(e);
    mbt_engine_destroy(ref);
    mbt_model_free(&m);
  }
  return done();
}
