/* roofline/kernels-scalar.c -- the scalar ceilings (one float per operation, a multiply then an
 * add: the baseline has no FMA, and ISO C keeps them apart), the SSE ceilings on x86-64 (its
 * baseline), and the clock: a chain of dependent integer adds of a register runs one per
 * cycle. */
#include "config.h"

/* Scalar means scalar: no auto-vectorisation of the chains in this file. */
#pragma GCC optimize("no-tree-vectorize")

#include "common/common.h"
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

double mbt_roof_clock_ghz(void) {
#if defined(__x86_64__) || defined(__aarch64__)
  double best = 0;
  const unsigned long step = clock_step;
  for (int rep = 0; rep < 5; rep++) {
    const long iters = 2000000;
    unsigned long x = 0;
    const double t0 = mbt_now_ns();
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
    const double ghz = 8.0 * (double)iters / (mbt_now_ns() - t0);
    best = ghz > best ? ghz : best;
  }
  return best;
#else
  return 0;
#endif
}
