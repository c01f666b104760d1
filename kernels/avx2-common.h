/* kernels/avx2-common.h -- small helpers shared by the AVX2 kernel files (compiled with the
 * AVX2 flags only). */
#ifndef MBT_AVX2_COMMON_H
#define MBT_AVX2_COMMON_H

#include <immintrin.h>

/* hard-swish: v relu6(v + 3) / 6 */
static inline __m256 mbt_hswish_avx2(__m256 v) {
  const __m256 r = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, _mm256_set1_ps(3.0f)),
                                               _mm256_setzero_ps()), _mm256_set1_ps(6.0f));
  return _mm256_mul_ps(v, _mm256_mul_ps(r, _mm256_set1_ps(1.0f / 6.0f)));
}

#endif
