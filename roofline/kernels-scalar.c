/* roofline/kernels-scalar.c -- portable ceilings: scalar multiply-add chains and a plain read
 * loop.  The multiply-add chains are kept scalar (no auto-vectorisation) so that the figure is
 * the scalar roof, the one the reference kernels and scalar variants live under. */
#include "config.h"

#include "roofline/roofline.h"

#if defined(__GNUC__) && !defined(__clang__)
#define NO_VECTORIZE __attribute__((optimize("no-tree-vectorize", "no-tree-slp-vectorize")))
#else
#define NO_VECTORIZE
#endif

/* 12 independent chains cover the multiply-add latency of current cores. 24 FLOPs/iteration. */
NO_VECTORIZE float mbt_peak_scalar(long iters) {
  float a0 = 1, a1 = 2, a2 = 3, a3 = 4, a4 = 5, a5 = 6, a6 = 7, a7 = 8, a8 = 9, a9 = 10, a10 = 11,
        a11 = 12;
  const float m = 0.999999f, c = 1e-7f;
  for (long i = 0; i < iters; i++) {
    a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c;
    a4 = a4 * m + c; a5 = a5 * m + c; a6 = a6 * m + c; a7 = a7 * m + c;
    a8 = a8 * m + c; a9 = a9 * m + c; a10 = a10 * m + c; a11 = a11 * m + c;
  }
  return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
}

float mbt_read_scalar(const float *buf, size_t n, long passes) {
  float s[16] = {0};
  for (long p = 0; p < passes; p++) {
    for (size_t i = 0; i < n; i += 16)
      for (int j = 0; j < 16; j++) s[j] += buf[i + j];
    __asm__ volatile("" ::"r"(s) : "memory");
  }
  float t = 0;
  for (int j = 0; j < 16; j++) t += s[j];
  return t;
}
