/* kernels/avx512-common.h -- small helpers shared by the AVX-512 kernel files (compiled with the
 * AVX-512 flags only). */
#ifndef MBT_AVX512_COMMON_H
#define MBT_AVX512_COMMON_H

#include <immintrin.h>

#include "kernels/kernels.h"

/* The epilogue function @p post (enum mbt_post) of 16 lanes (kernels/post.h). */
#define POST_NAME mbt_post_avx512
#define POST_V __m512
#define POST_SET1(x) _mm512_set1_ps(x)
#define POST_ADD(a, b) _mm512_add_ps((a), (b))
#define POST_SUB(a, b) _mm512_sub_ps((a), (b))
#define POST_MUL(a, b) _mm512_mul_ps((a), (b))
#define POST_DIV(a, b) _mm512_div_ps((a), (b))
#define POST_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define POST_MIN(a, b) _mm512_min_ps((a), (b))
#define POST_MAX(a, b) _mm512_max_ps((a), (b))
#define POST_ROUND(a) _mm512_roundscale_ps((a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define POST_POW2(n)                                                                             \
  _mm512_castsi512_ps(_mm512_slli_epi32(                                                       \
      _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23))
#include "kernels/post.h"

/* The mask of the first @p n lanes, for any n (0 below 1, every lane from 16 on). */
static inline __mmask16 mbt_mask16(int n) {
  return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

#endif
