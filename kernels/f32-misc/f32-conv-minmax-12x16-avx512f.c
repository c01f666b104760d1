/* Full KxK convolution (the stem: few input channels), direct, AVX-512F: a register tile of 12
 * output pixels x 16 output channels (12 accumulators), for stems of 16 output channels (the
 * V3 networks'), where a 32-channel tile computes half zeros.  Every (ky, kx, ci) tap loads one
 * weight vector of the 16-column panel and feeds 12 FMAs, each broadcasting one input value in
 * place (no im2col copy).  Whole tiles whose taps are all inside the input take the fast path;
 * in edge tiles a tap in the padding reads zeros.  Channel tails use a k-mask, so nothing is
 * read or written past any buffer.  Honours cpart/cparts (16-channel panels). */
#include "config.h"

#include <immintrin.h>

#include "kernels/avx512-common.h"
#include "kernels/kernels.h"

#define NR 16
#define MR 12

static size_t conv_size(const struct mbt_kshape *l) { return mbt_conv_pack_size(l, NR); }
static void conv_pack(const struct mbt_kshape *l, const float *w, float *dst) {
  mbt_conv_pack(l, w, dst, NR);
}

const struct mbt_packer mbt_pack_f32_conv_nr16__avx512f = {conv_size, conv_pack, NR};

/* The taps of a tile whose every tap is inside the input: pixel p of tap t reads
 * in0[off[t] + p ps].  The caller passes ps as a constant where it can, so the 12 reads are
 * displacements from one address (with ps in a register the compiler chains 12 dependent adds
 * per tap). */
static inline __attribute__((always_inline)) void taps_inside(__m512 acc[MR], const float *in0,
                                                              const size_t *off, size_t K,
                                                              const size_t ps, const float *b) {
  for (size_t t = 0; t < K; t++, b += NR) {
    const __m512 w = _mm512_load_ps(b);
    const float *x = in0 + off[t];
#pragma GCC unroll 12
    for (int p = 0; p < MR; p++) acc[p] = _mm512_fmadd_ps(_mm512_set1_ps(x[(size_t)p * ps]), w, acc[p]);
  }
}

/* The taps of an edge tile of @p npx pixels from (oy, ox): a pixel whose tap falls in the
 * padding (or that is past npx) reads zeros instead, so every pixel runs every tap and the
 * accumulators stay in registers.  (Skipping those taps per pixel indexed the accumulators at
 * run time, which kept them in memory: a 56 x 56 stem, a third of whose pixels are in edge
 * tiles, took 64 us that way and 56 this way.) */
static inline __attribute__((always_inline)) void taps_edge(__m512 acc[MR],
                                                            const struct mbt_exec *e, int oy,
                                                            int ox, int npx, const float *bp) {
  static const float zeros[16]; /* ic <= 16 (mbt_conv_direct_applicable) */
  const struct mbt_kshape *l = &e->s;
  const int k = l->k, s = l->stride, ic = l->ic;
  for (int ky = 0; ky < k; ky++) {
    const int iy = oy * s - l->pad + ky;
    if (iy < 0 || iy >= l->ih) continue; /* a row of padding: zero for every pixel */
    for (int kx = 0; kx < k; kx++) {
      const float *xp[MR];
#pragma GCC unroll 12
      for (int p = 0; p < MR; p++) {
        const int ix = (ox + p) * s - l->pad + kx;
        xp[p] = p < npx && ix >= 0 && ix < l->iw ? e->in + ((size_t)iy * l->iw + ix) * ic : zeros;
      }
      const float *b = bp + (size_t)(ky * k + kx) * ic * NR;
      for (int ci = 0; ci < ic; ci++) {
        const __m512 w = _mm512_load_ps(b + (size_t)ci * NR);
#pragma GCC unroll 12
        for (int p = 0; p < MR; p++) acc[p] = _mm512_fmadd_ps(_mm512_set1_ps(xp[p][ci]), w, acc[p]);
      }
    }
  }
}

void mbt_f32_conv_minmax_ukernel_12x16__avx512f(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  const int k = l->k, s = l->stride, ic = l->ic, W = l->iw;
  const size_t K = (size_t)k * k * ic;
  size_t j0, j1;
  mbt_cpart_panels((size_t)(l->oc + NR - 1) / NR, e->cpart, e->cparts, &j0, &j1);
  const __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
  size_t off[MBT_CONV_TAPS_MAX]; /* input offset of each (ky, kx, ci) tap from a corner */
  mbt_conv_taps(l, off);
  for (int oy = r0; oy < r1; oy++)
    for (int ox = 0; ox < l->ow; ox += MR) {
      const int npx = l->ow - ox < MR ? l->ow - ox : MR;
      const int iy0 = oy * s - l->pad, ix0 = ox * s - l->pad;
      const int inside = npx == MR && iy0 >= 0 && iy0 + k <= l->ih && ix0 >= 0 &&
                         ix0 + (MR - 1) * s + k <= W;
      mbt_conv_prefetch_out(e, oy, ox, MR, MR, r1, j0 * NR, j1 * NR); /* the next tile's */
      for (size_t j = j0; j < j1; j++) {
        const float *bp = e->packed + j * NR * K;
        __m512 acc[MR];
#pragma GCC unroll 12
        for (int p = 0; p < MR; p++) acc[p] = _mm512_setzero_ps();
        if (inside) {
          const float *in0 = e->in + ((size_t)iy0 * W + ix0) * ic;
          switch ((size_t)s * ic) { /* RGB stems at stride 2 and 1 */
            case 6: taps_inside(acc, in0, off, K, 6, bp); break;
            case 3: taps_inside(acc, in0, off, K, 3, bp); break;
            default: taps_inside(acc, in0, off, K, (size_t)s * ic, bp); break;
          }
        } else
          taps_edge(acc, e, oy, ox, npx, bp);
        const int n0 = (int)j * NR, ncols = l->oc - n0 < NR ? l->oc - n0 : NR;
        const __mmask16 m = (__mmask16)(ncols >= 16 ? 0xffff : (1u << ncols) - 1);
        const __m512 bias = e->b ? _mm512_maskz_loadu_ps(m, e->b + n0) : _mm512_setzero_ps();
        for (int p = 0; p < npx; p++) {
          __m512 y = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(acc[p], bias), lo), hi);
          if (e->post) y = mbt_post_avx512(y, e->post);
          _mm512_mask_storeu_ps(e->out + ((size_t)oy * l->ow + ox + p) * l->oc + n0, m, y);
        }
      }
    }
}
