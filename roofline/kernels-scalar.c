/* roofline/kernels-scalar.c -- the scalar ceilings (one float per operation, a multiply then an
 * add: the baseline has no FMA, and ISO C keeps them apart), the SSE ceilings on x86-64 (its
 * baseline), and the clock: a chain of dependent integer adds of a register runs one per
 * cycle. */
#include "config.h"

/* Scalar means scalar: no auto-vectorisation of the chains in this file. */
#pragma GCC optimize("no-tree-vectorize")

#include <string.h>

#include "common/common.h"
#include "machine/machine.h"
#include "roofline/roofline.h"

#define RV float
#define RL 1
#define RSET1(x) (x)
#define RFMA(a, b, c) ((a) * (b) + (c))
#define RADD(a, b) ((a) + (b))
#define RLOAD(p) (*(p))
#define RSTORE(p, v) (*(p) = (v))
#define RLANE0(v) (v)
#if defined(__aarch64__)
#define RREGS 32
#else
#define RREGS 16
#endif
#include "roofline/roof-tmpl.h"
MBT_ROOF_ISA(mbt_roof_scalar, "scalar", 0, 0)

/* The increment comes from a volatile, so it is a register whose value the core cannot know
 * ahead: some cores (Intel's Golden Cove, Sapphire Rapids) fold chains of adds of an immediate
 * in the renamer and retire several a cycle (such a chain read 11.9 GHz on a 2.1 GHz Xeon). */
static volatile unsigned long clock_step = 1;

double mbt_roof_clock_ghz(struct mbt_figure *f) {
  memset(f, 0, sizeof *f);
#if defined(__x86_64__) || defined(__aarch64__)
  /* Short repetitions (about half a millisecond) fit between another process's time slices;
   * one that a thread did not have to itself (its CPU time under its wall time) is not kept. */
  const unsigned long step = clock_step;
  double rate[16];
  int kept = 0, looks = 0;
  for (; kept < 9 && looks < 60; looks++) {
    const long iters = 250000;
    unsigned long x = 0;
    const double t0 = mbt_now_ns(), c0 = mbt_thread_cpu_ns();
    for (long i = 0; i < iters; i++) {
#if defined(__x86_64__)
      __asm__ volatile("add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
                       "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0"
                       : "+r"(x) : "r"(step));
#else
      __asm__ volatile("add %0, %0, %1\n\tadd %0, %0, %1\n\tadd %0, %0, %1\n\t"
                       "add %0, %0, %1\n\tadd %0, %0, %1\n\tadd %0, %0, %1\n\t"
                       "add %0, %0, %1\n\tadd %0, %0, %1"
                       : "+r"(x) : "r"(step));
#endif
    }
    const double wall = mbt_now_ns() - t0, cpu = mbt_thread_cpu_ns() - c0;
    if (cpu > 0 && cpu < 0.97 * wall && looks < 59) continue; /* disturbed: look again */
    rate[kept++] = 8.0 * (double)iters / wall;
  }
  f->reps = kept;
  f->disturbed = looks - kept;
  f->best = f->max = f->min = rate[0];
  for (int r = 1; r < kept; r++) {
    f->best = f->max = rate[r] > f->best ? rate[r] : f->best;
    f->min = rate[r] < f->min ? rate[r] : f->min;
  }
  f->median = mbt_median(rate, kept);
  f->flagged = kept < 3 || (f->max - f->min) / f->max > 0.10;
  return f->best;
#else
  return 0;
#endif
}
