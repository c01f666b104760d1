/* Full KxK convolution (the stem) as im2col + GEMM, AVX2+FMA: a strip of up to IM2COL_FLOATS /
 * (k k ic) output pixels of one row is unrolled into a row-major [pixels][k k ic] buffer (zeros
 * for the padding), then multiplied by the HWIO weights -- which are already the [k k ic][oc]
 * matrix the pointwise 6x16 tile wants -- with the fused epilogue.  Applies when one unrolled
 * pixel fits the buffer.  Reads and writes nothing outside the layer's buffers. */
#include "config.h"

#include <string.h>

#include "kernels/kernels.h"

#define IM2COL_FLOATS 8192 /* 32 KiB of stack: the strip stays in L1/L2 */

int mbt_conv_im2col_applicable(const struct mbt_kshape *l) {
  return l->k * l->k * l->ic <= IM2COL_FLOATS;
}

void mbt_f32_conv_minmax_ukernel_im2col_6x16__avx2(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  const int k = l->k, ic = l->ic, kk = k * k * ic;
  const int chunk = IM2COL_FLOATS / kk;
  float col[IM2COL_FLOATS];
  for (int oy = r0; oy < r1; oy++)
    for (int ox0 = 0; ox0 < l->ow; ox0 += chunk) {
      const int np = l->ow - ox0 < chunk ? l->ow - ox0 : chunk;
      for (int p = 0; p < np; p++) {
        float *row = col + (size_t)p * kk;
        for (int ky = 0; ky < k; ky++) {
          const int iy = oy * l->stride - l->pad + ky;
          for (int kx = 0; kx < k; kx++) {
            const int ix = (ox0 + p) * l->stride - l->pad + kx;
            float *dst = row + (ky * k + kx) * ic;
            if (iy < 0 || iy >= l->ih || ix < 0 || ix >= l->iw)
              memset(dst, 0, (size_t)ic * sizeof *dst);
            else
              memcpy(dst, e->in + ((size_t)iy * l->iw + ix) * ic, (size_t)ic * sizeof *dst);
          }
        }
      }
      /* The strip as a 1 x np pointwise problem over kk input channels. */
      struct mbt_kshape g = *l;
      g.op = MBT_KOP_PWCONV;
      g.ih = g.oh = 1, g.iw = g.ow = np, g.ic = kk, g.k = g.stride = 1, g.pad = 0;
      float *out = e->out + ((size_t)(oy - e->orow0) * l->ow + ox0) * l->oc;
      const struct mbt_exec x = {g, col, out, NULL, e->w, e->b, e->lo, e->hi, NULL, 0, 0, 0, 0, 1,
                                 e->post, 0, 0, 0, 0, NULL, 0};
      mbt_f32_pwconv_minmax_ukernel_6x16__avx2(&x, 0, 1);
    }
}
