/* Pointwise 1x1 as C[P x oc] = A[P x ic] * W[ic x oc], NEON (aarch64, FMA): the packed tile
 * template (kernels/f32-pwconv/pw-tile.h) at 4 floats per vector, over weights packed once at
 * load time into NR-column panels (f32-pwconv-pack.c), register tiles 8x8 and 6x16 (16 and 24
 * of the 32 vector registers accumulate).  NEON has no masked loads: a channel tail of n < 4
 * goes through a small zero-filled stack vector, so nothing is read or written past any
 * buffer. */
#include "config.h"

#include <arm_neon.h>

#include "kernels/neon-common.h"
#include "kernels/kernels.h"

static inline float32x4_t ld_part(const float *p, int n) {
  if (n >= 4) return vld1q_f32(p);
  float t[4] = {0, 0, 0, 0};
  for (int i = 0; i < n; i++) t[i] = p[i];
  return vld1q_f32(t);
}

static inline void st_part(float *p, float32x4_t v, int n) {
  float t[4];
  vst1q_f32(t, v);
  for (int i = 0; i < n; i++) p[i] = t[i];
}

#define PWT_V float32x4_t
#define PWT_LANES 4
#define PWT_MASK int
#define PWT_MR 8
#define PWT_TAIL(n) ((n) < 0 ? 0 : (n) > 4 ? 4 : (n))
#define PWT_LD(p, full, m) ((full) ? vld1q_f32(p) : ld_part((p), (m)))
#define PWT_ST(p, v, full, m) ((full) ? vst1q_f32((p), (v)) : st_part((p), (v), (m)))
#define PWT_LDM(p, m) ld_part((p), (m))
#define PWT_LDA(p) vld1q_f32(p)
#define PWT_BCAST(p) vdupq_n_f32(*(p))
#define PWT_SET1(x) vdupq_n_f32(x)
#define PWT_ZERO() vdupq_n_f32(0.0f)
#define PWT_ADD(a, b) vaddq_f32((a), (b))
#define PWT_MUL(a, b) vmulq_f32((a), (b))
#define PWT_MIN(a, b) vminq_f32((a), (b))
#define PWT_MAX(a, b) vmaxq_f32((a), (b))
#define PWT_FMA(a, b, c) vfmaq_f32((c), (a), (b))
#define PWT_POST(v, post) mbt_post_neon((v), (post))
#include "kernels/f32-pwconv/pw-tile.h"

/* clang-format off */
MBT_PW_TILED(8, 2, mbt_f32_pwconv_minmax_ukernel_8x8__neonfma_tiled, MBT_PW_CASES_8)
MBT_PW_TILED(6, 4, mbt_f32_pwconv_minmax_ukernel_6x16__neonfma_tiled, MBT_PW_CASES_6)
/* clang-format on */
