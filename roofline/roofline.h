/* roofline/roofline.h -- the ceiling micro-kernels behind one descriptor per instruction set,
 * as LIKWID's .ptt headers: each says how many FLOPs or bytes one call moves, so one driver
 * (measure.c) rates them all.  The kernels themselves come from roof-tmpl.h. */
#ifndef MBT_ROOFLINE_H
#define MBT_ROOFLINE_H

#include <stddef.h>
#include <stdint.h>

#include "include/mobitune.h"

/* Run @p iters iterations; return a value the compiler cannot drop. */
typedef float (*mbt_flops_fn)(long iters);
/* Stream over the kernel's arrays (n floats each, n a multiple of MBT_BW_ALIGN) @p passes times. */
typedef float (*mbt_bw_fn)(float *const *arr, size_t n, long passes);
#define MBT_BW_ALIGN 128
#define MBT_ROOF_MAX_CHAINS 6

struct mbt_roof_isa {
  const char *isa;
  uint32_t isa_bit;                 /* 0 = always runs */
  int lanes;
  int fma;                          /* 1: a fused FMA; 0: a multiply then an add */
  int chains[MBT_ROOF_MAX_CHAINS];  /* independent accumulator counts instantiated */
  mbt_flops_fn chain_fn[MBT_ROOF_MAX_CHAINS]; /* 2 chains lanes FLOPs per iteration */
  int nchains;
  mbt_flops_fn latency;             /* 8 dependent FMAs per iteration */
  int mix_fma, mix_add;             /* the mixed kernel: (2 mix_fma + mix_add) lanes FLOPs */
  mbt_flops_fn mix;
  mbt_bw_fn bw[MBT_BW_KERNELS];     /* arrays: read 1, write 1, copy 2, triad 3 */
};

extern const struct mbt_roof_isa mbt_roof_scalar;
#if defined(__x86_64__) || defined(__SSE2__)
#define MBT_HAVE_ROOF_SSE 1
extern const struct mbt_roof_isa mbt_roof_sse;
#endif
#if MBT_HAVE_AVX2
extern const struct mbt_roof_isa mbt_roof_avx2;
#endif
#if MBT_HAVE_AVX512
extern const struct mbt_roof_isa mbt_roof_avx512;
#endif
#if MBT_HAVE_NEON
extern const struct mbt_roof_isa mbt_roof_neon;
#endif

/* Clock in GHz from a chain of dependent integer adds (one cycle each), the best of short
 * repetitions that ran undisturbed (@p f: all of them, the looks that were disturbed counted);
 * 0 where unknown. */
double mbt_roof_clock_ghz(struct mbt_figure *f);


/* The roofline's lower bound on the time of code of ISA mask @p isa (a kernel variant's) on
 * layer @p l at @p threads threads, ns: the FLOPs over the best compute ceiling that code can
 * reach, or the compulsory bytes over the L1 read bandwidth when longer.  0 without a profile
 * or when it has no ceiling at that thread count (roofline/bound.c). */
double mbt_roofline_bound_ns(const struct mbt_profile *p, const struct mbt_layer *l, uint32_t isa,
                             int threads);

#endif
