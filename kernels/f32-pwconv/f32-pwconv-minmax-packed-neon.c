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

#define MBT_PW_LANES 4
#define MBT_PW_EPI(e, n0, p, ldc) \
  {(e)->b ? (e)->b + (n0) : NULL, (e)->res ? (e)->res + (p) * (ldc) + (n0) : NULL, (e)->lo,       \
   (e)->hi, (ldc), (e)->hswish}
#include "kernels/drivers/pw-tiled.h"

/* clang-format off */
MBT_PW_TILED(8, 2, mbt_f32_pwconv_minmax_ukernel_8x8__neonfma_tiled, MBT_PW_CASES_8(2))
MBT_PW_TILED(6, 4, mbt_f32_pwconv_minmax_ukernel_6x16__neonfma_tiled, MBT_PW_CASES_6(4))
/* clang-format on */
