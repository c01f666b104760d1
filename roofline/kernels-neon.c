/* roofline/kernels-neon.c -- NEON ceilings (aarch64: 4 floats, fused multiply-add, 32 registers). */
#include "config.h"

#include <arm_neon.h>

#include "roofline/roofline.h"

#define RV float32x4_t
#define RL 4
#define RSET1(x) vdupq_n_f32(x)
#define RFMA(a, b, c) vfmaq_f32((c), (a), (b))
#define RADD(a, b) vaddq_f32((a), (b))
#define RLOAD(p) vld1q_f32(p)
#define RSTORE(p, v) vst1q_f32((p), (v))
#define RLANE0(v) vgetq_lane_f32((v), 0)
#define RREGS 32
#include "roofline/roof-tmpl.h"
MBT_ROOF_ISA(mbt_roof_neon, "neon", MBT_ISA_NEON, 1)
