/* kernels/neon-common.h -- small helpers shared by the NEON kernel files (aarch64). */
#ifndef MBT_NEON_COMMON_H
#define MBT_NEON_COMMON_H

#include <arm_neon.h>

#include "kernels/kernels.h"

/* The epilogue function @p post (enum mbt_post) of 4 lanes (kernels/post.h). */
#define POST_NAME mbt_post_neon
#define POST_V float32x4_t
#define POST_SET1(x) vdupq_n_f32(x)
#define POST_ADD(a, b) vaddq_f32((a), (b))
#define POST_SUB(a, b) vsubq_f32((a), (b))
#define POST_MUL(a, b) vmulq_f32((a), (b))
#define POST_DIV(a, b) vdivq_f32((a), (b))
#define POST_FMA(a, b, c) vfmaq_f32((c), (a), (b))
#define POST_MIN(a, b) vminq_f32((a), (b))
#define POST_MAX(a, b) vmaxq_f32((a), (b))
#define POST_ROUND(a) vrndnq_f32(a)
#define POST_POW2(n) vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23))
#include "kernels/post.h"

#endif
