/* roofline/kernels-avx2.c -- AVX2+FMA ceilings: 12 independent FMA chains (enough to cover a
 * 4-cycle FMA latency on two pipes) and a read loop of 8 independent vector adds. */
#include "config.h"

#include <immintrin.h>

#include "roofline/roofline.h"

/* 12 chains x 8 lanes x 2 FLOPs = 192 FLOPs per iteration. */
float mbt_peak_avx2(long iters) {
  __m256 a[12];
  for (int j = 0; j < 12; j++) a[j] = _mm256_set1_ps((float)j);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int j = 0; j < 12; j++) a[j] = _mm256_fmadd_ps(a[j], m, c);
  }
  __m256 s = a[0];
  for (int j = 1; j < 12; j++) s = _mm256_add_ps(s, a[j]);
  return _mm256_cvtss_f32(s);
}

float mbt_read_avx2(const float *buf, size_t n, long passes) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
  for (long p = 0; p < passes; p++) {
    for (size_t i = 0; i < n; i += 64) {
      s0 = _mm256_add_ps(s0, _mm256_load_ps(buf + i));
      s1 = _mm256_add_ps(s1, _mm256_load_ps(buf + i + 8));
      s2 = _mm256_add_ps(s2, _mm256_load_ps(buf + i + 16));
      s3 = _mm256_add_ps(s3, _mm256_load_ps(buf + i + 24));
      s4 = _mm256_add_ps(s4, _mm256_load_ps(buf + i + 32));
      s5 = _mm256_add_ps(s5, _mm256_load_ps(buf + i + 40));
      s6 = _mm256_add_ps(s6, _mm256_load_ps(buf + i + 48));
      s7 = _mm256_add_ps(s7, _mm256_load_ps(buf + i + 56));
    }
    __asm__ volatile("" ::: "memory");
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)),
                           _mm256_add_ps(_mm256_add_ps(s4, s5), _mm256_add_ps(s6, s7)));
  return _mm256_cvtss_f32(s);
}
