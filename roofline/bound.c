/* roofline/bound.c -- the roofline's lower bound on the time of one kernel variant on one
 * layer: no code of its ISA can run the layer faster on the machine the profile measured.
 * The planner orders and prunes its candidates by it. */
#include "config.h"

#include <string.h>

#include "roofline/roofline.h"

/* max(FLOPs / the best compute ceiling the code can reach, compulsory bytes / the L1 read
 * bandwidth).  Code of ISA mask @p isa can reach the ceilings of its own (widest) ISA and the
 * narrower ones, and the baseline SIMD the compiler may vectorize plain C to (SSE on x86-64,
 * NEON on aarch64), FMA, mul+add and FMA+add mixes alike.  0 without a profile or when it has
 * no ceiling at @p threads. */
double mbt_roofline_bound_ns(const struct mbt_profile *p, const struct mbt_layer *l, uint32_t isa,
                             int threads) {
  if (!p) return 0;
  uint32_t top = MBT_ISA_SCALAR;
  for (uint32_t b = 1; b && b <= isa; b <<= 1)
    if (isa & b) top = b;
  double peak = 0;
  for (int k = 0; k < p->npeaks; k++) {
    const struct mbt_peak *pk = &p->peaks[k];
    if (pk->threads != threads) continue;
    const char *name = pk->isa; /* names until the ISA table (machine/isa.h) says the facts */
    const int reach = !strcmp(name, "scalar") || !strcmp(name, "sse") || !strcmp(name, "neon") ||
                      (!strcmp(name, "avx2") && top >= MBT_ISA_AVX2 && top != MBT_ISA_NEON) ||
                      (!strcmp(name, "avx512f") && top == MBT_ISA_AVX512F);
    if (reach && pk->gflops.best > peak) peak = pk->gflops.best;
  }
  if (peak <= 0) return 0;
  double ns = 2.0 * l->macs / peak; /* GFLOP/s = FLOP/ns */
  if (p->nlevels > 0) {
    const int col = threads == 1 ? 0 : threads == p->threads ? 1 : -1;
    const double bw = col >= 0 ? p->levels[0].bw[MBT_BW_READ][col].best : 0;
    if (bw > 0 && l->bytes / bw > ns) ns = l->bytes / bw;
  }
  return ns;
}
