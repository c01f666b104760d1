/* Full KxK convolution (the stem: few input channels), direct, AVX-512F: a register tile of 12
 * output pixels x 16 output channels (12 accumulators), two 16-channel panels at a time where
 * the call has two (24 accumulators: V1's and V2's 32-channel stems), one for the 16-channel
 * stems of the V3 networks, where a 32-channel tile would compute half zeros.  Every (ky, kx,
 * ci) tap loads one weight vector per panel and broadcasts each of the 12 pixels' input values
 * once for both (no im2col copy).  Whole tiles whose taps are all inside the input take the
 * fast path; in edge tiles a tap in the padding reads zeros.  Channel tails use a k-mask, so
 * nothing is read or written past any buffer.  Honours cpart/cparts (16-channel panels). */
#include "config.h"

#include <immintrin.h>

#include "kernels/avx512-common.h"
#include "kernels/kernels.h"

#define NR 16
#define MR 12

#define AI static inline __attribute__((always_inline))

static size_t conv_size(const struct mbt_kshape *l) { return mbt_conv_pack_size(l, NR); }
static void conv_pack(const struct mbt_kshape *l, const float *w, float *dst) {
  mbt_conv_pack(l, w, dst, NR);
}

const struct mbt_packer mbt_pack_f32_conv_nr16__avx512f = {conv_size, conv_pack, NR};

/* The taps of a tile whose every tap is inside the input, on @p np panels (1 or 2, a constant)
 * @p pk floats apart from @p b: pixel p of tap t reads in0[off[t] + p ps].  The callers pass ps
 * as a constant where they can, so the 12 reads are displacements from one address (with ps in
 * a register the compiler chains 12 dependent adds per tap). */
AI void taps_inside(__m512 acc[2][MR], const int np, const float *in0, const size_t *off,
                    size_t K, const size_t ps, const float *b, size_t pk) {
  for (size_t t = 0; t < K; t++, b += NR) {
    const __m512 w0 = _mm512_load_ps(b), w1 = np > 1 ? _mm512_load_ps(b + pk) : w0;
    const float *x = in0 + off[t];
#pragma GCC unroll 12
    for (int p = 0; p < MR; p++) {
      const __m512 v = _mm512_set1_ps(x[(size_t)p * ps]);
      acc[0][p] = _mm512_fmadd_ps(v, w0, acc[0][p]);
      if (np > 1) acc[1][p] = _mm512_fmadd_ps(v, w1, acc[1][p]);
    }
  }
}

/* The taps of an edge tile of @p npx pixels from (oy, ox): a pixel whose tap falls in the
 * padding (or that is past npx) reads zeros instead, so every pixel runs every tap and the
 * accumulators stay in registers.  (Skipping those taps per pixel indexed the accumulators at
 * run time, which kept them in memory: a 56 x 56 stem, a third of whose pixels are in edge
 * tiles, took 64 us that way and 56 this way.) */
AI void taps_edge(__m512 acc[2][MR], const int np, const struct mbt_exec *e, int oy, int ox,
                  int npx, const float *bp, size_t pk) {
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
        const __m512 w0 = _mm512_load_ps(b + (size_t)ci * NR);
        const __m512 w1 = np > 1 ? _mm512_load_ps(b + pk + (size_t)ci * NR) : w0;
#pragma GCC unroll 12
        for (int p = 0; p < MR; p++) {
          const __m512 v = _mm512_set1_ps(xp[p][ci]);
          acc[0][p] = _mm512_fmadd_ps(v, w0, acc[0][p]);
          if (np > 1) acc[1][p] = _mm512_fmadd_ps(v, w1, acc[1][p]);
        }
      }
    }
  }
}

/* Bias, clamp, epilogue function and the stores of one panel's @p npx pixels. */
AI void store_panel(const struct mbt_exec *e, const __m512 acc[MR], int oy, int ox, int npx,
                    size_t j) {
  const struct mbt_kshape *l = &e->s;
  const __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
  const int n0 = (int)j * NR, ncols = l->oc - n0 < NR ? l->oc - n0 : NR;
  const __mmask16 m = mbt_mask16(ncols);
  const __m512 bias = e->b ? _mm512_maskz_loadu_ps(m, e->b + n0) : _mm512_setzero_ps();
#pragma GCC unroll 12
  for (int p = 0; p < MR; p++) { /* a constant bound: the accumulators stay in registers */
    if (p >= npx) break;
    __m512 y = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(acc[p], bias), lo), hi);
    if (e->post) y = mbt_post_avx512(y, e->post);
    _mm512_mask_storeu_ps(e->out + ((size_t)oy * l->ow + ox + p) * l->oc + n0, m, y);
  }
}

/* The tile at (oy, ox) on panels j .. j + np - 1. */
AI void tile(const struct mbt_exec *e, const size_t *off, int oy, int ox, size_t j,
             const int np) {
  const struct mbt_kshape *l = &e->s;
  const int k = l->k, s = l->stride, ic = l->ic, W = l->iw;
  const size_t K = (size_t)k * k * ic, pk = NR * K;
  const int npx = l->ow - ox < MR ? l->ow - ox : MR;
  const int iy0 = oy * s - l->pad, ix0 = ox * s - l->pad;
  const float *bp = e->packed + j * pk;
  __m512 acc[2][MR];
#pragma GCC unroll 12
  for (int p = 0; p < MR; p++) acc[0][p] = acc[1][p] = _mm512_setzero_ps();
  if (npx == MR && iy0 >= 0 && iy0 + k <= l->ih && ix0 >= 0 && ix0 + (MR - 1) * s + k <= W) {
    const float *in0 = e->in + ((size_t)iy0 * W + ix0) * ic;
    switch ((size_t)s * ic) { /* RGB stems at stride 2 and 1 */
      case 6: taps_inside(acc, np, in0, off, K, 6, bp, pk); break;
      case 3: taps_inside(acc, np, in0, off, K, 3, bp, pk); break;
      default: taps_inside(acc, np, in0, off, K, (size_t)s * ic, bp, pk); break;
    }
  } else {
    taps_edge(acc, np, e, oy, ox, npx, bp, pk);
  }
#pragma GCC unroll 2
  for (int q = 0; q < np; q++) store_panel(e, acc[q], oy, ox, npx, j + (size_t)q);
}

void mbt_f32_conv_minmax_ukernel_12x16__avx512f(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  size_t j0, j1;
  mbt_cpart_panels((size_t)(l->oc + NR - 1) / NR, e->cpart, e->cparts, &j0, &j1);
  size_t off[MBT_CONV_TAPS_MAX]; /* input offset of each (ky, kx, ci) tap from a corner */
  mbt_conv_taps(l, off);
  for (int oy = r0; oy < r1; oy++)
    for (int ox = 0; ox < l->ow; ox += MR) {
      mbt_conv_prefetch_out(e, oy, ox, MR, MR, r1, j0 * NR, j1 * NR); /* the next tile's */
      if (oy + 1 < r1) mbt_conv_prefetch_in(e, oy, ox, MR);
      size_t j = j0;
      for (; j + 2 <= j1; j += 2) tile(e, off, oy, ox, j, 2);
      if (j < j1) tile(e, off, oy, ox, j, 1);
    }
}
