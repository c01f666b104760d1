/* net/place.c -- where a network's layers sit on a measured roofline, printed, and the
 * check that a timed layer did not beat its ceiling (if it did, the ceiling is suspect). */
#include "config.h"

#include <stdio.h>

#include "net/net.h"

void mbt_roofline_print_model(const struct mbt_profile *p, const char *name,
                              const struct mbt_model *m, int threads, FILE *out) {
  const int t = threads;
  fprintf(out, "\non this machine (%s, %d thread%s): %s peak %.1f GFLOP/s; ridge points", name, t,
          t > 1 ? "s" : "", p->simd_isa, t > 1 ? p->peak_simdn.best : p->peak_simd1.best);
  struct mbt_place pc;
  mbt_roofline_place(p, m, 0, t, &pc);
  for (int l = 0; l < p->nlevels; l++)
    fprintf(out, " %s %.2f%s", p->levels[l].name, pc.ridges[l],
            l + 1 < p->nlevels ? "," : " FLOP/B\n");
  fprintf(out, "%-12s %-8s %9s  %-22s %10s  %-22s %10s\n", "layer", "kind", "FLOP/B", "alone",
          "GFLOP/s", "in the network", "GFLOP/s");
  int mem = 0;
  for (int i = 0; i < m->nlayers; i++) {
    const struct mbt_layer *l = &m->layers[i];
    mbt_roofline_place(p, m, i, t, &pc);
    char a[32], b[32];
    snprintf(a, sizeof a, "%s-bound at %s", pc.memory_bound ? "memory" : "compute",
             p->levels[pc.level].name);
    snprintf(b, sizeof b, "%s-bound at %s", pc.net_memory_bound ? "memory" : "compute",
             p->levels[pc.net_level].name);
    mem += pc.net_memory_bound;
    fprintf(out, "%-12s %-8s %9.3f  %-22s %10.1f  %-22s %10.1f\n", l->name, mbt_op_name(l->op),
            pc.intensity, a, pc.attainable, b, pc.net_attainable);
  }
  fprintf(out, "%d of %d layers memory-bound in the network\n", mem, m->nlayers);
  const double bound = mbt_roofline_net_bound_ns(p, m, t);
  if (bound > 0)
    fprintf(out, "roofline bound of the network: %.3f ms, %.1f GFLOP/s (every layer at its ceiling "
            "in the network: no plan runs faster here)\n", bound / 1e6, 2 * m->macs / bound);
}

int mbt_roofline_beaten(struct mbt_profile *p, const struct mbt_model *m, int i, int threads,
                        const char *variant, double ns, int *marked) {
  struct mbt_place pc;
  mbt_place_as_run(p, m, i, threads, variant, &pc);
  /* 5%: beyond the noise of a ceiling's repetitions */
  if (!(pc.net_attainable > 0 && ns > 0 && pc.flops / ns > 1.05 * pc.net_attainable)) return 0;
  const int changed = mbt_profile_beaten(p, mbt_profile_binding(p, &pc, threads, 0));
  if (marked) *marked += changed;
  return 1;
}

/* "achieved X (P%)" of a layer against its bound, never more than 100% as a fact: within the
 * noise above it, "at the ceiling"; beyond it, the ceiling is suspect. */
static void achieved(double gflops, double bound, char *buf, size_t n) {
  const double pct = bound > 0 ? 100 * gflops / bound : 0;
  if (pct <= 100) snprintf(buf, n, "%6.1f (%3.0f%%)", gflops, pct);
  else if (pct <= 105) snprintf(buf, n, "%6.1f (100%%, at the ceiling within noise)", gflops);
  else snprintf(buf, n, "%6.1f (above the ceiling by %.0f%%: SUSPECT)", gflops, pct - 100);
}

int mbt_roofline_print_timed(struct mbt_profile *p, const struct mbt_model *m, int threads,
                             const struct mbt_layer_time *lt, FILE *out, int *memory_bound) {
  int mem = 0, marked = 0;
  for (int i = 0; i < m->nlayers; i++) {
    const struct mbt_layer *l = &m->layers[i];
    struct mbt_place pc;
    char ach[96];
    mbt_place_as_run(p, m, i, threads, lt[i].variant, &pc);
    mem += pc.net_memory_bound;
    achieved(lt[i].ns > 0 ? pc.flops / lt[i].ns : 0, pc.net_attainable, ach, sizeof ach);
    mbt_roofline_beaten(p, m, i, threads, lt[i].variant, lt[i].ns, &marked);
    if (out)
      fprintf(out, "  %-12s %-8s I=%7.2f FLOP/B  alone %-7s-bound at %-4s %6.1f GFLOP/s; in the "
              "network %-7s-bound at %-4s %6.1f; achieved %s  %s%s\n", l->name,
              mbt_op_name(l->op), pc.intensity, pc.memory_bound ? "memory" : "compute",
              p->levels[pc.level].name, pc.attainable, pc.net_memory_bound ? "memory" : "compute",
              p->levels[pc.net_level].name, pc.net_attainable, ach, lt[i].variant, lt[i].mark);
  }
  if (memory_bound) *memory_bound = mem;
  return marked;
}
