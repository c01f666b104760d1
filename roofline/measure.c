/* roofline/measure.c -- this machine's ceilings.
 *
 * Compute: for every instruction set built and usable here (scalar, SSE, AVX2, AVX-512, NEON)
 * the clock is inferred from a dependent integer add chain, the FMA latency from a dependent FMA
 * chain, and every accumulator count the registers allow is timed on one thread; the fastest
 * (which covers latency x pipes) is kept and timed again on every thread count up to all, pinned.
 * A mixed FMA + add kernel is timed too where the ISA has FMA (cores whose adders are separate
 * pipes go faster with it).
 *
 * Bandwidth: read, write, copy and triad over a sweep of working sets per thread from 4 KiB to
 * several times the last-level cache, on 1 thread and on all threads, pinned, each array touched
 * first by the thread that uses it; each level's ceiling comes from the plateau of its sizes
 * (roofline/plateau.c) as hwloc reports them.  Bytes counted: what the kernel loads plus what
 * it stores (STREAM's and likwid-bench's convention); the write-allocate reads of stored lines
 * are not counted, in every kernel alike.
 *
 * Each figure is the best of several calibrated repetitions with the spread kept; repetitions
 * that disagree by more than 10% are measured again (up to 3 attempts) and stay flagged if
 * every attempt disagrees. */
#define _GNU_SOURCE /* sched_getcpu */
#include "config.h"

#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/common.h"
#include "machine/isa.h"
#include "machine/machine.h"
#include "roofline/roofline.h"

#define FLAG_SPREAD 0.10 /* (best - worst) / best beyond which a figure is flagged */

static void figure_from(const double *rate, int reps, struct mbt_figure *f) {
  memset(f, 0, sizeof *f); /* no mark a new figure has not earned */
  f->reps = reps;
  f->best = f->min = rate[0];
  for (int r = 1; r < reps; r++) {
    f->best = rate[r] > f->best ? rate[r] : f->best;
    f->min = rate[r] < f->min ? rate[r] : f->min;
  }
  f->max = f->best;
  f->median = mbt_median(rate, reps);
  f->flagged = (f->max - f->min) / f->max > FLAG_SPREAD;
}

static volatile float sink; /* keeps every kernel's result alive */

/* Add a warning to the profile (what its figures cannot vouch for). */
static void profile_warn(struct mbt_profile *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void profile_warn(struct mbt_profile *p, const char *fmt, ...) {
  if (p->nwarnings >= MBT_MAX_WARNINGS) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->warnings[p->nwarnings++], sizeof p->warnings[0], fmt, ap);
  va_end(ap);
}

struct job {
  mbt_flops_fn flops;
  mbt_bw_fn bw;
  long iters;
  size_t n;        /* floats per array */
  float ***arrays; /* arrays[thread][array] */
};

#define DISTURBED 0.97 /* a thread with less of its CPU than this was disturbed */
static int busy_cpu = -1; /* the last CPU seen held by another process */

/* Run the job on @p threads pinned threads; return the wall time from a common start, ns.
 * @p share gets the least share of its CPU any thread had while it ran (its CPU time over its
 * wall time): below DISTURBED, another process ran on that CPU meanwhile. */
static double run_job(const struct job *j, int threads, double *share) {
  double t0 = 0, t1 = 0, least = 1;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(min : least)
  {
    const int t = omp_get_thread_num();
#pragma omp barrier
#pragma omp master
    t0 = mbt_now_ns();
#pragma omp barrier
    const double w0 = mbt_now_ns(), c0 = mbt_thread_cpu_ns();
    const float v = j->flops ? j->flops(j->iters) : j->bw(j->arrays[t], j->n, j->iters);
    const double w = mbt_now_ns() - w0, c = mbt_thread_cpu_ns() - c0;
    least = w > 0 && c > 0 ? c / w : 1;
    if (least < DISTURBED) busy_cpu = sched_getcpu(); /* a CPU another process held */
#pragma omp atomic
    sink += v;
#pragma omp barrier
#pragma omp master
    t1 = mbt_now_ns();
  }
#else
  (void)threads;
  t0 = mbt_now_ns();
  const double c0 = mbt_thread_cpu_ns();
  sink += j->flops ? j->flops(j->iters) : j->bw(j->arrays[0], j->n, j->iters);
  t1 = mbt_now_ns();
  const double c = mbt_thread_cpu_ns() - c0;
  least = t1 > t0 && c > 0 ? c / (t1 - t0) : 1;
#endif
  if (share) *share = least;
  return t1 - t0;
}

static void pin_team(int threads) {
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  mbt_topo_pin(omp_get_thread_num());
#else
  (void)threads;
  mbt_topo_pin(0);
#endif
}

/* Calibrate iters so one run lasts target_ms, then time reps runs; rate = units / ns summed
 * over the threads (GFLOP/s or GB/s).  A repetition during which another process held one of
 * the team's CPUs is timed again (up to RETAKES times in all); the figure counts those that
 * stayed disturbed. */
#define RETAKES 12
static void measure(struct job *j, int threads, double units_per_iter, double target_ms,
                    int reps, struct mbt_figure *f) {
  j->iters = 1;
  for (;;) {
    const double dt = run_job(j, threads, NULL);
    if (dt >= target_ms * 1e6 || j->iters > (1L << 40)) break;
    j->iters = dt < target_ms * 1e5 ? j->iters * 8 : j->iters * 2;
  }
  double best = 0; /* the best repetition of every attempt: a ceiling is what was reached */
  int retakes = 0;
  for (int attempt = 0; attempt < 3; attempt++) {
    double rate[16];
    struct mbt_figure g;
    int disturbed = 0;
    for (int r = 0; r < reps; r++) {
      double share;
      rate[r] = units_per_iter * (double)j->iters * threads / run_job(j, threads, &share);
      if (share < DISTURBED && retakes < RETAKES) {
        retakes++, r--; /* measured under load: take it again */
        continue;
      }
      disturbed += share < DISTURBED;
    }
    figure_from(rate, reps, &g);
    g.disturbed = disturbed;
    best = g.best > best ? g.best : best;
    if (attempt == 0 || (!g.flagged && f->flagged) ||
        (g.flagged == f->flagged && g.median > f->median))
      *f = g;
    if (!f->flagged) break;
  }
  f->best = f->max = best; /* median, worst and the flag stay those of the attempt kept */
}

/* The instruction sets this build has, usable on this host. */
static int roof_isas(const struct mbt_machine *m, const struct mbt_roof_isa **out) {
  int n = 0;
  out[n++] = &mbt_roof_scalar;
#ifdef MBT_HAVE_ROOF_SSE
  out[n++] = &mbt_roof_sse;
#endif
#if MBT_HAVE_AVX2
  if (m->isa & MBT_ISA_AVX2) out[n++] = &mbt_roof_avx2;
#endif
#if MBT_HAVE_AVX512
  if (m->isa & MBT_ISA_AVX512F) out[n++] = &mbt_roof_avx512;
#endif
#if MBT_HAVE_NEON
  if (m->isa & MBT_ISA_NEON) out[n++] = &mbt_roof_neon;
#endif
  (void)m;
  return n;
}

static struct mbt_peak *add_peak(struct mbt_profile *p, const char *isa, const char *kernel,
                                 int threads, int chains) {
  if (p->npeaks >= MBT_MAX_PEAKS) return NULL;
  struct mbt_peak *k = &p->peaks[p->npeaks++];
  memset(k, 0, sizeof *k);
  snprintf(k->isa, sizeof k->isa, "%s", isa);
  snprintf(k->kernel, sizeof k->kernel, "%s", kernel);
  k->threads = threads, k->chains = chains;
  return k;
}

static struct mbt_figure clock_fig; /* the clock's repetitions (mbt_roof_clock_ghz) */
static double fma_lat_rate;         /* dependent FMAs per ns on the widest FMA ISA */

/* Thread counts measured: 1, 2, 4, ... and all. */
static int thread_counts(int threads, int *tc) {
  int n = 0;
  for (int t = 1; t < threads; t *= 2) tc[n++] = t;
  tc[n++] = threads;
  return n;
}

/* The compute ceilings on one thread (@p multi = 0: dependent latency, every accumulator count,
 * the FMA+ADD mix) or on every larger thread count (@p multi = 1: the best accumulator count
 * found on one thread, and the mix on all threads). */
static void measure_compute(const struct mbt_machine *m, const struct mbt_roofline_opts *o,
                            struct mbt_profile *p, int reps, double ms, int multi) {
  const struct mbt_roof_isa *isa[8];
  const int nisa = roof_isas(m, isa);
  int tc[16];
  const int ntc = thread_counts(p->threads, tc);
  if (!multi) p->clock_ghz = mbt_roof_clock_ghz(&clock_fig);
  for (int k = 0; k < nisa; k++) {
    const struct mbt_roof_isa *I = isa[k];
    const char *kname = I->fma ? "fma" : "mul+add";
    struct job j = {I->latency, NULL, 0, 0, NULL};
    struct mbt_peak *pk;
    if (multi) {
      int chains = 0; /* the one-thread winner's accumulator count */
      for (int i = 0; i < p->npeaks; i++)
        if (!strcmp(p->peaks[i].isa, I->isa) && !strcmp(p->peaks[i].kernel, kname) &&
            p->peaks[i].threads == 1)
          chains = p->peaks[i].chains;
      for (int c = 0; c < I->nchains; c++)
        if (I->chains[c] == chains) j.flops = I->chain_fn[c];
      for (int t = 1; t < ntc && chains; t++) {
        pin_team(tc[t]);
        if ((pk = add_peak(p, I->isa, kname, tc[t], chains)))
          measure(&j, tc[t], 2.0 * chains * I->lanes, ms, reps, &pk->gflops);
      }
      if (I->fma && I->mix && ntc > 1) {
        j.flops = I->mix;
        pin_team(tc[ntc - 1]);
        if ((pk = add_peak(p, I->isa, "fma+add", tc[ntc - 1], I->mix_fma + I->mix_add)))
          measure(&j, tc[ntc - 1], (2.0 * I->mix_fma + I->mix_add) * I->lanes, ms, reps,
                  &pk->gflops);
      }
      continue;
    }
    struct mbt_figure lat;
    pin_team(1);
    measure(&j, 1, 8.0, ms / 2, reps, &lat); /* rate = dependent FMAs per ns */
    const double lat_cycles = p->clock_ghz > 0 ? p->clock_ghz / lat.best : 0;
    if (I->fma && k == nisa - 1) p->fma_latency = lat_cycles, fma_lat_rate = lat.best;
    /* every accumulator count on one thread; keep the fastest */
    struct mbt_figure best;
    memset(&best, 0, sizeof best);
    int best_chains = 0;
    for (int c = 0; c < I->nchains; c++) {
      struct mbt_figure f;
      j.flops = I->chain_fn[c];
      measure(&j, 1, 2.0 * I->chains[c] * I->lanes, ms, reps, &f);
      if (o->verbose > 1)
        fprintf(stderr, "roofline: %s %s %2d chains %.1f GFLOP/s\n", I->isa, kname, I->chains[c], f.best);
      if (f.best > best.best * 1.02) best = f, best_chains = I->chains[c];
    }
    if ((pk = add_peak(p, I->isa, kname, 1, best_chains))) pk->gflops = best;
    double mix = 0;
    if (I->fma && I->mix) { /* the mix */
      j.flops = I->mix;
      if ((pk = add_peak(p, I->isa, "fma+add", 1, I->mix_fma + I->mix_add))) {
        measure(&j, 1, (2.0 * I->mix_fma + I->mix_add) * I->lanes, ms, reps, &pk->gflops);
        mix = pk->gflops.best;
      }
    }
    if (o->verbose) {
      fprintf(stderr, "roofline: %-7s %-7s %6.1f GFLOP/s on 1 thread (%d chains; dependent "
              "latency %.1f cycles)", I->isa, kname, best.best, best_chains, lat_cycles);
      if (mix > 0) fprintf(stderr, "; fma+add %.1f", mix);
      fprintf(stderr, "\n");
    }
  }
}

/* The job that measures peak @p pk (its ISA, kernel and accumulator count), with the FLOPs
 * of one iteration in @p per_iter; 0 when this build or host cannot run it. */
static int peak_job(const struct mbt_machine *m, const struct mbt_peak *pk, struct job *j,
                    double *per_iter) {
  const struct mbt_roof_isa *isa[8];
  const int nisa = roof_isas(m, isa);
  const struct mbt_roof_isa *I = NULL;
  for (int k = 0; k < nisa; k++)
    if (!strcmp(isa[k]->isa, pk->isa)) I = isa[k];
  memset(j, 0, sizeof *j);
  if (!I) return 0;
  if (!strcmp(pk->kernel, "fma+add"))
    j->flops = I->mix, *per_iter = (2.0 * I->mix_fma + I->mix_add) * I->lanes;
  else
    for (int c = 0; c < I->nchains; c++)
      if (I->chains[c] == pk->chains) j->flops = I->chain_fn[c], *per_iter = 2.0 * pk->chains * I->lanes;
  return j->flops != NULL;
}

/* Time peak @p pk again on its thread count; it keeps the better look.  @return its best. */
static double remeasure_peak(const struct mbt_machine *m, struct mbt_peak *pk, int reps, double ms) {
  struct job j;
  double per_iter = 0;
  if (!peak_job(m, pk, &j, &per_iter)) return pk->gflops.best;
  struct mbt_figure f;
  pin_team(pk->threads);
  measure(&j, pk->threads, per_iter, ms, reps, &f);
  if (f.best > pk->gflops.best) pk->gflops = f;
  return pk->gflops.best;
}

/* The one-thread peak of the same ISA and kernel as @p pk (NULL when none). */
static const struct mbt_peak *one_thread(const struct mbt_profile *p, const struct mbt_peak *pk) {
  for (int q = 0; q < p->npeaks; q++)
    if (p->peaks[q].threads == 1 && !strcmp(p->peaks[q].isa, pk->isa) &&
        !strcmp(p->peaks[q].kernel, pk->kernel))
      return &p->peaks[q];
  return NULL;
}

/* A compute peak on several threads that scales below 90% of linear from its one-thread
 * figure is timed once more after the sweeps (another tenant may have held a core for a
 * while); it keeps the better look. */
static void recheck_peaks(const struct mbt_machine *m, struct mbt_profile *p, int reps, double ms,
                          int verbose) {
  int again = 0;
  for (int i = 0; i < p->npeaks; i++) {
    struct mbt_peak *pk = &p->peaks[i];
    const struct mbt_peak *o1 = one_thread(p, pk);
    const double one = o1 ? o1->gflops.best : 0;
    if (pk->threads < 2 || !(one > 0) || pk->gflops.best >= 0.9 * one * pk->threads) continue;
    again++;
    remeasure_peak(m, pk, reps, ms);
  }
  if (verbose && again)
    fprintf(stderr, "roofline: %d thread%s: %d compute ceiling%s scaled below 90%% of linear; "
            "timed again\n", p->threads, p->threads > 1 ? "s" : "", again, again > 1 ? "s" : "");
}

/* Peaks in print order: by instruction set and kernel as first measured, then threads. */
static void sort_peaks(struct mbt_profile *p) {
  int rank[MBT_MAX_PEAKS];
  for (int i = 0; i < p->npeaks; i++) {
    rank[i] = i;
    for (int k = 0; k < i; k++) /* the first entry of the same isa and kernel */
      if (!strcmp(p->peaks[k].isa, p->peaks[i].isa) && !strcmp(p->peaks[k].kernel, p->peaks[i].kernel)) {
        rank[i] = rank[k];
        break;
      }
  }
  for (int i = 1; i < p->npeaks; i++) { /* insertion sort: stable */
    const struct mbt_peak x = p->peaks[i];
    const int r = rank[i];
    int k = i;
    while (k > 0 && (rank[k - 1] > r || (rank[k - 1] == r && p->peaks[k - 1].threads > x.threads))) {
      p->peaks[k] = p->peaks[k - 1], rank[k] = rank[k - 1];
      k--;
    }
    p->peaks[k] = x, rank[k] = r;
  }
}

/* Capacity of cache level @p lv that each of @p nt pinned threads has (bytes). */
static double share(const struct mbt_cache *c, int nt) {
  const int sharers = c->shared_by > 1 ? (nt < c->shared_by ? nt : c->shared_by) : 1;
  return (double)c->size / sharers;
}

static const int arrays_of[MBT_BW_KERNELS] = {1, 1, 2, 3};
static const char *const bw_names[MBT_BW_KERNELS] = {"read", "write", "copy", "triad"};

/* Pin a team of @p nt threads and give each @p na arrays of @p n floats (1.0), first touched by
 * the thread that streams them (its NUMA node, its TLB); rows[t] = arr[t].  Returns 0 when one
 * could not be allocated (the others are still in arr, for free_arrays). */
static int alloc_arrays(int nt, int na, size_t n, float *arr[][3], float **rows[]) {
  memset(arr, 0, sizeof(arr[0]) * (size_t)nt);
  pin_team(nt);
  int fail = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) reduction(| : fail)
#endif
  {
#ifdef _OPENMP
    const int t = omp_get_thread_num();
#else
    const int t = 0;
#endif
    for (int a = 0; a < na; a++) {
      arr[t][a] = mbt_alloc(n, sizeof(float));
      if (!arr[t][a]) fail = 1;
      else
        for (size_t i = 0; i < n; i++) arr[t][a][i] = 1.0f;
    }
  }
  for (int t = 0; t < nt; t++) rows[t] = arr[t];
  return !fail;
}

static void free_arrays(int nt, float *arr[][3]) {
  for (int t = 0; t < nt; t++)
    for (int a = 0; a < 3; a++) mbt_free(arr[t][a]);
}

/* A level's ceiling is flagged when none was found or its plateau points disagree. */
static int level_flagged(double value, double spread) {
  return value <= 0 || spread > 1.5 * FLAG_SPREAD;
}

/* Time point @p i of sweep curve @p cv (its working set already set) on @p nt threads; the
 * point keeps the better of this look and any earlier one (a ceiling is what was reached). */
static void time_point(struct mbt_curve *cv, int i, const struct mbt_roof_isa *I, float ***rows,
                       int nt, int reps, double ms) {
  const int k = cv->kernel;
  const size_t n = (size_t)(cv->ws[i] / arrays_of[k] / sizeof(float) + 0.5);
  struct job j = {NULL, I->bw[k], 0, n, rows};
  struct mbt_figure f;
  measure(&j, nt, cv->ws[i], ms / 4, reps, &f);
  if (f.best > cv->best[i]) cv->best[i] = f.best, cv->disturbed[i] = f.disturbed;
  if (f.median > cv->median[i]) cv->median[i] = f.median;
}

/* Level ceilings [kernel][ti] from one curve's plateaus. */
static void curve_levels(struct mbt_profile *p, const struct mbt_curve *cv, const double *cap,
                         const double *cap1, int ncap, int ti, int reps) {
  const int k = cv->kernel, nt = cv->threads;
  double val[MBT_MAX_LEVELS], spr[MBT_MAX_LEVELS], edge[MBT_MAX_LEVELS], med[MBT_MAX_LEVELS];
  double dummy[MBT_MAX_LEVELS];
  mbt_plateaus(cv->ws, cv->best, cv->n, cap, ncap, val, spr, edge);
  mbt_plateaus(cv->ws, cv->median, cv->n, cap, ncap, med, dummy, dummy);
  for (int l = 0; l <= ncap; l++) {
    struct mbt_figure *f = &p->levels[l].bw[k][ti];
    memset(f, 0, sizeof *f);
    f->best = f->max = val[l], f->median = med[l], f->reps = reps;
    f->min = val[l]; /* the lowest point of the plateau */
    double lo, hi;
    if (mbt_plateau_window(cv->ws, cv->n, cap, ncap, l, &lo, &hi))
      for (int i = 0; i < cv->n; i++)
        if (cv->ws[i] >= lo && cv->ws[i] <= hi) {
          if (cv->best[i] < f->min) f->min = cv->best[i];
          f->disturbed += cv->disturbed[i] > 0;
        }
    f->flagged = level_flagged(val[l], spr[l]);
    if (k == MBT_BW_READ && nt == 1 && l < ncap) {
      p->levels[l].edge = edge[l];
      p->levels[l].agrees = edge[l] > 0 && edge[l] >= cap1[l] / 2 && edge[l] <= cap1[l] * 2;
    }
  }
}

/* What a level's ceiling must reach: the next larger level's (data in a smaller level come at
 * least as fast), and on all threads the one-thread figure (one thread alone reaches it). */
static double level_floor(const struct mbt_profile *p, int l, int ncap, int k, int ti,
                          const char **why) {
  double floor = 0;
  *why = "";
  if (l < ncap && p->levels[l + 1].bw[k][ti].best > 0)
    floor = p->levels[l + 1].bw[k][ti].best, *why = p->levels[l + 1].name;
  if (ti == 1 && p->levels[l].bw[k][0].best > floor)
    floor = p->levels[l].bw[k][0].best, *why = "one thread";
  return floor;
}

#define ORDER_TOL 0.03 /* a figure this far below what it must reach breaks the order */

/* Ceilings that break the order are swept again over their plateau (each point keeps its best
 * look); one that still does is raised to what it must reach, flagged and adjusted. */
static void order_levels(struct mbt_profile *p, int first, const double *cap, const double *cap1,
                         int ncap, int ti, const struct mbt_roof_isa *I, float ***rows, int nt,
                         int reps, double ms) {
  for (int round = 0; round < 2; round++) {
    int again = 0;
    for (int c = first; c < p->ncurves; c++) {
      struct mbt_curve *cv = &p->curves[c];
      const int k = cv->kernel;
      for (int l = ncap; l >= 0; l--) {
        const char *why;
        struct mbt_figure *f = &p->levels[l].bw[k][ti];
        const double floor = level_floor(p, l, ncap, k, ti, &why);
        if (!(f->best < floor * (1 - ORDER_TOL))) continue;
        double lo, hi;
        if (round == 0 && mbt_plateau_window(cv->ws, cv->n, cap, ncap, l, &lo, &hi)) {
          for (int i = 0; i < cv->n; i++)
            if (cv->ws[i] >= lo && cv->ws[i] <= hi) time_point(cv, i, I, rows, nt, reps, ms);
          again = 1;
        } else if (round == 1) {
          profile_warn(p, "%s %s on %d thread%s: %.1f GB/s stayed below %s's %.1f when swept "
                       "again; raised to it", p->levels[l].name, bw_names[k], nt, nt > 1 ? "s" : "",
                       f->best, why, floor);
          f->best = f->max = floor;
          f->flagged = f->adjusted = 1;
        }
      }
    }
    if (!again) break;
    for (int c = first; c < p->ncurves; c++) curve_levels(p, &p->curves[c], cap, cap1, ncap, ti, reps);
  }
}

/* The sweeps on one thread (@p multi = 0) or on all threads (@p multi = 1). */
static enum mbt_status measure_bandwidth(const struct mbt_machine *m,
                                         const struct mbt_roofline_opts *o,
                                         struct mbt_profile *p, int reps, double ms, int multi) {
  const struct mbt_roof_isa *isa[8];
  const struct mbt_roof_isa *I = isa[roof_isas(m, isa) - 1]; /* the widest */
  /* levels from hwloc (never one the machine lacks), then DRAM */
  double cap1[MBT_MAX_LEVELS], capn[MBT_MAX_LEVELS], llc_total = 0;
  int ncap = 0;
  for (int lv = 1; lv <= 4 && ncap < MBT_MAX_LEVELS - 1; lv++) {
    const struct mbt_cache *c = mbt_machine_cache(m, lv);
    if (!c) continue;
    struct mbt_bw_level *L = &p->levels[ncap];
    snprintf(L->name, sizeof L->name, "L%d", lv);
    cap1[ncap] = share(c, 1), capn[ncap] = share(c, p->threads);
    L->size = (uint64_t)cap1[ncap], L->size_n = (uint64_t)capn[ncap];
    L->ws = L->size / 2;
    llc_total = (double)c->size * (c->instances > 0 ? c->instances : 1);
    ncap++;
  }
  p->nlevels = ncap + 1;
  struct mbt_bw_level *D = &p->levels[ncap];
  snprintf(D->name, sizeof D->name, "DRAM");
  /* sweep to 4 x the last-level cache in all (at least 64 MiB), split over the threads */
  double top = 4 * llc_total;
  top = top < 64.0 * (1 << 20) ? 64.0 * (1 << 20) : top;
  D->ws = (uint64_t)top;
  const int tcount[2] = {1, p->threads};
  const double step = o->quick ? 2.0 : sqrt(2.0);
  enum mbt_status st = MBT_OK;
  for (int ti = multi; ti < (multi ? 2 : 1) && p->threads > ti && st == MBT_OK; ti++) {
    const int nt = tcount[ti];
    const size_t maxn = ((size_t)(top / nt / sizeof(float)) + MBT_BW_ALIGN) / MBT_BW_ALIGN * MBT_BW_ALIGN;
    float *arr[256][3];
    float **rows[256];
    const int fail = !alloc_arrays(nt, 3, maxn, arr, rows);
    if (fail) st = mbt_fail(MBT_ENOMEM, "cannot allocate %zu MiB for the bandwidth sweep",
                            3 * maxn * sizeof(float) * (size_t)nt >> 20);
    const int first = p->ncurves;
    for (int k = 0; k < MBT_BW_KERNELS && st == MBT_OK && p->ncurves < MBT_MAX_CURVES; k++) {
      struct mbt_curve *cv = &p->curves[p->ncurves++];
      memset(cv, 0, sizeof *cv);
      cv->kernel = k, cv->threads = nt;
      for (double ws = 4096; ws <= top / nt * 1.01 && cv->n < MBT_MAX_SWEEP; ws *= step) {
        size_t n = (size_t)(ws / arrays_of[k] / sizeof(float)) / MBT_BW_ALIGN * MBT_BW_ALIGN;
        if (n < MBT_BW_ALIGN) n = MBT_BW_ALIGN;
        if (n > maxn) n = maxn;
        cv->ws[cv->n] = (double)n * arrays_of[k] * sizeof(float);
        time_point(cv, cv->n++, I, rows, nt, reps, ms);
      }
    }
    /* A level whose plateau points disagree (another tenant took a core for a while) is swept
     * again after every other curve of this thread count, up to twice, so the second look
     * falls at another time; each point keeps the best of its looks. */
    const double *cap = nt == 1 ? cap1 : capn;
    for (int round = 0; round < 2 && st == MBT_OK; round++) {
      int again = 0;
      for (int c = first; c < p->ncurves; c++) {
        struct mbt_curve *cv = &p->curves[c];
        double val[MBT_MAX_LEVELS], spr[MBT_MAX_LEVELS], edge[MBT_MAX_LEVELS], lo, hi;
        mbt_plateaus(cv->ws, cv->best, cv->n, cap, ncap, val, spr, edge);
        for (int l = 0; l <= ncap; l++) {
          if (!level_flagged(val[l], spr[l]) ||
              !mbt_plateau_window(cv->ws, cv->n, cap, ncap, l, &lo, &hi))
            continue;
          for (int i = 0; i < cv->n; i++)
            if (cv->ws[i] >= lo && cv->ws[i] <= hi) time_point(cv, i, I, rows, nt, reps, ms);
          again++;
        }
      }
      if (again && o->verbose)
        fprintf(stderr, "roofline: %d thread%s: %d plateau%s whose points disagree swept again "
                "(look %d of 3)\n", nt, nt > 1 ? "s" : "", again, again > 1 ? "s" : "", round + 2);
      if (!again) break;
    }
    for (int c = first; c < p->ncurves; c++) curve_levels(p, &p->curves[c], cap, cap1, ncap, ti, reps);
    order_levels(p, first, cap, cap1, ncap, ti, I, rows, nt, reps, ms);
    if (o->verbose) { /* one line per thread count: the read ceilings */
      fprintf(stderr, "roofline: bandwidth on %d thread%s (read):", nt, nt > 1 ? "s" : "");
      for (int l = 0; l <= ncap; l++)
        fprintf(stderr, " %s %.1f%s", p->levels[l].name, p->levels[l].bw[MBT_BW_READ][ti].best,
                l < ncap ? "," : " GB/s\n");
    }
    free_arrays(nt, arr);
  }
  return st;
}

enum mbt_status mbt_roofline_point(const struct mbt_machine *m, int kernel, double bytes,
                                   int threads, struct mbt_figure *f) {
  memset(f, 0, sizeof *f);
  if (kernel < 0 || kernel >= MBT_BW_KERNELS)
    return mbt_fail(MBT_EINVAL, "bandwidth kernel %d is not read, write, copy or triad", kernel);
  const size_t per = (size_t)arrays_of[kernel] * sizeof(float) * MBT_BW_ALIGN;
#ifdef _OPENMP
  const int nt = threads > 0 ? threads : m->threads;
#else
  const int nt = 1;
#endif
  if (nt > 256) return mbt_fail(MBT_EINVAL, "%d threads is more than 256", nt);
  /* every page is touched: at most half the memory, so a typo cannot start the OOM killer */
  const long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
  const double most = pages > 0 && psz > 0 ? (double)pages * (double)psz / 2 / nt : 1e9;
  if (!(bytes >= (double)per && bytes <= most))
    return mbt_fail(MBT_EINVAL, "a %s working set of %.0f bytes per thread is outside [%zu, %.0f] "
                    "(at most half the memory over %d threads)", bw_names[kernel], bytes, per, most, nt);
  const struct mbt_roof_isa *isa[8];
  const struct mbt_roof_isa *I = isa[roof_isas(m, isa) - 1]; /* the widest, as the sweeps */
  const size_t n = (size_t)(bytes / (double)per) * MBT_BW_ALIGN;
  float *arr[256][3];
  float **rows[256];
  const int fail = !alloc_arrays(nt, arrays_of[kernel], n, arr, rows);
  enum mbt_status st = MBT_OK;
  if (fail)
    st = mbt_fail(MBT_ENOMEM, "cannot allocate %.0f MiB for the bandwidth point",
                  (double)n * per / MBT_BW_ALIGN * nt / (1 << 20));
  else {
    struct job j = {NULL, I->bw[kernel], 0, n, rows};
    measure(&j, nt, (double)n * arrays_of[kernel] * sizeof(float), 5, 5, f);
  }
  free_arrays(nt, arr);
  return st;
}

/* The OS's figure for the clock, GHz: cpufreq's maximum, else /proc/cpuinfo's "cpu MHz" (in a
 * VM the host's nominal clock); 0 when neither says. */
static double os_clock_ghz(void) {
  FILE *f = fopen("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "r");
  double khz = 0, mhz = 0;
  if (f) {
    if (fscanf(f, "%lf", &khz) != 1) khz = 0;
    fclose(f);
  }
  if (khz > 0) return khz / 1e6;
  char line[256];
  if ((f = fopen("/proc/cpuinfo", "r"))) {
    while (fgets(line, sizeof line, f) && !(mhz > 0))
      if (!strncmp(line, "cpu MHz", 7) && strchr(line, ':')) mhz = atof(strchr(line, ':') + 1);
    fclose(f);
  }
  return mhz > 0 && mhz < 1e5 ? mhz / 1e3 : 0;
}

/* The most FLOPs per cycle one core can issue with @p I's @p kernel (the ISA table's pipes). */
static double issue_limit(const struct mbt_roof_isa *I, const char *kernel) {
  const struct mbt_isa_info *t = mbt_isa_of_name(I->isa);
  return t ? mbt_isa_issue_limit(t, kernel) : 0;
}

/* Why the clock estimate cannot be right (its repetitions, the OS's figure, a ceiling over its
 * ISA's issue limit at that clock), in @p why; 0 when it is plausible. */
static int clock_wrong(const struct mbt_machine *m, const struct mbt_profile *p, char *why,
                       size_t n) {
  const struct mbt_roof_isa *isa[8];
  const int nisa = roof_isas(m, isa);
  if (!(p->clock_ghz > 0)) return 0; /* no estimate on this architecture */
  if (clock_fig.reps < 3) /* a boosting clock may spread; too few undisturbed looks is wrong */
    return snprintf(why, n, "only %d of %d looks ran undisturbed", clock_fig.reps,
                    clock_fig.disturbed + clock_fig.reps), 1;
  if (p->clock_os_ghz > 0 && p->clock_ghz < 0.75 * p->clock_os_ghz)
    return snprintf(why, n, "%.2f GHz is below 75%% of the OS's %.2f GHz", p->clock_ghz,
                    p->clock_os_ghz), 1;
  for (int i = 0; i < p->npeaks; i++)
    for (int k = 0; k < nisa; k++) {
      const struct mbt_peak *pk = &p->peaks[i];
      const double fpc = pk->gflops.best / p->clock_ghz / pk->threads;
      if (!strcmp(isa[k]->isa, pk->isa) && issue_limit(isa[k], pk->kernel) > 0 &&
          fpc > 1.05 * issue_limit(isa[k], pk->kernel))
        return snprintf(why, n, "at %.2f GHz, %s %s on %d thread%s would be %.1f FLOP/cycle/core, "
                        "over the ISA's issue limit of %.0f", p->clock_ghz, pk->isa, pk->kernel,
                        pk->threads, pk->threads > 1 ? "s" : "", fpc,
                        issue_limit(isa[k], pk->kernel)), 1;
    }
  return 0;
}

/* The clock: an implausible estimate is measured again (up to three more times, keeping the
 * fastest: a disturbed chain only reads slow); one that stays implausible is flagged, and the
 * FLOP/cycle figures are not printed as facts. */
static void check_clock(const struct mbt_machine *m, struct mbt_profile *p, int verbose) {
  char why[200];
  p->clock_os_ghz = os_clock_ghz();
  for (int again = 0; again < 3 && clock_wrong(m, p, why, sizeof why); again++) {
    if (verbose) fprintf(stderr, "roofline: the clock estimate is implausible (%s); timing it again\n", why);
    struct mbt_figure f;
    const double ghz = mbt_roof_clock_ghz(&f);
    if (ghz > p->clock_ghz) p->clock_ghz = ghz;
    if (!f.flagged || f.best >= clock_fig.best) clock_fig = f, clock_fig.best = p->clock_ghz;
  }
  if (fma_lat_rate > 0) p->fma_latency = p->clock_ghz / fma_lat_rate;
  p->clock_flagged = clock_wrong(m, p, why, sizeof why);
  if (p->clock_flagged)
    profile_warn(p, "the clock estimate %.2f GHz is not trusted: %s; FLOP/cycle and the FMA "
                 "latency in cycles are not shown", p->clock_ghz, why);
}

static struct mbt_peak *find_peak(struct mbt_profile *p, const char *isa, int threads) {
  for (int i = 0; i < p->npeaks; i++)
    if (!strcmp(p->peaks[i].isa, isa) && strcmp(p->peaks[i].kernel, "fma+add") &&
        p->peaks[i].threads == threads)
      return &p->peaks[i];
  return NULL;
}

/* Ensure @p pk reaches @p floor (what @p what runs at): timed again when it does not, raised
 * to it, flagged and adjusted when it still does not. */
static void peak_floor(const struct mbt_machine *m, struct mbt_profile *p, struct mbt_peak *pk,
                       double floor, const char *what, int reps, double ms) {
  if (!(pk->gflops.best < floor * (1 - ORDER_TOL))) return;
  if (remeasure_peak(m, pk, reps, ms) >= floor * (1 - ORDER_TOL)) return;
  profile_warn(p, "%s %s on %d thread%s: %.1f GFLOP/s stayed below %s's %.1f when timed again; "
               "raised to it", pk->isa, pk->kernel, pk->threads, pk->threads > 1 ? "s" : "",
               pk->gflops.best, what, floor);
  pk->gflops.best = pk->gflops.max = floor;
  pk->gflops.flagged = pk->gflops.adjusted = 1;
}

/* Compute ceilings in order: a wider ISA reaches at least a narrower one's rate on the same
 * core (it can run the narrower code), and n threads at least one thread's. */
static void order_peaks(const struct mbt_machine *m, struct mbt_profile *p, int reps, double ms) {
  int nisa;
  const struct mbt_isa_info *order = mbt_isa_table(&nisa); /* narrow to wide */
  int tc[16];
  const int ntc = thread_counts(p->threads, tc);
  for (int t = 0; t < ntc; t++) {
    for (int i = 0; t > 0 && i < p->npeaks; i++) { /* n threads >= one thread */
      struct mbt_peak *pk = &p->peaks[i];
      const struct mbt_peak *o1 = one_thread(p, pk);
      if (pk->threads == tc[t] && o1 && o1 != pk) peak_floor(m, p, pk, o1->gflops.best, "one thread", reps, ms);
    }
    double floor = 0;
    const char *from = "";
    for (int k = 0; k < nisa; k++) { /* wider >= narrower */
      struct mbt_peak *pk = order[k].roof ? find_peak(p, order[k].roof, tc[t]) : NULL;
      if (!pk) continue;
      if (floor > 0) peak_floor(m, p, pk, floor, from, reps, ms);
      if (pk->gflops.best > floor) floor = pk->gflops.best, from = order[k].roof;
    }
  }
}

/* What the profile cannot vouch for, in words: figures measured under load or disagreeing. */
static int warn_disturbed(struct mbt_profile *p) {
  int pd = 0, pf = 0, bd = 0, bf = 0;
  for (int i = 0; i < p->npeaks; i++)
    pd += p->peaks[i].gflops.disturbed > 0, pf += p->peaks[i].gflops.flagged && !p->peaks[i].gflops.adjusted;
  for (int l = 0; l < p->nlevels; l++)
    for (int k = 0; k < MBT_BW_KERNELS; k++)
      for (int t = 0; t < (p->threads > 1 ? 2 : 1); t++)
        bd += p->levels[l].bw[k][t].disturbed > 0,
            bf += p->levels[l].bw[k][t].flagged && !p->levels[l].bw[k][t].adjusted;
  if (pd || bd)
    profile_warn(p, "%d compute and %d bandwidth figures were still measured while another "
                 "process held a CPU after %d retakes: they may be low (measure again with "
                 "'roofline --redo' when the machine is quiet)", pd, bd, RETAKES);
  if (pf || bf)
    profile_warn(p, "%d compute and %d bandwidth figures are flagged: their repetitions or "
                 "plateau points disagree by more than %.0f%%", pf, bf, 100 * FLAG_SPREAD);
  return pd + bd;
}

/* One progress line per step: what was done, the time so far and about how long is left (the
 * steps take about as long as each other here). */
static void progress(const struct mbt_roofline_opts *o, int step, int steps, const char *what,
                     double t0) {
  if (!o->verbose) return;
  const double el = (mbt_now_ns() - t0) / 1e9;
  fprintf(stderr, "roofline: step %d/%d done (%s), %.1f s, about %.0f s left\n", step, steps,
          what, el, el / step * (steps - step));
}

enum mbt_status mbt_roofline_measure(const struct mbt_machine *m,
                                     const struct mbt_roofline_opts *o, struct mbt_profile *p) {
  memset(p, 0, sizeof *p);
  busy_cpu = -1;
  snprintf(p->fingerprint, sizeof p->fingerprint, "%s", m->fingerprint);
  snprintf(p->version, sizeof p->version, "%s", mbt_version());
  time_t now = time(NULL);
  strftime(p->date, sizeof p->date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  int threads = o->threads > 0 ? o->threads : m->threads;
#ifndef _OPENMP
  threads = 1;
#endif
  if (threads > 256) threads = 256;
  p->threads = threads;
  p->counters = m->counters;
  snprintf(p->counters_note, sizeof p->counters_note, "%s", m->counters_note);
  const int reps = o->quick ? 3 : 5;
  const double ms = o->quick ? 4 : 20;
  /* Every one-thread figure before any multi-thread one: on this VM, once both virtual CPUs
   * have run flat out the host may move them, and a single thread then often shares its
   * physical core with another tenant (its L1 read plateau ended at 11-16 KiB, not 32 KiB). */
  const double t0 = mbt_now_ns();
  const int steps = p->threads > 1 ? 4 : 2;
  measure_compute(m, o, p, reps, ms, 0);
  progress(o, 1, steps, "compute, 1 thread", t0);
  enum mbt_status st = measure_bandwidth(m, o, p, reps, ms, 0);
  progress(o, 2, steps, "bandwidth, 1 thread", t0);
  if (st == MBT_OK && p->threads > 1) {
    measure_compute(m, o, p, reps, ms, 1);
    progress(o, 3, steps, "compute, all threads", t0);
    st = measure_bandwidth(m, o, p, reps, ms, 1);
    recheck_peaks(m, p, reps, ms, o->verbose);
    progress(o, 4, steps, "bandwidth, all threads", t0);
  }
  if (st == MBT_OK) {
    order_peaks(m, p, reps, ms);
    check_clock(m, p, o->verbose);
    /* a few figures measured under load are marked and said; more than a tenth of them (and
     * more than two) would make a profile of the load */
    const int busy = warn_disturbed(p);
    const int figures = p->npeaks + p->nlevels * MBT_BW_KERNELS * (p->threads > 1 ? 2 : 1);
    if (busy > 2 && busy * 10 > figures && !o->force)
      st = mbt_fail(MBT_EBUSY, "another process held CPU %d while %d of %d figures were timed, "
                    "even after %d retakes each; nothing was saved: measure again when it is "
                    "quiet, or with --force to keep figures marked UNDER LOAD", busy_cpu, busy,
                    figures, RETAKES);
  }
  sort_peaks(p);
  mbt_profile_summarize(p);
  return st;
}
