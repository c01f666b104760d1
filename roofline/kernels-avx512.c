/* roofline/kernels-avx512.c -- AVX-512F ceilings (16 floats, fused multiply-add, 32 registers). */
#include "config.h"

#include <immintrin.h>

#include "roofline/roofline.h"

#define RV __m512
#define RL 16
#define RSET1(x) _mm512_set1_ps(x)
#define RFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define RADD(a, b) _mm512_add_ps((a), (b))
#define RLOAD(p) _mm512_load_ps(p)
#define RSTORE(p, v) _mm512_store_ps((p), (v))
#define RLANE0(v) _mm512_cvtss_f32(v)
#define RREGS 32
#include "roofline/roof-tmpl.h"
MBT_ROOF_ISA(mbt_roof_avx512, "avx512f", MBT_ISA_AVX512F, 1)
