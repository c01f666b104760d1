/* Pointwise 1x1 as C[P x oc] = A[P x ic] * W[ic x oc], AVX2+FMA: register tile of 6 pixels x
 * 16 output channels (12 accumulators), weights read in the natural w[ic][oc] layout.  Partial
 * tiles in both directions are handled (fewer pixels: a narrower copy of the tile; fewer
 * channels: masked loads and stores), so nothing is read or written past any buffer.  The
 * output is written once and never read. */
#include "config.h"

#include <immintrin.h>

#include "kernels/avx2-common.h"
#include "kernels/kernels.h"

#define MR 6
#define NR 16

static inline __m256i tail_mask(int n) {
  static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i *)(m + 8 - (n < 0 ? 0 : n > 8 ? 8 : n)));
}

/* One tile of mr pixels; mr is a constant after inlining, so the loops over i unroll and the
 * accumulators stay in registers. */
static inline __attribute__((always_inline)) void tile(const struct mbt_exec *e, size_t p0,
                                                       int n0, const int mr) {
  const struct mbt_kshape *l = &e->s;
  const int ic = l->ic, oc = l->oc, n = oc - n0 < NR ? oc - n0 : NR;
  const __m256i m0 = tail_mask(n), m1 = tail_mask(n - 8);
  const int full = n == NR;
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++) c0[i] = c1[i] = _mm256_setzero_ps();
  const float *a = e->in + p0 * ic;
  const float *w = e->w + n0;
  for (int k = 0; k < ic; k++, w += oc) {
    const __m256 b0 = full ? _mm256_loadu_ps(w) : _mm256_maskload_ps(w, m0);
    const __m256 b1 = full ? _mm256_loadu_ps(w + 8) : _mm256_maskload_ps(w + 8, m1);
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) {
      const __m256 x = _mm256_broadcast_ss(a + (size_t)i * ic + k);
      c0[i] = _mm256_fmadd_ps(x, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(x, b1, c1[i]);
    }
  }
  const __m256 lo = _mm256_set1_ps(e->lo), hi = _mm256_set1_ps(e->hi);
  __m256 bb0 = _mm256_setzero_ps(), bb1 = _mm256_setzero_ps();
  if (e->b) {
    bb0 = _mm256_maskload_ps(e->b + n0, m0);
    bb1 = _mm256_maskload_ps(e->b + n0 + 8, m1);
  }
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++) {
    const size_t o = (p0 + (size_t)i) * (e->ldo ? e->ldo : (size_t)oc) + n0;
    __m256 v0 = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(c0[i], bb0), lo), hi);
    __m256 v1 = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(c1[i], bb1), lo), hi);
    if (e->post) {
      v0 = mbt_post_avx2(v0, e->post);
      v1 = mbt_post_avx2(v1, e->post);
    }
    if (e->res) {
      v0 = _mm256_add_ps(v0, _mm256_maskload_ps(e->res + o, m0));
      v1 = _mm256_add_ps(v1, _mm256_maskload_ps(e->res + o + 8, m1));
    }
    if (full) {
      _mm256_storeu_ps(e->out + o, v0);
      _mm256_storeu_ps(e->out + o + 8, v1);
    } else {
      _mm256_maskstore_ps(e->out + o, m0, v0);
      _mm256_maskstore_ps(e->out + o + 8, m1, v1);
    }
  }
}

void mbt_f32_pwconv_minmax_ukernel_6x16__avx2(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  const size_t pe = (size_t)r1 * l->ow;
  /* Channel blocks outside, pixels inside: the 16-column weight panel stays in L1/L2 while
   * the pixel rows stream past it. */
  for (int n0 = 0; n0 < l->oc; n0 += NR)
    for (size_t p = (size_t)r0 * l->ow; p < pe; p += MR) {
      switch (pe - p < MR ? (int)(pe - p) : MR) {
        case 6: tile(e, p, n0, 6); break;
        case 5: tile(e, p, n0, 5); break;
        case 4: tile(e, p, n0, 4); break;
        case 3: tile(e, p, n0, 3); break;
        case 2: tile(e, p, n0, 2); break;
        default: tile(e, p, n0, 1); break;
      }
    }
}
