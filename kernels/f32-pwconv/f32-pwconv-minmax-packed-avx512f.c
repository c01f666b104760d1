/* Pointwise 1x1 as C[P x oc] = A[P x ic] * W[ic x oc], AVX-512F: the packed tile template
 * (kernels/f32-pwconv/pw-tile.h) at 16 floats per vector, over weights packed once at load
 * time into NR-column panels (NR = 16 NV; f32-pwconv-pack.c), with register tiles 12x32, 8x48
 * and 6x64 (24 of the 32 zmm registers accumulate), and 7x48 for maps of 7 x 2^k pixels a side
 * (49 pixels are 7 whole tiles; on 6x64 the last tile has one row): alone, 7x7x1024 -> 1024
 * 227 against 219 GFLOP/s, 7x7x160 -> 960 235 against 231, 14x14x512 level, 28x28x256 3%
 * slower.  (A 7x64 tile needs 33 registers: GCC spilled one accumulator, and it ran 3-6%
 * slower than 6x64.)  Channel tails use k-masks; a full tile's
 * loads and stores of C are plain (masked with every lane set they made V1's 112x112x64 layer
 * about 4% slower here). */
#include "config.h"

#include <immintrin.h>

#include "kernels/avx512-common.h"
#include "kernels/kernels.h"

#define PWT_V __m512
#define PWT_LANES 16
#define PWT_MASK __mmask16
#define PWT_MR 12
#define PWT_TAIL(n) mbt_mask16(n)
#define PWT_LD(p, full, m) ((full) ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps((m), (p)))
#define PWT_ST(p, v, full, m)                                                                    \
  ((full) ? _mm512_storeu_ps((p), (v)) : _mm512_mask_storeu_ps((p), (m), (v)))
#define PWT_LDM(p, m) _mm512_maskz_loadu_ps((m), (p))
#define PWT_LDA(p) _mm512_load_ps(p)
#define PWT_BCAST(p) _mm512_set1_ps(*(p))
#define PWT_SET1(x) _mm512_set1_ps(x)
#define PWT_ZERO() _mm512_setzero_ps()
#define PWT_ADD(a, b) _mm512_add_ps((a), (b))
#define PWT_MUL(a, b) _mm512_mul_ps((a), (b))
#define PWT_MIN(a, b) _mm512_min_ps((a), (b))
#define PWT_MAX(a, b) _mm512_max_ps((a), (b))
#define PWT_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define PWT_POST(v, post) mbt_post_avx512((v), (post))
#include "kernels/f32-pwconv/pw-tile.h"

/* clang-format off */
MBT_PW_TILED(12, 2, mbt_f32_pwconv_minmax_ukernel_12x32__avx512f_tiled, MBT_PW_CASES_12)
MBT_PW_TILED(8, 3, mbt_f32_pwconv_minmax_ukernel_8x48__avx512f_tiled, MBT_PW_CASES_8)
MBT_PW_TILED(6, 4, mbt_f32_pwconv_minmax_ukernel_6x64__avx512f_tiled, MBT_PW_CASES_6)
MBT_PW_TILED(7, 3, mbt_f32_pwconv_minmax_ukernel_7x48__avx512f_tiled, MBT_PW_CASES_7)
/* clang-format on */
