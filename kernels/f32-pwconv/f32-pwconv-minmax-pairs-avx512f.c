/* Pointwise 1x1 with 24 or 40 output channels, AVX-512F, two pixels per register row.  A tile
 * of 16-lane vectors computes 32 or 48 lanes for a pixel's 24 or 40 channels: a quarter or a
 * sixth of its FMAs fall on masked-off lanes (V2's and V3's projects to 24 and 40 channels, and
 * their blocks).  Two consecutive pixels' 2N outputs are 3 or 5 whole vectors instead: the
 * middle one holds the first pixel's last 8 channels in its low lanes and the second pixel's
 * first 8 in its high lanes.  Per reduction step each pixel's input is broadcast once and the
 * middle vector's operand is a blend of the two broadcasts (mix); the weights are packed with each
 * row twice (2N floats, mbt_pack_f32_pairs), so one aligned load per vector serves both pixels.
 *
 * Tiles of MP pixel pairs: 8 x 3 vectors at 24 channels, 4 x 5 at 40 (24 and 20 accumulators
 * with the weights and three operands in the 32 registers).  The reduction runs whole, so the
 * output is written once; a last odd pixel runs as a pair whose second pixel reads the first's
 * input and is not stored.  Any output pixel stride (ldo, also the residual's): the middle
 * vector goes out as two masked halves, one at each pixel, unless the pixels are dense. */
#include "config.h"

#include <immintrin.h>

#include "kernels/avx512-common.h"
#include "kernels/kernels.h"

#define AI static inline __attribute__((always_inline))

struct call {
  const float *in, *w, *res;
  float *out;
  size_t k, ldc;
  __m512 lo, hi, bias[5];
  int post, n, dense;
};

/* Vector @p j of the pair at @p c (the first pixel at c, the second at c + ldc): a load of
 * @p q 16-channel vectors per pixel and the middle one. */
AI __m512 pair_load(const struct call *x, const float *c, int j, const int q) {
  const int n = 16 * q + 8;
  if (j < q) return _mm512_loadu_ps(c + 16 * j);
  if (j > q) return _mm512_loadu_ps(c + x->ldc + 16 * j - n);
  if (x->dense) return _mm512_loadu_ps(c + 16 * q);
  return _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(0x00ff, c + 16 * q), 0xff00,
                              c + x->ldc - 8);
}

AI void pair_store(const struct call *x, float *c, int j, __m512 v, int half, const int q) {
  const int n = 16 * q + 8;
  if (j < q) _mm512_storeu_ps(c + 16 * j, v);
  else if (j > q) {
    if (!half) _mm512_storeu_ps(c + x->ldc + 16 * j - n, v);
  } else if (x->dense && !half) {
    _mm512_storeu_ps(c + 16 * q, v);
  } else {
    _mm512_mask_storeu_ps(c + 16 * q, 0x00ff, v);
    if (!half) _mm512_mask_storeu_ps(c + x->ldc - 8, 0xff00, v);
  }
}

/* The middle vector's operand: x0's low 8 lanes, x1's high 8.  As an integer blend: the float
 * one (vblendmps) took an FMA port here, and the 56x56x96 -> 24 layer ran 0.88x as fast. */
AI __m512 mix(__m512 x0, __m512 x1) {
  return _mm512_castsi512_ps(
      _mm512_mask_blend_epi32(0xff00, _mm512_castps_si512(x0), _mm512_castps_si512(x1)));
}

/* @p mp pairs from pixel @p p; with @p half the last pair is one pixel. */
AI void tile(const struct call *x, size_t p, const int mp, const int q, int half) {
  const int nv = 2 * q + 1;
  const size_t k = x->k;
  __m512 acc[8][5];
  const float *a0[8], *a1[8];
#pragma GCC unroll 8
  for (int i = 0; i < mp; i++) {
    a0[i] = x->in + (p + 2 * (size_t)i) * k;
    a1[i] = half && i == mp - 1 ? a0[i] : a0[i] + k;
#pragma GCC unroll 5
    for (int j = 0; j < nv; j++) acc[i][j] = x->bias[j];
  }
  const float *w = x->w;
  for (size_t r = 0; r < k; r++, w += 16 * nv) {
    __m512 b[5];
#pragma GCC unroll 5
    for (int j = 0; j < nv; j++) b[j] = _mm512_load_ps(w + 16 * j);
#pragma GCC unroll 8
    for (int i = 0; i < mp; i++) {
      const __m512 x0 = _mm512_set1_ps(a0[i][r]), x1 = _mm512_set1_ps(a1[i][r]);
      const __m512 xm = mix(x0, x1);
#pragma GCC unroll 5
      for (int j = 0; j < nv; j++)
        acc[i][j] = _mm512_fmadd_ps(j < q ? x0 : j == q ? xm : x1, b[j], acc[i][j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < mp; i++) {
    const int h = half && i == mp - 1;
    float *c = x->out + (p + 2 * (size_t)i) * x->ldc;
    const float *rs = x->res ? x->res + (p + 2 * (size_t)i) * x->ldc : NULL;
#pragma GCC unroll 5
    for (int j = 0; j < nv; j++) {
      if (h && j > q) continue;
      __m512 v = _mm512_min_ps(_mm512_max_ps(acc[i][j], x->lo), x->hi);
      if (x->post) v = mbt_post_avx512(v, x->post);
      if (rs) v = _mm512_add_ps(v, h && j == q ? _mm512_maskz_loadu_ps(0x00ff, rs + 16 * q)
                                               : pair_load(x, rs, j, q));
      pair_store(x, c, j, v, h, q);
    }
  }
}

#define CASE(M)                      \
  case M:                            \
    tile(&x, p, M, Q, np % 2 != 0);  \
    break;

/* Pixels [r0 ow, r1 ow) in tiles of MP pairs. */
#define PAIRS(FN, Q, MP, CASES)                                                                \
  void FN(const struct mbt_exec *e, int r0, int r1) {                                          \
    const struct mbt_kshape *l = &e->s;                                                        \
    const int n = 16 * Q + 8;                                                                  \
    struct call x;                                                                             \
    x.in = e->in, x.w = e->packed, x.res = e->res, x.out = e->out, x.k = (size_t)l->ic;        \
    x.ldc = e->ldo ? e->ldo : (size_t)n, x.dense = x.ldc == (size_t)n;                         \
    x.lo = _mm512_set1_ps(e->lo), x.hi = _mm512_set1_ps(e->hi), x.post = e->post, x.n = n;     \
    float bias[80] __attribute__((aligned(64))); /* the bias twice, as the pairs hold it */     \
    for (int i = 0; i < 2 * n; i++) bias[i] = e->b ? e->b[i % n] : 0.0f;                       \
    for (int j = 0; j < 2 * Q + 1; j++) x.bias[j] = _mm512_load_ps(bias + 16 * j);             \
    const size_t p1 = (size_t)r1 * l->ow;                                                      \
    for (size_t p = (size_t)r0 * l->ow; p < p1; p += 2 * MP) {                                 \
      const size_t np = p1 - p < 2 * MP ? p1 - p : 2 * MP;                                     \
      switch ((np + 1) / 2) { CASES }                                                          \
    }                                                                                          \
  }

#define Q 1
PAIRS(mbt_f32_pwconv_minmax_ukernel_16x24pairs__avx512f, 1, 8,
      CASE(8) CASE(7) CASE(6) CASE(5) CASE(4) CASE(3) CASE(2) default : CASE(1))
#undef Q
#define Q 2
PAIRS(mbt_f32_pwconv_minmax_ukernel_8x40pairs__avx512f, 2, 4,
      CASE(4) CASE(3) CASE(2) default : CASE(1))
#undef Q

int mbt_pw_pairs24_applicable(const struct mbt_kshape *l) { return l->oc == 24; }
int mbt_pw_pairs40_applicable(const struct mbt_kshape *l) { return l->oc == 40; }
