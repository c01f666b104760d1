/* roofline/measure.c -- the first-cut ceilings: FMA peak (scalar and widest SIMD) and read
 * bandwidth at one working set per memory level sized from the cache sizes, each for 1 thread
 * and all threads, pinned.  Each figure is the best of several calibrated repetitions, with the
 * spread kept; repetitions that disagree by more than 10% are flagged. */
#include "config.h"

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
  f->best = f->min = f->max = rate[0];
  for (int r = 1; r < reps; r++) {
    f->best = rate[r] > f->best ? rate[r] : f->best;
    f->min = rate[r] < f->min ? rate[r] : f->min;
  }
  f->max = f->best;
  f->median = mbt_median(rate, reps);
  f->flagged = (f->max - f->min) / f->max > FLAG_SPREAD;
}

static volatile float sink; /* keeps every kernel's result alive */

/* Run fn on each of @p threads pinned threads; return the wall time of the slowest, ns. */
struct job {
  mbt_flops_fn flops;
  mbt_read_fn read;
  long iters;
  size_t n; /* floats per thread */
};

static double run_job(const struct job *j, int threads, float **bufs) {
  double t0 = 0, t1 = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
#pragma omp barrier
#pragma omp master
    t0 = mbt_now_ns();
    float v = j->flops ? j->flops(j->iters) : j->read(bufs[t], j->n, j->iters);
#pragma omp atomic
    sink += v;
#pragma omp barrier
#pragma omp master
    t1 = mbt_now_ns();
  }
#else
  (void)threads;
  t0 = mbt_now_ns();
  sink += j->flops ? j->flops(j->iters) : j->read(bufs[0], j->n, j->iters);
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

/* Calibrate iters so one run lasts target_ms, then time reps runs; rate = units / ns. */
static void measure(struct job *j, int threads, float **bufs, double units_per_iter,
                    double target_ms, int reps, struct mbt_figure *f) {
  pin_team(threads);
  j->iters = 1;
  for (;;) {
    double dt = run_job(j, threads, bufs);
    if (dt >= target_ms * 1e6 || j->iters > (1L << 40)) break;
    j->iters = dt < target_ms * 1e5 ? j->iters * 8 : j->iters * 2;
  }
  /* A figure whose repetitions disagree beyond FLAG_SPREAD (another tenant took the core) is
   * measured again, up to 3 attempts; the attempt with the best median is kept, and it stays
   * flagged if every attempt disagreed. */
  for (int attempt = 0; attempt < 3; attempt++) {
    double rate[16];
    struct mbt_figure g;
    for (int r = 0; r < reps; r++) {
      double dt = run_job(j, threads, bufs);
      rate[r] = units_per_iter * (double)j->iters * threads / dt; /* GFLOP/s or GB/s */
    }
    figure_from(rate, reps, &g);
    if (attempt == 0 || (!g.flagged && f->flagged) || (g.flagged == f->flagged && g.median > f->median))
      *f = g;
    if (!f->flagged) break;
  }
}

static void level_sizes(const struct mbt_machine *m, struct mbt_profile *p) {
  p->nlevels = 0;
  uint64_t prev = 0;
  for (int lv = 1; lv <= 4; lv++) {
    const struct mbt_cache *c = mbt_machine_cache(m, lv);
    if (!c) continue;
    struct mbt_bw_level *L = &p->levels[p->nlevels++];
    snprintf(L->name, sizeof L->name, "L%d", lv);
    /* Half the cache (per thread sharing it), but at least twice the level below. */
    uint64_t ws = c->size / 2 / (uint64_t)(c->shared_by > 1 ? c->shared_by : 1);
    if (ws < 2 * prev) ws = 2 * prev;
    L->ws = ws;
    prev = c->size / (uint64_t)(c->shared_by > 1 ? c->shared_by : 1);
  }
  const struct mbt_cache *llc = p->nlevels ? mbt_machine_cache(m, p->nlevels) : NULL;
  uint64_t dram = llc ? 4 * llc->size * (uint64_t)llc->instances : ((uint64_t)64 << 20);
  if (dram < ((uint64_t)64 << 20)) dram = (uint64_t)64 << 20;
  struct mbt_bw_level *D = &p->levels[p->nlevels++];
  snprintf(D->name, sizeof D->name, "DRAM");
  D->ws = dram; /* total; split over the threads */
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
  const int reps = o->quick ? 3 : 7;
  const double ms = o->quick ? 5 : 25;

  struct job j = {mbt_peak_scalar, NULL, 0, 0};
  measure(&j, 1, NULL, 24.0, ms, reps, &p->peak_scalar1);
  measure(&j, threads, NULL, 24.0, ms, reps, &p->peak_scalarn);
  mbt_read_fn read = mbt_read_scalar;
  snprintf(p->simd_isa, sizeof p->simd_isa, "scalar");
  p->peak_simd1 = p->peak_scalar1;
  p->peak_simdn = p->peak_scalarn;
#if MBT_HAVE_AVX2
  if (m->isa & MBT_ISA_AVX2) {
    j.flops = mbt_peak_avx2;
    measure(&j, 1, NULL, 192.0, ms, reps, &p->peak_simd1);
    measure(&j, threads, NULL, 192.0, ms, reps, &p->peak_simdn);
    read = mbt_read_avx2;
    snprintf(p->simd_isa, sizeof p->simd_isa, "avx2");
  }
#endif
  if (o->verbose)
    fprintf(stderr, "roofline: peak %s %.1f GFLOP/s (1 thread), %.1f (%d threads); scalar %.1f\n",
            p->simd_isa, p->peak_simd1.best, p->peak_simdn.best, threads, p->peak_scalar1.best);

  level_sizes(m, p);
  float *bufs[256] = {0};
  enum mbt_status st = MBT_OK;
  for (int li = 0; li < p->nlevels && st == MBT_OK; li++) {
    struct mbt_bw_level *L = &p->levels[li];
    const int dram = li == p->nlevels - 1;
    for (int pass = 0; pass < 2; pass++) {
      const int nt = pass == 0 ? 1 : threads;
      size_t bytes = dram ? L->ws / (uint64_t)nt : L->ws;
      size_t n = (bytes / sizeof(float) + 63) / 64 * 64;
      for (int t = 0; t < nt && st == MBT_OK; t++) {
        bufs[t] = mbt_alloc(n, sizeof(float));
        if (!bufs[t]) st = mbt_fail(MBT_ENOMEM, "cannot allocate %zu bytes for %s", bytes, L->name);
        else
          for (size_t i = 0; i < n; i++) bufs[t][i] = 1.0f; /* touch: real pages, warm TLB */
      }
      if (st == MBT_OK) {
        struct job jb = {NULL, read, 0, n};
        measure(&jb, nt, bufs, (double)n * sizeof(float), ms, reps,
                pass == 0 ? &L->read1 : &L->readn);
      }
      for (int t = 0; t < nt; t++) {
        mbt_free(bufs[t]);
        bufs[t] = NULL;
      }
    }
    if (o->verbose && st == MBT_OK)
      fprintf(stderr, "roofline: %-4s read %7.1f GB/s (1 thread), %7.1f GB/s (%d threads), "
                      "working set %llu KiB\n", L->name, L->read1.best, L->readn.best, threads,
              (unsigned long long)(L->ws >> 10));
  }
  return st;
}
