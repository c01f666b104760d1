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
/* mbt_roofline_place of layer @p l of @p m, given apart (a layer as it runs: mbt_place_as_run). */
void mbt_roofline_place_layer(const struct mbt_profile *p, const struct mbt_model *m,
                              const struct mbt_layer *l, int threads, struct mbt_place *out);

/* The profile and its measurement beyond the public API (measure.c, plateau.c, profile.c). */
/* One bandwidth point as the sweeps measure it: @p kernel (enum mbt_bw_kernel) over a working
 * set of @p bytes per thread (all the kernel's arrays together) on @p threads pinned threads
 * (0 = all), in GB/s of all threads together; for A/B comparisons with another tool. */
enum mbt_status mbt_roofline_point(const struct mbt_machine *m, int kernel, double bytes,
                                   int threads, struct mbt_figure *f);
/* Fill the summary fields (peak_*, simd_isa, levels' read1/readn) from peaks and levels. */
void mbt_profile_summarize(struct mbt_profile *p);
/* The best FMA (or mul+add) ceiling of any ISA at @p threads, GFLOP/s: what a layer's code,
 * whichever ISA it uses, is placed against. */
double mbt_profile_best_peak(const struct mbt_profile *p, int threads);
/* "  ADJUSTED: ...  UNDER LOAD: ..." for a figure's marks ("" when none). */
void mbt_figure_marks(const struct mbt_figure *f, char *buf, size_t n);
/* Ceilings whose suspect state is @p state (1: beaten, to measure again; 2: beaten again
 * after being measured again). */
int mbt_profile_suspects(const struct mbt_profile *p, int state);
/* Ceilings of @p old that were suspect are marked, in the new profile @p p, as measured again
 * after a kernel beat them (suspect = 3). */
void mbt_profile_carry_suspects(const struct mbt_profile *old, struct mbt_profile *p);
/* A timed kernel beat ceiling @p f (of @p p) beyond the noise: mark it suspect (1), or, if it
 * was already measured again after that (3), beaten again (2).  @return 1 when the mark
 * changed (the profile should be saved). */
int mbt_profile_beaten(struct mbt_profile *p, struct mbt_figure *f);
/* The best FMA (or mul+add) ceiling of @p isa ("" = widest SIMD) at @p threads, GFLOP/s. */
double mbt_profile_peak(const struct mbt_profile *p, const char *isa, int threads);

/*
 * Plateau detection on one bandwidth curve: for each memory level (capacities @p cap[0..ncap),
 * per thread, smallest first; a DRAM level follows them), the ceiling is the median of the
 * points whose working set lies well inside the level ([2 cap[i-1], cap[i] / 2]; DRAM: from 4
 * cap[ncap-1] on), relaxed to [1.25 cap[i-1], 0.8 cap[i]] when no point lies there.  A single
 * noisy point moves a median of three or more points little.  @p edge[i] gets the working set
 * where the curve first falls below the geometric mean of this plateau and the next (0 when it
 * never does); @p value[i] = 0 when no point lies in the level.  Returns the levels found.
 */
int mbt_plateaus(const double *ws, const double *gbs, int n, const double *cap, int ncap,
                 double *value, double *spread, double *edge);
/* The working-set window [@p lo, @p hi] that mbt_plateaus takes level @p l's plateau from
 * (the strict one, or the relaxed one when no point lies in it); returns how many of the @p n
 * points lie in it (0: none, and lo, hi are not set). */
int mbt_plateau_window(const double *ws, int n, const double *cap, int ncap, int l,
                       double *lo, double *hi);
/* The ceiling that bounds a layer placed at @p pc, in the network or (@p alone) alone: its
 * compute peak, or the read bandwidth of the level its traffic comes from; to mark it suspect. */
struct mbt_figure *mbt_profile_binding(struct mbt_profile *p, const struct mbt_place *pc,
                                       int threads, int alone);

#endif
