/* kernels/avx2-common.h -- small helpers shared by the AVX2 kernel files (compiled with the
 * AVX2 flags only). */
#ifndef MBT_AVX2_COMMON_H
#define MBT_AVX2_COMMON_H

#include <immintrin.h>

#include "kernels/kernels.h"

/* The epilogue function @p post (enum mbt_post) of 8 lanes (kernels/post.h). */
#define POST_NAME mbt_post_avx2
#define POST_V __m256
#define POST_SET1(x) _mm256_set1_ps(x)
#define POST_ADD(a, b) _mm256_add_ps((a), (b))
#define POST_SUB(a, b) _mm256_sub_ps((a), (b))
#define POST_MUL(a, b) _mm256_mul_ps((a), (b))
#define POST_DIV(a, b) _mm256_div_ps((a), (b))
#define POST_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define POST_MIN(a, b) _mm256_min_ps((a), (b))
#define POST_MAX(a, b) _mm256_max_ps((a), (b))
#define POST_ROUND(a) _mm256_round_ps((a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define POST_POW2(n)                                                                             \
  _mm256_castsi256_ps(_mm256_slli_epi32(                                                       \
      _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23))
#include "kernels/post.h"

#endif
