/* roofline/kernels-avx2.c -- AVX2+FMA ceilings (8 floats, fused multiply-add). */
#include "config.h"

#include <immintrin.h>

#include "roofline/roofline.h"

#define RV __m256
#define RL 8
#define RSET1(x) _mm256_set1_ps(x)
#define RFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define RADD(a, b) _mm256_add_ps((a), (b))
#define RLOAD(p) _mm256_load_ps(p)
#define RSTORE(p, v) _mm256_store_ps((p), (v))
#define RLANE0(v) _mm256_cvtss_f32(v)
#define RREGS 16
#include "roofline/roof-tmpl.h"
MBT_ROOF_ISA(mbt_roof_avx2, "avx2", MBT_ISA_AVX2, 1)
