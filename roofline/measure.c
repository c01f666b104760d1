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
#include "config.h"

#include <math.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/common.h"
#include "machine/machine.h"
#include "roofline/roofline.h"

#define FLAG_SPREAD 0.10 /* (best - worst) / best beyond which a figure is flagged */

static void figure_from(const double *rate, int reps, struct mbt_figure *f) {
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

struct job {
  mbt_flops_fn flops;
  mbt_bw_fn bw;
  long iters;
  size_t n;        /* floats per array */
  float ***arrays; /* arrays[thread][array] */
};

/* Run the job on @p threads pinned threads; return the wall time from a common start, ns. */
static double run_job(const struct job *j, int threads) {
  double t0 = 0, t1 = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
#pragma omp barrier
#pragma omp master
    t0 = mbt_now_ns();
#pragma omp barrier
    const float v = j->flops ? j->flops(j->iters) : j->bw(j->arrays[t], j->n, j->iters);
#pragma omp atomic
    sink += v;
#pragma omp barrier
#pragma omp master
    t1 = mbt_now_ns();
  }
#else
  (void)threads;
  t0 = mbt_now_ns();
  sink += j->flops ? j->flops(j->iters) : j->bw(j->arrays[0], j->n, j->iters);
  t1 = mbt_now_ns();
#endif
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
 * over the threads (GFLOP/s or GB/s). */
static void measure(struct job *j, int threads, double units_per_iter, double target_ms,
                    int reps, struct mbt_figure *f) {
  j->iters = 1;
  for (;;) {
    const double dt = run_job(j, threads);
    if (dt >= target_ms * 1e6 || j->iters > (1L << 40)) break;
    j->iters = dt < target_ms * 1e5 ? j->iters * 8 : j->iters * 2;
  }
  double best = 0; /* the best repetition of every attempt: a ceiling is what was reached */
  for (int attempt = 0; attempt < 3; attempt++) {
    double rate[16];
    struct mbt_figure g;
    for (int r = 0; r < reps; r++)
      rate[r] = units_per_iter * (double)j->iters * threads / run_job(j, threads);
    figure_from(rate, reps, &g);
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
  if (!multi) p->clock_ghz = mbt_roof_clock_ghz();
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
    if (I->fma && k == nisa - 1) p->fma_latency = lat_cycles;
    /* every accumulator count on one thread; keep the fastest */
    struct mbt_figure best = {0, 0, 0, 0, 0, 0};
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
    memset(arr, 0, sizeof arr);
    pin_team(nt);
    int fail = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) reduction(| : fail)
#endif
    { /* first touch by the thread that streams the array (its NUMA node, its TLB) */
#ifdef _OPENMP
      const int t = omp_get_thread_num();
#else
      const int t = 0;
#endif
      for (int a = 0; a < 3; a++) {
        arr[t][a] = mbt_alloc(maxn, sizeof(float));
        if (!arr[t][a]) fail = 1;
        else
          for (size_t i = 0; i < maxn; i++) arr[t][a][i] = 1.0f;
      }
    }
    for (int t = 0; t < nt; t++) rows[t] = arr[t];
    if (fail) st = mbt_fail(MBT_ENOMEM, "cannot allocate %zu MiB for the bandwidth sweep",
                            3 * maxn * sizeof(float) * (size_t)nt >> 20);
    for (int k = 0; k < MBT_BW_KERNELS && st == MBT_OK && p->ncurves < MBT_MAX_CURVES; k++) {
      struct mbt_curve *cv = &p->curves[p->ncurves++];
      memset(cv, 0, sizeof *cv);
      cv->kernel = k, cv->threads = nt;
      for (double ws = 4096; ws <= top / nt * 1.01 && cv->n < MBT_MAX_SWEEP; ws *= step) {
        size_t n = (size_t)(ws / arrays_of[k] / sizeof(float)) / MBT_BW_ALIGN * MBT_BW_ALIGN;
        if (n < MBT_BW_ALIGN) n = MBT_BW_ALIGN;
        if (n > maxn) n = maxn;
        struct job j = {NULL, I->bw[k], 0, n, rows};
        struct mbt_figure f;
        measure(&j, nt, (double)n * arrays_of[k] * sizeof(float), ms / 4, reps, &f);
        cv->ws[cv->n] = (double)n * arrays_of[k] * sizeof(float);
        cv->best[cv->n] = f.best, cv->median[cv->n] = f.median;
        cv->n++;
      }
      /* the levels' ceilings from this curve's plateaus */
      double val[MBT_MAX_LEVELS], spr[MBT_MAX_LEVELS], edge[MBT_MAX_LEVELS], med[MBT_MAX_LEVELS];
      double dummy[MBT_MAX_LEVELS];
      mbt_plateaus(cv->ws, cv->best, cv->n, nt == 1 ? cap1 : capn, ncap, val, spr, edge);
      mbt_plateaus(cv->ws, cv->median, cv->n, nt == 1 ? cap1 : capn, ncap, med, dummy, dummy);
      for (int l = 0; l <= ncap; l++) {
        struct mbt_figure *f = &p->levels[l].bw[k][ti];
        f->best = f->max = val[l], f->median = med[l], f->reps = reps;
        f->min = val[l] * (1 - spr[l]);
        f->flagged = val[l] <= 0 || spr[l] > 1.5 * FLAG_SPREAD;
        if (k == MBT_BW_READ && nt == 1 && l < ncap) {
          p->levels[l].edge = edge[l];
          p->levels[l].agrees = edge[l] > 0 && edge[l] >= cap1[l] / 2 && edge[l] <= cap1[l] * 2;
        }
      }
      if (o->verbose) {
        fprintf(stderr, "roofline: %-5s %d thread%s:", bw_names[k], nt, nt > 1 ? "s" : " ");
        for (int l = 0; l <= ncap; l++)
          fprintf(stderr, " %s %.1f%s", p->levels[l].name, val[l], l < ncap ? "," : " GB/s\n");
      }
    }
    for (int t = 0; t < nt; t++)
      for (int a = 0; a < 3; a++) mbt_free(arr[t][a]);
  }
  return st;
}

enum mbt_status mbt_roofline_measure(const struct mbt_machine *m,
                                     const struct mbt_roofline_opts *o, struct mbt_profile *p) {
  memset(p, 0, sizeof *p);
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
  measure_compute(m, o, p, reps, ms, 0);
  enum mbt_status st = measure_bandwidth(m, o, p, reps, ms, 0);
  if (st == MBT_OK && p->threads > 1) {
    measure_compute(m, o, p, reps, ms, 1);
    st = measure_bandwidth(m, o, p, reps, ms, 1);
  }
  sort_peaks(p);
  mbt_profile_summarize(p);
  return st;
}
