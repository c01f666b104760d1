/* Pointwise 1x1 as C[P x oc] = A[P x ic] * W[ic x oc], portable C: one pixel x 16 output
 * channels per tile, float accumulation.  Partial tiles (oc not a multiple of 16) handled;
 * no over-read; the output is written once and never read. */
#include "config.h"

#include "kernels/kernels.h"

#define NR 16

void mbt_f32_pwconv_minmax_ukernel_1x16__scalar(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  const int ic = l->ic, oc = l->oc;
  const size_t ldo = e->ldo ? e->ldo : (size_t)oc;
  for (size_t p = (size_t)r0 * l->ow; p < (size_t)r1 * l->ow; p++) {
    const float *a = e->in + p * ic;
    for (int n0 = 0; n0 < oc; n0 += NR) {
      const int n = oc - n0 < NR ? oc - n0 : NR;
      float acc[NR] = {0};
      for (int ci = 0; ci < ic; ci++) {
        const float *w = e->w + (size_t)ci * oc + n0;
        const float x = a[ci];
        for (int j = 0; j < n; j++) acc[j] += x * w[j];
      }
      float *y = e->out + p * ldo + n0;
      for (int j = 0; j < n; j++) {
        float v = mbt_actf(e, acc[j] + (e->b ? e->b[n0 + j] : 0.0f));
        y[j] = e->res ? v + e->res[p * ldo + n0 + j] : v;
      }
    }
  }
}
