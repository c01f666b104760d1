/* Depthwise KxK, any K, stride and padding, portable C: one output pixel at a time, the taps
 * accumulated over a block of up to 64 channels in float (the compiler may vectorise the
 * channel loop at the baseline ISA).  Partial channel blocks are handled; no over-read; the
 * output is written once and never read. */
#include "config.h"

#include "kernels/kernels.h"

#define CB 64 /* channels per accumulator block */

void mbt_f32_dwconv_minmax_ukernel_anyk_1x1c1__scalar(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  const int c = l->ic, k = l->k, s = l->stride;
  for (int oy = r0; oy < r1; oy++)
    for (int ox = 0; ox < l->ow; ox++)
      for (int c0 = 0; c0 < c; c0 += CB) {
        const int n = c - c0 < CB ? c - c0 : CB;
        float acc[CB];
        for (int j = 0; j < n; j++) acc[j] = e->b ? e->b[c0 + j] : 0.0f;
        for (int ky = 0; ky < k; ky++) {
          const int iy = oy * s - l->pad + ky;
          if (iy < 0 || iy >= l->ih) continue;
          for (int kx = 0; kx < k; kx++) {
            const int ix = ox * s - l->pad + kx;
            if (ix < 0 || ix >= l->iw) continue;
            const float *x = e->in + ((size_t)(iy - e->irow0) * l->iw + ix) * (e->ldi ? e->ldi : (size_t)c) + c0;
            const float *w = e->w + ((size_t)ky * k + kx) * c + c0;
            for (int j = 0; j < n; j++) acc[j] += x[j] * w[j];
          }
        }
        const size_t o = ((size_t)(oy - e->orow0) * l->ow + ox) * c + c0;
        for (int j = 0; j < n; j++) {
          float v = mbt_actf(e, acc[j]);
          e->out[o + j] = e->res ? v + e->res[o + j] : v;
        }
      }
}

/* The KxK-specialised SIMD families (dw-tile.h) apply to K = 3, 5 at stride S, any padding
 * below K before the map. */
#define DW_APPLICABLE(K, S)                                                                    \
  int mbt_dw_##K##x##K##s##S##_applicable(const struct mbt_kshape *l) {                         \
    return l->k == K && l->stride == S && l->pad >= 0 && l->pad < K;                           \
  }
DW_APPLICABLE(3, 1)
DW_APPLICABLE(3, 2)
DW_APPLICABLE(5, 1)
DW_APPLICABLE(5, 2)
