/* Pointwise 1x1 as C[P x oc] = A[P x ic] * W[ic x oc], AVX2+FMA: the packed tile template
 * (kernels/f32-pwconv/pw-tile.h) at 8 floats per vector, over weights packed once at load
 * time into NR-column panels: panel j holds W[k][j NR .. j NR + NR) for k = 0 .. ic-1,
 * zero-padded past oc, so the micro-kernel reads one contiguous aligned stream.  Register
 * tiles MR x NR (NR = 8 NV, MR NV <= 12 of the 16 registers accumulate): 6x16, 4x24, 3x32.
 * Fewer pixels take a narrower copy of the tile (MR is a constant in each copy); fewer
 * channels use masked loads and stores. */
#include "config.h"

#include <immintrin.h>

#include "kernels/avx2-common.h"
#include "kernels/kernels.h"

static inline __m256i tail_mask(int n) {
  static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i *)(m + 8 - (n < 0 ? 0 : n > 8 ? 8 : n)));
}

#define PWT_V __m256
#define PWT_LANES 8
#define PWT_MASK __m256i
#define PWT_MR 6
#define PWT_TAIL(n) tail_mask(n)
#define PWT_LD(p, full, m) ((full) ? _mm256_loadu_ps(p) : _mm256_maskload_ps((p), (m)))
#define PWT_ST(p, v, full, m)                                                                    ((full) ? _mm256_storeu_ps((p), (v)) : _mm256_maskstore_ps((p), (m), (v)))
#define PWT_LDM(p, m) _mm256_maskload_ps((p), (m))
#define PWT_LDA(p) _mm256_load_ps(p)
#define PWT_BCAST(p) _mm256_broadcast_ss(p)
#define PWT_SET1(x) _mm256_set1_ps(x)
#define PWT_ZERO() _mm256_setzero_ps()
#define PWT_ADD(a, b) _mm256_add_ps((a), (b))
#define PWT_MUL(a, b) _mm256_mul_ps((a), (b))
#define PWT_MIN(a, b) _mm256_min_ps((a), (b))
#define PWT_MAX(a, b) _mm256_max_ps((a), (b))
#define PWT_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define PWT_POST(v, post) mbt_post_avx2((v), (post))
#include "kernels/f32-pwconv/pw-tile.h"

/* clang-format off */
MBT_PW_TILED(6, 2, mbt_f32_pwconv_minmax_ukernel_6x16__avx2_tiled, MBT_PW_CASES_6)
MBT_PW_TILED(4, 3, mbt_f32_pwconv_minmax_ukernel_4x24__avx2_tiled, MBT_PW_CASES_4)
MBT_PW_TILED(3, 4, mbt_f32_pwconv_minmax_ukernel_3x32__avx2_tiled, MBT_PW_CASES_3)
/* clang-format on */
