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

/* Placing a network (place.c). */

/* The table of where every layer of @p m sits on @p p at @p threads threads, alone and in the
 * network, after the ridge points; then the memory-bound count and the network's bound.
 * @p name names the profile. */
void mbt_roofline_print_model(const struct mbt_profile *p, const char *name,
                              const struct mbt_model *m, int threads, FILE *out);
/* 1 when layer @p i of @p m, timed at @p ns inside the network, beat its ceiling there beyond
 * the noise: that ceiling is marked suspect in @p p (*marked, when given, counts the marks
 * that changed). */
int mbt_roofline_beaten(struct mbt_profile *p, const struct mbt_model *m, int i, int threads,
                        double ns, int *marked);
/* A layer's time inside the network (0: not timed) and what ran it. */
struct mbt_layer_time {
  double ns;
  const char *variant; /* its name, or "-" */
  const char *mark;    /* printed after it ("" when none) */
};
/* A line per layer of @p m on @p out (none when NULL): its placement on @p p at @p threads
 * threads and what it achieved at @p lt[i].ns; a layer that beat its ceiling marks it
 * suspect (mbt_roofline_beaten).  @return the marks that changed; *memory_bound gets the
 * layers memory-bound in the network. */
int mbt_roofline_print_timed(struct mbt_profile *p, const struct mbt_model *m, int threads,
                             const struct mbt_layer_time *lt, FILE *out, int *memory_bound);

#endif
