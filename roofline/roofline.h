/* roofline/roofline.h -- microbenchmark kernels behind a descriptor table, as LIKWID's .ptt
 * headers: each kernel says how many FLOPs or bytes one call moves, so one driver rates all. */
#ifndef MBT_ROOFLINE_H
#define MBT_ROOFLINE_H

#include <stddef.h>
#include <stdint.h>

/* FMA throughput kernels: run @p iters iterations, return a value the compiler cannot drop.
 * FLOPs per iteration are in the descriptor. */
typedef float (*mbt_flops_fn)(long iters);
/* Read-bandwidth kernels: sum @p n floats (n a multiple of 64) @p passes times. */
typedef float (*mbt_read_fn)(const float *buf, size_t n, long passes);

struct mbt_flops_kernel {
  const char *isa;
  uint32_t isa_bit;
  double flops_per_iter;
  mbt_flops_fn fn;
};

float mbt_peak_scalar(long iters);
float mbt_read_scalar(const float *buf, size_t n, long passes);
#if MBT_HAVE_AVX2
float mbt_peak_avx2(long iters);
float mbt_read_avx2(const float *buf, size_t n, long passes);
#endif

#endif
