/* tests/test-fused.c -- fused depthwise + pointwise against the two reference kernels run one
 * after the other, for every fusable pair of MobileNet V1 and V2 (alpha 0.5, 64 px, so every
 * channel count and stride occurs), every depthwise variant the host runs, a spread of pointwise
 * variants, strip heights 1, 3 and 8, and the rows split in two ranges (as two threads do).
 * Per element: |y - ref| <= 1e-6 + 2e-5 * (the same chain run on |x|, |w|, |bias|). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "net/net.h"
#include "tests/tap.h"

static float *falloc(size_t n) { return mbt_alloc(n ? n : 1, sizeof(float)); }

int main(void) {
  struct mbt_rng r;
  mbt_rng_seed(&r, test_seed());
  int nv;
  const struct mbt_variant *all = mbt_registry_all(&nv);
  for (int net = 1; net <= 2; net++) {
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
      struct mbt_exec xd = {d, x, mid, NULL, wd, bd, 0, 0, NULL, 0, 0, 0, 0, 1, 0, 0};
      struct mbt_exec xp = {p, mid, ref, NULL, wp, bp, 0, 0, NULL, 0, 0, 0, 0, 1, 0, 0};
      mbt_exec_act(&xd, d->act);
      mbt_exec_act(&xp, p->act);
      mbt_ref_dwconv(&xd, 0, d->oh);
      mbt_ref_pwconv(&xp, 0, p->oh);
      struct mbt_exec md = {d, ax, amid, NULL, awd, abd, -INFINITY, INFINITY, NULL, 0, 0, 0, 0, 1, 0, 0};
      struct mbt_exec mp = {p, amid, mag, NULL, awp, abp, -INFINITY, INFINITY, NULL, 0, 0, 0, 0, 1, 0, 0};
      mbt_ref_dwconv(&md, 0, d->oh);
      mbt_ref_pwconv(&mp, 0, p->oh);
      int pw_seen = 0;
      for (int a = 0; a < nv; a++) {
        if (all[a].op != MBT_OP_DWCONV || !mbt_registry_find(all[a].name, d)) continue;
        for (int b = 0; b < nv; b++) {
          if (all[b].op != MBT_OP_PWCONV || !mbt_registry_find(all[b].name, p)) continue;
          if (pw_seen++ % 5 != 0 && strncmp(all[b].name, "ref/", 4)) continue; /* a spread */
          float *packed;
          mbt_variant_pack(&all[b], p, wp, &packed);
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
  /* Whole networks with every fusable pair fused (strips of 1, 3 and 8 rows): the engine must
   * keep a fused depthwise layer's input alive until the pointwise layer has written its output
   * (activation buffers are shared by liveness), and 1 and 2 threads must agree. */
  for (int net = 1; net <= 2; net++) {
    struct mbt_model m;
    mbt_model_build((enum mbt_net_kind)net, 0.5, 64, &m);
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
    for (int rows = 1; rows <= 8; rows += rows == 1 ? 2 : 5)
      for (int threads = 1; threads <= max_threads; threads++) {
        int pairs = 0;
        for (int i = 0; i + 1 < m.nlayers; i++)
          if (mbt_pair_fusable(&m, i)) pairs += mbt_engine_fuse(e, i, rows) == MBT_OK;
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
        ok(pairs > 5 && err <= 1e-5 + 1e-4 * big,
           "%s 0.5/64 with %d pairs fused, rows=%d, %d thread(s): max |logit - ref| %.3g",
           mbt_net_name(m.kind), pairs, rows, threads, err);
      }
    mbt_free(in);
    mbt_engine_destroy(e);
    mbt_engine_destroy(ref);
    mbt_model_free(&m);
  }
  return done();
}
