/* roofline/bound.c -- the roofline's lower bound on the time of one kernel variant on one
 * layer: no code of its ISA can run the layer faster on the machine the profile measured.
 * The planner orders and prunes its candidates by it. */
#include "config.h"

#include "machine/isa.h"
#include "roofline/roofline.h"

/* max(FLOPs / the best compute ceiling the code can reach, compulsory bytes / the L1 read
 * bandwidth).  Code of ISA mask @p isa can reach the ceilings the ISA table says it reaches
 * (mbt_isa_reaches: its own ISA, the narrower ones, the baseline the compiler vectorizes plain
 * C to), FMA, mul+add and FMA+add mixes alike.  0 without a profile or when it has
 * no ceiling at @p threads. */
double mbt_roofline_bound_ns(const struct mbt_profile *p, const struct mbt_layer *l, uint32_t isa,
                             int threads) {
  if (!p) return 0;
  double peak = 0;
  for (int k = 0; k < p->npeaks; k++) {
    const struct mbt_peak *pk = &p->peaks[k];
    if (pk->threads == threads && mbt_isa_reaches(isa, mbt_isa_of_name(pk->isa)) &&
        pk->gflops.best > peak)
      peak = pk->gflops.best;
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
