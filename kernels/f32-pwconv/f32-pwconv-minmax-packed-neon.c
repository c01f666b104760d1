/* Pointwise 1x1 as C[P x oc] = A[P x ic] * W[ic x oc], NEON (aarch64, FMA), over weights packed
 * once at load time into NR-column panels (f32-pwconv-pack.c), register tiles 8x8 and 6x16
 * (16 and 24 of the 32 vector registers accumulate).  The tiled driver blocks pixels by MC and
 * the reduction by KC like the x86 families; with several KC blocks the partial sums go through
 * the output buffer.  Channel tails go through a small stack tile, so nothing is read or written
 * past any buffer.  Honours cpart/cparts. */
#include "config.h"

#include <arm_neon.h>
#include <string.h>

#include "kernels/kernels.h"

struct epi {
  const float *bias, *res;
  float lo, hi;
  size_t ldres;
  int hswish;
};

static inline __attribute__((always_inline)) void tile(const int mr, const int nv, size_t kc,
                                                       const float *restrict a, size_t lda,
                                                       const float *restrict bp,
                                                       float *restrict c, size_t ldc,
                                                       int ncols, int first, int last,
                                                       const struct epi *ep) {
  float32x4_t acc[8][4];
  const int full = ncols == 4 * nv;
  float tmp[8][16]; /* partial-width tiles are staged here */
  if (!full && !first)
    for (int i = 0; i < mr; i++) memcpy(tmp[i], c + i * ldc, (size_t)ncols * sizeof(float));
#pragma GCC unroll 8
  for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++)
      acc[i][j] = first ? vdupq_n_f32(0.0f)
                  : full ? vld1q_f32(c + i * ldc + 4 * j) : vld1q_f32(&tmp[i][4 * j]);
  for (size_t k = 0; k < kc; k++) {
    float32x4_t b[4];
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++) b[j] = vld1q_f32(bp + k * 4 * nv + 4 * j);
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++) {
      const float32x4_t x = vdupq_n_f32(a[i * lda + k]);
#pragma GCC unroll 4
      for (int j = 0; j < nv; j++) acc[i][j] = vfmaq_f32(acc[i][j], x, b[j]);
    }
  }
  if (last) {
    const float32x4_t lo = vdupq_n_f32(ep->lo), hi = vdupq_n_f32(ep->hi);
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++) {
      float bb[4] = {0, 0, 0, 0};
      for (int q = 0; q < 4 && 4 * j + q < ncols; q++) bb[q] = ep->bias ? ep->bias[4 * j + q] : 0;
      const float32x4_t bias = vld1q_f32(bb);
#pragma GCC unroll 8
      for (int i = 0; i < mr; i++) {
        float32x4_t v = vminq_f32(vmaxq_f32(vaddq_f32(acc[i][j], bias), lo), hi);
        if (ep->hswish) { /* v relu6(v + 3) / 6 */
          const float32x4_t r = vminq_f32(vmaxq_f32(vaddq_f32(v, vdupq_n_f32(3.0f)), vdupq_n_f32(0.0f)),
                                          vdupq_n_f32(6.0f));
          v = vmulq_f32(v, vmulq_f32(r, vdupq_n_f32(1.0f / 6.0f)));
        }
        acc[i][j] = v;
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < mr; i++) {
    if (full) {
#pragma GCC unroll 4
      for (int j = 0; j < nv; j++) vst1q_f32(c + i * ldc + 4 * j, acc[i][j]);
    } else {
#pragma GCC unroll 4
      for (int j = 0; j < nv; j++) vst1q_f32(&tmp[i][4 * j], acc[i][j]);
      memcpy(c + i * ldc, tmp[i], (size_t)ncols * sizeof(float));
    }
    if (last && ep->res)
      for (int q = 0; q < ncols; q++) c[i * ldc + q] += ep->res[i * ep->ldres + q];
  }
}

#define TILE_CASE(M, NV)                                                                     \
  case M: tile(M, NV, kc, a, lda, bp, c, ldc, ncols, first, last, &ep); break;

#define PW_PACKED(MR, NV, FN, CASES)                                                           \
  void FN(const struct mbt_exec *e, int r0, int r1) {                                          \
    const struct mbt_layer *l = e->l;                                                          \
    const size_t MC = e->mc > 0 ? (size_t)(e->mc + MR - 1) / MR * MR : 96;                     \
    const size_t KC = e->kc > 0 ? (size_t)e->kc : 256;                                         \
    const size_t K = (size_t)l->ic, N = (size_t)l->oc, lda = K, ldc = N;                       \
    const size_t np = (N + 4 * NV - 1) / (4 * NV), parts = e->cparts > 1 ? e->cparts : 1;     \
    const size_t nb0 = np * (size_t)e->cpart / parts * (4 * NV);                                \
    const size_t nb1_ = np * (size_t)(e->cpart + 1) / parts * (4 * NV);                         \
    const size_t nb1 = nb1_ < N ? nb1_ : N;                                                    \
    const size_t p1 = (size_t)r1 * l->ow;                                                      \
    for (size_t pb = (size_t)r0 * l->ow; pb < p1; pb += MC) {                                 \
      const size_t pe = pb + MC < p1 ? pb + MC : p1;                                           \
      for (size_t kb = 0; kb < K; kb += KC) {                                                  \
        const size_t kc = K - kb < KC ? K - kb : KC;                                           \
        const int first = kb == 0, last = kb + kc >= K;                                        \
        for (size_t n0 = nb0; n0 < nb1; n0 += 4 * NV) {                                        \
          const int ncols = (int)(N - n0 < 4 * NV ? N - n0 : 4 * NV);                          \
          const float *bp = e->packed + (n0 / (4 * NV)) * (4 * NV) * K + kb * (4 * NV);        \
          for (size_t p = pb; p < pe; p += MR) {                                               \
            const float *a = e->in + p * lda + kb;                                             \
            float *c = e->out + p * ldc + n0;                                                  \
            const struct epi ep = {e->b ? e->b + n0 : NULL, e->res ? e->res + p * ldc + n0 : NULL, \
                                   e->lo, e->hi, ldc, e->hswish};                                         \
            switch (pe - p < MR ? (int)(pe - p) : MR) { CASES }                                \
          }                                                                                    \
        }                                                                                      \
      }                                                                                        \
    }                                                                                          \
  }

#define CASES_8(NV) TILE_CASE(8, NV) TILE_CASE(7, NV) TILE_CASE(6, NV) TILE_CASE(5, NV) \
  TILE_CASE(4, NV) TILE_CASE(3, NV) TILE_CASE(2, NV) default: TILE_CASE(1, NV)
#define CASES_6(NV) TILE_CASE(6, NV) TILE_CASE(5, NV) TILE_CASE(4, NV) TILE_CASE(3, NV) \
  TILE_CASE(2, NV) default: TILE_CASE(1, NV)

/* clang-format off */
PW_PACKED(8, 2, mbt_f32_pwconv_minmax_ukernel_8x8__neonfma_tiled, CASES_8(2))
PW_PACKED(6, 4, mbt_f32_pwconv_minmax_ukernel_6x16__neonfma_tiled, CASES_6(4))
/* clang-format on */
