/* Pointwise 1x1 as C[P x oc] = A[P x ic] * W[ic x oc], AVX-512F, over weights packed once at
 * load time into NR-column panels (NR = 16 NV; f32-pwconv-pack.c), with register
 * tiles 12x32, 8x48 and 6x64 (24 of the 32 zmm registers accumulate).  Same tiled driver as the
 * AVX2 family: MC pixels by KC reduction steps, the KC x NR weight micro-panel in L1; with
 * several KC blocks the partial sums go through the output buffer.  Channel tails use k-masks,
 * so nothing is read or written past any buffer.  Honours cpart/cparts. */
#include "config.h"

#include <immintrin.h>

#include "kernels/kernels.h"


static inline __mmask16 tail(int n) {
  return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

struct epi {
  const float *bias, *res;
  __m512 lo, hi;
  size_t ldres;
  int hswish;
};

static inline __attribute__((always_inline)) void tile(const int mr, const int nv, size_t kc,
                                                       const float *restrict a, size_t lda,
                                                       const float *restrict bp,
                                                       float *restrict c, size_t ldc,
                                                       int ncols, int first, int last,
                                                       const struct epi *ep) {
  __m512 acc[12][4];
  __mmask16 m[4];
#pragma GCC unroll 4
  for (int j = 0; j < nv; j++) m[j] = tail(ncols - 16 * j);
#pragma GCC unroll 12
  for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++)
      acc[i][j] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m[j], c + i * ldc + 16 * j);
  for (size_t k = 0; k < kc; k++) {
    __m512 b[4];
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++) b[j] = _mm512_load_ps(bp + k * 16 * nv + 16 * j);
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++) {
      const __m512 x = _mm512_set1_ps(a[i * lda + k]);
#pragma GCC unroll 4
      for (int j = 0; j < nv; j++) acc[i][j] = _mm512_fmadd_ps(x, b[j], acc[i][j]);
    }
  }
  if (last) {
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++) {
      const __m512 bias = ep->bias ? _mm512_maskz_loadu_ps(m[j], ep->bias + 16 * j)
                                   : _mm512_setzero_ps();
#pragma GCC unroll 12
      for (int i = 0; i < mr; i++) {
        __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(acc[i][j], bias), ep->lo), ep->hi);
        if (ep->hswish) { /* v relu6(v + 3) / 6 */
          const __m512 r = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, _mm512_set1_ps(3.0f)),
                                                       _mm512_setzero_ps()), _mm512_set1_ps(6.0f));
          v = _mm512_mul_ps(v, _mm512_mul_ps(r, _mm512_set1_ps(1.0f / 6.0f)));
        }
        if (ep->res)
          v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m[j], ep->res + i * ep->ldres + 16 * j));
        acc[i][j] = v;
      }
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++) _mm512_mask_storeu_ps(c + i * ldc + 16 * j, m[j], acc[i][j]);
}

#define TILE_CASE(M, NV)                                                                     \
  case M: tile(M, NV, kc, a, lda, bp, c, ldc, ncols, first, last, &ep); break;

#define PW_PACKED(MR, NV, FN, CASES)                                                           \
  void FN(const struct mbt_exec *e, int r0, int r1) {                                          \
    const struct mbt_layer *l = e->l;                                                          \
    const size_t MC = e->mc > 0 ? (size_t)(e->mc + MR - 1) / MR * MR : 96;                     \
    const size_t KC = e->kc > 0 ? (size_t)e->kc : 256;                                         \
    const size_t K = (size_t)l->ic, N = (size_t)l->oc, lda = K, ldc = N;                       \
    const size_t np = (N + 16 * NV - 1) / (16 * NV), parts = e->cparts > 1 ? e->cparts : 1;   \
    const size_t nb0 = np * (size_t)e->cpart / parts * (16 * NV);                               \
    const size_t nb1_ = np * (size_t)(e->cpart + 1) / parts * (16 * NV);                        \
    const size_t nb1 = nb1_ < N ? nb1_ : N;                                                    \
    const size_t p1 = (size_t)r1 * l->ow;                                                      \
    for (size_t pb = (size_t)r0 * l->ow; pb < p1; pb += MC) {                                 \
      const size_t pe = pb + MC < p1 ? pb + MC : p1;                                           \
      for (size_t kb = 0; kb < K; kb += KC) {                                                  \
        const size_t kc = K - kb < KC ? K - kb : KC;                                           \
        const int first = kb == 0, last = kb + kc >= K;                                        \
        for (size_t n0 = nb0; n0 < nb1; n0 += 16 * NV) {                                       \
          const int ncols = (int)(N - n0 < 16 * NV ? N - n0 : 16 * NV);                        \
          const float *bp = e->packed + (n0 / (16 * NV)) * (16 * NV) * K + kb * (16 * NV);     \
          for (size_t p = pb; p < pe; p += MR) {                                               \
            const float *a = e->in + p * lda + kb;                                             \
            float *c = e->out + p * ldc + n0;                                                  \
            const struct epi ep = {e->b ? e->b + n0 : NULL, e->res ? e->res + p * ldc + n0 : NULL, \
                                   _mm512_set1_ps(e->lo), _mm512_set1_ps(e->hi), ldc,    \
                                   e->hswish};       \
            switch (pe - p < MR ? (int)(pe - p) : MR) { CASES }                                \
          }                                                                                    \
        }                                                                                      \
      }                                                                                        \
    }                                                                                          \
  }

#define CASES_12(NV) TILE_CASE(12, NV) TILE_CASE(11, NV) TILE_CASE(10, NV) TILE_CASE(9, NV) \
  TILE_CASE(8, NV) TILE_CASE(7, NV) TILE_CASE(6, NV) TILE_CASE(5, NV) TILE_CASE(4, NV)      \
  TILE_CASE(3, NV) TILE_CASE(2, NV) default: TILE_CASE(1, NV)
#define CASES_8(NV) TILE_CASE(8, NV) TILE_CASE(7, NV) TILE_CASE(6, NV) TILE_CASE(5, NV) \
  TILE_CASE(4, NV) TILE_CASE(3, NV) TILE_CASE(2, NV) default: TILE_CASE(1, NV)
#define CASES_6(NV) TILE_CASE(6, NV) TILE_CASE(5, NV) TILE_CASE(4, NV) TILE_CASE(3, NV) \
  TILE_CASE(2, NV) default: TILE_CASE(1, NV)

/* clang-format off */
PW_PACKED(12, 2, mbt_f32_pwconv_minmax_ukernel_12x32__avx512f_tiled, CASES_12(2))
PW_PACKED(8, 3, mbt_f32_pwconv_minmax_ukernel_8x48__avx512f_tiled, CASES_8(3))
PW_PACKED(6, 4, mbt_f32_pwconv_minmax_ukernel_6x64__avx512f_tiled, CASES_6(4))
/* clang-format on */
