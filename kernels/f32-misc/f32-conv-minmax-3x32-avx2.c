/* Full KxK convolution (the stem: few input channels), direct, AVX2+FMA: a register tile of 3
 * output pixels x 32 output channels (12 accumulators) accumulates over every (ky, kx, ci) tap,
 * reading the input pixels in place (no im2col copy).  The HWIO weights are the [k k ic][oc]
 * matrix of a pointwise layer, packed once into 32-column panels.  Taps outside the input
 * (padding) are skipped per pixel; partial pixel tiles and channel remainders (masked stores)
 * are handled, so nothing is read or written past any buffer.  Honours cpart/cparts. */
#include "config.h"

#include <immintrin.h>

#include "kernels/avx2-common.h"
#include "kernels/kernels.h"

#define NR 32

static size_t kdim(const struct mbt_kshape *l) { return (size_t)l->k * l->k * l->ic; }
static size_t npanels(const struct mbt_kshape *l) { return (size_t)(l->oc + NR - 1) / NR; }

static size_t conv_size(const struct mbt_kshape *l) { return mbt_conv_pack_size(l, NR); }
static void conv_pack(const struct mbt_kshape *l, const float *w, float *dst) {
  mbt_conv_pack(l, w, dst, NR);
}

const struct mbt_packer mbt_pack_f32_conv_nr32__avx2 = {conv_size, conv_pack, 32, NULL};

int mbt_conv_direct_applicable(const struct mbt_kshape *l) { return l->ic <= 16 && l->k <= 7; }

static inline __m256i tail_mask(int n) {
  static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i *)(m + 8 - (n < 0 ? 0 : n > 8 ? 8 : n)));
}

void mbt_f32_conv_minmax_ukernel_3x32__avx2(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  const int k = l->k, s = l->stride, ic = l->ic, W = l->iw;
  const size_t K = kdim(l);
  size_t j0, j1;
  mbt_cpart_panels(npanels(l), e->cpart, e->cparts, &j0, &j1);
  const __m256 lo = _mm256_set1_ps(e->lo), hi = _mm256_set1_ps(e->hi);
  size_t off[MBT_CONV_TAPS_MAX]; /* input offset of each (ky, kx, ci) tap from a corner */
  mbt_conv_taps(l, off);
  for (int oy = r0; oy < r1; oy++)
    for (int ox = 0; ox < l->ow; ox += 3) {
      const int npx = l->ow - ox < 3 ? l->ow - ox : 3;
      mbt_conv_prefetch_out(e, oy, ox, 12, 3, r1, j0 * NR, j1 * NR); /* 4 tiles ahead */
      if (oy + 1 < r1) mbt_conv_prefetch_in(e, oy, ox, 3);
      for (size_t j = j0; j < j1; j++) {
        const float *bp = e->packed + j * NR * K;
        __m256 acc[3][4];
#pragma GCC unroll 3
        for (int p = 0; p < 3; p++)
#pragma GCC unroll 4
          for (int v = 0; v < 4; v++) acc[p][v] = _mm256_setzero_ps();
        const int iy0 = oy * s - l->pad, ix0 = ox * s - l->pad;
        if (npx == 3 && iy0 >= 0 && iy0 + k <= l->ih && ix0 >= 0 && ix0 + 2 * s + k <= W) {
          /* interior: every tap inside; tap t of pixel p reads in0 + off[t] + p s ic */
          const float *in0 = e->in + ((size_t)iy0 * W + ix0) * ic;
          const size_t ps = (size_t)s * ic;
          const float *b = bp;
          for (size_t t = 0; t < K; t++, b += NR) {
            const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
            const __m256 b2 = _mm256_load_ps(b + 16), b3 = _mm256_load_ps(b + 24);
            const float *x = in0 + off[t];
#pragma GCC unroll 3
            for (int p = 0; p < 3; p++) {
              const __m256 xv = _mm256_broadcast_ss(x + (size_t)p * ps);
              acc[p][0] = _mm256_fmadd_ps(xv, b0, acc[p][0]);
              acc[p][1] = _mm256_fmadd_ps(xv, b1, acc[p][1]);
              acc[p][2] = _mm256_fmadd_ps(xv, b2, acc[p][2]);
              acc[p][3] = _mm256_fmadd_ps(xv, b3, acc[p][3]);
            }
          }
        } else {
        for (int ky = 0; ky < k; ky++) {
          const int iy = oy * s - l->pad + ky;
          if (iy < 0 || iy >= l->ih) continue;
          for (int kx = 0; kx < k; kx++) {
            const float *xp[3];            for (int p = 0; p < 3; p++) {
              const int ix = (ox + p) * s - l->pad + kx;
              xp[p] = p < npx && ix >= 0 && ix < W ? e->in + ((size_t)iy * W + ix) * ic : NULL;
            }
            const float *b = bp + ((size_t)(ky * k + kx) * ic) * NR;
            for (int ci = 0; ci < ic; ci++, b += NR) {
              const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
              const __m256 b2 = _mm256_load_ps(b + 16), b3 = _mm256_load_ps(b + 24);
#pragma GCC unroll 3
              for (int p = 0; p < 3; p++) {
                if (!xp[p]) continue;
                const __m256 x = _mm256_broadcast_ss(xp[p] + ci);
                acc[p][0] = _mm256_fmadd_ps(x, b0, acc[p][0]);
                acc[p][1] = _mm256_fmadd_ps(x, b1, acc[p][1]);
                acc[p][2] = _mm256_fmadd_ps(x, b2, acc[p][2]);
                acc[p][3] = _mm256_fmadd_ps(x, b3, acc[p][3]);
              }
            }
          }
        }
        }
        const int n0 = (int)j * NR, ncols = l->oc - n0 < NR ? l->oc - n0 : NR;
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
          const __m256i m = tail_mask(ncols - 8 * v);
          const int full = ncols >= 8 * v + 8; /* masked stores are slow: only at the tail */
          const __m256 bias = !e->b ? _mm256_setzero_ps()
                              : full ? _mm256_loadu_ps(e->b + n0 + 8 * v)
                                     : _mm256_maskload_ps(e->b + n0 + 8 * v, m);
#pragma GCC unroll 3
          for (int p = 0; p < 3; p++) { /* constant bound: acc stays in registers */
            if (p >= npx) break;
            __m256 y = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(acc[p][v], bias), lo), hi);
            if (e->post) y = mbt_post_avx2(y, e->post);
            float *dst =
                e->out + ((size_t)(oy - e->orow0) * l->ow + ox + p) * l->oc + n0 + 8 * v;
            if (full) _mm256_storeu_ps(dst, y);
            else _mm256_maskstore_ps(dst, m, y);
          }
        }
      }
    }
}
