/* Depthwise KxK (K = 3, 5), stride 1 and 2, padding (K-1)/2, NEON (aarch64, FMA): the tiled
 * template (kernels/f32-dwconv/dw-tile.h) at 4 channels per vector; 3x3 tiles keep their 9
 * weights in registers (R T accumulators + 9 + 1 input of the 32 registers).  NEON has no
 * masked loads: a channel tail of n < 4 goes through a small zero-filled stack vector, so
 * nothing is read or written past any buffer. */
#include "config.h"

#include <arm_neon.h>

#include "kernels/neon-common.h"
#include "kernels/kernels.h"

static inline float32x4_t ld_part(const float *p, int n) {
  float t[4] = {0, 0, 0, 0};
  for (int i = 0; i < n; i++) t[i] = p[i];
  return vld1q_f32(t);
}

#define DWT_V float32x4_t
#define DWT_LANES 4
#define DWT_MASK int
#define DWT_TAIL(n) (n)
#define DWT_LD(p, full, m) ((full) ? vld1q_f32(p) : ld_part((p), (m)))
#define DWT_FMA(a, b, c) vfmaq_f32((c), (a), (b))
#define DWT_ZERO() vdupq_n_f32(0.0f)
#define DWT_STORE(e, o, v, full, m) store((e), (o), (v), (full), (m))

static inline __attribute__((always_inline)) void store(const struct mbt_exec *e, size_t o,
                                                        float32x4_t v, int full, int n) {
  v = vminq_f32(vmaxq_f32(v, vdupq_n_f32(e->lo)), vdupq_n_f32(e->hi));
  if (e->post) v = mbt_post_neon(v, e->post);
  if (e->res) v = vaddq_f32(v, DWT_LD(e->res + o, full, n));
  if (full) {
    vst1q_f32(e->out + o, v);
  } else {
    float t[4];
    vst1q_f32(t, v);
    for (int i = 0; i < n; i++) e->out[o + (size_t)i] = t[i];
  }
}

#include "kernels/f32-dwconv/dw-tile.h"

#define KK(K, S, R, T, WRES)                                                                   \
  DWT_KERNEL(K, S, R, T, WRES, mbt_f32_dwconv_minmax_ukernel_##K##x##K##s##S##_##R##x##T##c4__neonfma)
KK(3, 1, 2, 4, 1) KK(3, 2, 2, 4, 1) KK(5, 1, 2, 4, 0) KK(5, 2, 2, 4, 0)
