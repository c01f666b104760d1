/* roofline/kernels-sse.c -- SSE ceilings (x86-64's baseline: 4 floats, a multiply then an add). */
#include "config.h"

#include "roofline/roofline.h"

#ifdef MBT_HAVE_ROOF_SSE
#include <emmintrin.h>

#define RV __m128
#define RL 4
#define RSET1(x) _mm_set1_ps(x)
#define RFMA(a, b, c) _mm_add_ps(_mm_mul_ps((a), (b)), (c))
#define RADD(a, b) _mm_add_ps((a), (b))
#define RLOAD(p) _mm_load_ps(p)
#define RSTORE(p, v) _mm_store_ps((p), (v))
#define RLANE0(v) _mm_cvtss_f32(v)
#define RREGS 16
#include "roofline/roof-tmpl.h"
MBT_ROOF_ISA(mbt_roof_sse, "sse", 0, 0)
#endif
