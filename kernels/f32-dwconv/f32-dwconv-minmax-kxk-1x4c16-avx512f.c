/* Depthwise KxK (K = 3, 5) with stride S (1, 2) and padding (K-1)/2, AVX-512F, "tiled" by
 * output rows: for each output row and each block of 16 channels, a register tile of 4 output
 * pixels x 16 channels slides along the row.  Each input vector loaded for the tile feeds every
 * output pixel and tap that uses it (6 loads per row for 12 FMAs at 3x3 stride 1, instead of
 * 12), and the K weights of a kernel row stay in registers for the whole tile.  Tiles at the
 * edges (taps in the padding) skip the missing input vectors; a last tile of fewer than 4
 * pixels stores only those.  Weights in the natural layout
 * w[k][k][c].  Channel remainders use masked loads and stores, so nothing is read or written
 * past any buffer; the output is written once and never read. */
#include "config.h"

#include <immintrin.h>

#include "kernels/kernels.h"

static inline __mmask16 tail(int n) {
  return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

static inline __attribute__((always_inline)) __m512 ld(const float *p, int full, __mmask16 m) {
  return full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
}

static inline __attribute__((always_inline)) void store(const struct mbt_exec *e, size_t o,
                                                        __m512 v, int full, __mmask16 m) {
  v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(e->lo)), _mm512_set1_ps(e->hi));
  if (e->hswish) { /* v relu6(v + 3) / 6 */
    const __m512 r = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, _mm512_set1_ps(3.0f)),
                                                 _mm512_setzero_ps()), _mm512_set1_ps(6.0f));
    v = _mm512_mul_ps(v, _mm512_mul_ps(r, _mm512_set1_ps(1.0f / 6.0f)));
  }
  if (e->res) v = _mm512_add_ps(v, ld(e->res + o, full, m));
  if (full) _mm512_storeu_ps(e->out + o, v);
  else _mm512_mask_storeu_ps(e->out + o, m, v);
}

/* Up to 4 output pixels (np) x 16 channels starting at (oy, ox, c0).  Input vector j of a kernel
 * row is pixel ix0 + j; only j in [jlo, jhi) lie inside the input (the rest is padding and is
 * neither loaded nor added).  Interior tiles pass the full constant range, so that copy has no
 * tests at all; edge tiles pass their range. */
static inline __attribute__((always_inline)) void tile4(const struct mbt_exec *e, int oy, int ox,
                                                        int c0, int full, int np, int jlo,
                                                        int jhi, const int K, const int S) {
  const struct mbt_layer *l = e->l;
  const int c = l->ic, W = l->iw, P = (K - 1) / 2;
  const __mmask16 m = tail(full ? 16 : c - c0);
  const __m512 bias = e->b ? ld(e->b + c0, full, m) : _mm512_setzero_ps();
  __m512 a0 = bias, a1 = bias, a2 = bias, a3 = bias;
  /* x points at input pixel ox S - P + j, j >= jlo; computed from jlo so it stays in bounds */
  for (int ky = 0; ky < K; ky++) {
    const int iy = oy * S - P + ky;
    if (iy < 0 || iy >= l->ih) continue;
    const float *x = e->in + ((size_t)iy * W + (size_t)(ox * S - P + jlo)) * c + c0;
    const float *wr = e->w + (size_t)ky * K * c + c0;
    __m512 w[5];
#pragma GCC unroll 5
    for (int kx = 0; kx < K; kx++) w[kx] = ld(wr + (size_t)kx * c, full, m);
#pragma GCC unroll 11
    for (int j = 0; j < 3 * S + K; j++) { /* input vector j feeds pixel p at tap j - p S */
      if (j < jlo || j >= jhi) continue;
      const __m512 v = ld(x + (size_t)(j - jlo) * c, full, m);
      if (j < K) a0 = _mm512_fmadd_ps(v, w[j], a0);
      if (j >= S && j - S < K) a1 = _mm512_fmadd_ps(v, w[j - S], a1);
      if (j >= 2 * S && j - 2 * S < K) a2 = _mm512_fmadd_ps(v, w[j - 2 * S], a2);
      if (j >= 3 * S && j - 3 * S < K) a3 = _mm512_fmadd_ps(v, w[j - 3 * S], a3);
    }
  }
  const size_t o = ((size_t)(oy - e->orow0) * l->ow + ox) * c + c0;
  store(e, o, a0, full, m);
  if (np > 1) store(e, o + c, a1, full, m);
  if (np > 2) store(e, o + 2 * (size_t)c, a2, full, m);
  if (np > 3) store(e, o + 3 * (size_t)c, a3, full, m);
}

/* Channel blocks of e->mc channels (0 = all) outermost; within one, row by row, tile by tile
 * along the row, and every 16-channel group of the block within a tile.  With all channels, each
 * input cache line is used up while it is in L1 (best for wide maps of few channels); with a
 * block of 32-64 channels, the K input rows of the block stay in L1 from one output row to the
 * next (best for small maps of many channels, where NHWC pixels lie kilobytes apart). */
static inline __attribute__((always_inline)) void rows(const struct mbt_exec *e, int r0, int r1,
                                                       const int K, const int S) {
  const struct mbt_layer *l = e->l;
  const int ow = l->ow, P = (K - 1) / 2;
  /* this call's share of the 8-channel blocks (threads may split channels) */
  const int nblk = (l->ic + 15) / 16, parts = e->cparts > 1 ? e->cparts : 1;
  const int cb = nblk * e->cpart / parts * 16, ce0 = nblk * (e->cpart + 1) / parts * 16;
  const int cend = ce0 < l->ic ? ce0 : l->ic, chunk = e->mc > 0 ? e->mc : l->ic;
  for (int cc = cb; cc < cend; cc += chunk) {
    const int c = cc + chunk < cend ? cc + chunk : cend;
    for (int oy = r0; oy < r1; oy++)
      for (int ox = 0; ox < ow; ox += 4) {
        const int np = ow - ox < 4 ? ow - ox : 4, ix0 = ox * S - P;
        const int jlo = ix0 < 0 ? -ix0 : 0;
        const int jhi = l->iw - ix0 < 3 * S + K ? l->iw - ix0 : 3 * S + K;
        int c0 = cc;
        if (np == 4 && jlo == 0 && jhi == 3 * S + K) { /* interior: constant range */
          for (; c0 + 16 <= c; c0 += 16) tile4(e, oy, ox, c0, 1, 4, 0, 3 * S + K, K, S);
          if (c0 < c) tile4(e, oy, ox, c0, 0, 4, 0, 3 * S + K, K, S);
        } else {
          for (; c0 + 16 <= c; c0 += 16) tile4(e, oy, ox, c0, 1, np, jlo, jhi, K, S);
          if (c0 < c) tile4(e, oy, ox, c0, 0, np, jlo, jhi, K, S);
        }
      }
  }
}

#define DW_VARIANT(K, S)                                                                       \
  int mbt_dw512_##K##x##K##s##S##_applicable(const struct mbt_layer *l) {                         \
    return l->k == K && l->stride == S && l->pad == (K - 1) / 2;                               \
  }                                                                                            \
  void mbt_f32_dwconv_minmax_ukernel_##K##x##K##s##S##_1x4c16__avx512f(const struct mbt_exec *e,   \
                                                                   int r0, int r1) {           \
    rows(e, r0, r1, K, S);                                                                     \
  }
DW_VARIANT(3, 1)
DW_VARIANT(3, 2)
DW_VARIANT(5, 1)
DW_VARIANT(5, 2)
