/* tests/test-roofline.c -- the roofline on fixed numbers: placement (ridge points, attainable
 * performance, memory- or compute-bound and at which level, alone and inside a network),
 * plateau detection on recorded sweep curves (a clean one, one with a noisy point, one from a
 * machine without an L3), the profile file (round trip, corrupt files), and the clock estimate. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "include/mobitune.h"
#include "common/common.h"
#include "machine/machine.h"
#include "roofline/roofline.h"
#include "tests/tap.h"

static struct mbt_figure fig(double v) { return (struct mbt_figure){v, v, v, v, 5, 0, 0, 0, 0}; }

/* A machine with 100 GFLOP/s on 1 thread, 200 on 2, and L1 400, L2 200, L3 100, DRAM 20 GB/s
 * (x 1.8 on 2 threads), caches of 32 KiB, 1 MiB, 16 MiB. */
static void machine(struct mbt_profile *p) {
  memset(p, 0, sizeof *p);
  snprintf(p->fingerprint, sizeof p->fingerprint, "00000000deadbeef");
  snprintf(p->version, sizeof p->version, "test");
  snprintf(p->date, sizeof p->date, "2026-11-22T00:00:00Z");
  p->threads = 2, p->clock_ghz = 3.5, p->fma_latency = 4;
  static const char *const isa[] = {"scalar", "avx2", "avx2"};
  static const char *const kern[] = {"mul+add", "fma", "fma+add"};
  static const double g[] = {10, 100, 140};
  for (int i = 0; i < 3; i++)
    for (int t = 1; t <= 2; t++) {
      struct mbt_peak *k = &p->peaks[p->npeaks++];
      snprintf(k->isa, sizeof k->isa, "%s", isa[i]);
      snprintf(k->kernel, sizeof k->kernel, "%s", kern[i]);
      k->threads = t, k->chains = 12, k->gflops = fig(g[i] * t);
    }
  static const char *const names[] = {"L1", "L2", "L3", "DRAM"};
  static const double bw[] = {400, 200, 100, 20};
  static const uint64_t size[] = {32 << 10, 1 << 20, 16 << 20, 0};
  p->nlevels = 4;
  for (int i = 0; i < 4; i++) {
    struct mbt_bw_level *L = &p->levels[i];
    snprintf(L->name, sizeof L->name, "%s", names[i]);
    L->size = size[i], L->size_n = i == 2 ? size[i] / 2 : size[i], L->ws = size[i] / 2;
    for (int k = 0; k < MBT_BW_KERNELS; k++) L->bw[k][0] = fig(bw[i]), L->bw[k][1] = fig(bw[i] * 1.8);
  }
  struct mbt_curve *c = &p->curves[p->ncurves++];
  c->kernel = MBT_BW_READ, c->threads = 1, c->n = 3;
  for (int i = 0; i < 3; i++) c->ws[i] = 4096 << (4 * i), c->best[i] = c->median[i] = bw[i];
  mbt_profile_summarize(p);
}

static void place(const struct mbt_profile *p, double macs, double bytes, double params,
                  double net_params, int threads, struct mbt_place *pc) {
  struct mbt_layer l;
  memset(&l, 0, sizeof l);
  l.macs = macs, l.bytes = bytes, l.params = params;
  struct mbt_model m = {.kind = MBT_NET_V1, .name = "v1", .alpha = 1.0, .res = 224, .nlayers = 1,
                        .layers = &l, .macs = macs, .params = net_params, .bytes = bytes,
                        .classes = 1000};
  mbt_roofline_place(p, &m, 0, threads, pc);
}

static void placement(void) {
  struct mbt_profile p;
  machine(&p);
  ok(p.peak_simd1.best == 100 && p.peak_simdn.best == 200 && p.peak_scalar1.best == 10 &&
     !strcmp(p.simd_isa, "avx2") && mbt_profile_peak(&p, "", 2) == 200 &&
     mbt_profile_peak(&p, "scalar", 1) == 10 && p.levels[2].read1.best == 100 &&
     p.levels[2].readn.best == 180, "summaries: the FMA ceiling, not the fma+add one");
  struct mbt_place pc;
  /* 1 MFLOP over 100 MB: I = 0.01 FLOP/B, lives in DRAM, ridge 5, attainable 0.2 GFLOP/s. */
  place(&p, 0.5e6, 100e6, 0, 0, 1, &pc);
  ok(pc.memory_bound && pc.level == 3 && fabs(pc.ridge - 5) < 1e-12 &&
     fabs(pc.attainable - 0.2) < 1e-12, "memory-bound at DRAM: I %.3g ridge %.3g attainable %.3g",
     pc.intensity, pc.ridge, pc.attainable);
  ok(fabs(pc.ridges[0] - 0.25) < 1e-12 && fabs(pc.ridges[1] - 0.5) < 1e-12 &&
     fabs(pc.ridges[2] - 1) < 1e-12 && fabs(pc.ridges[3] - 5) < 1e-12,
     "ridge points of every level: %.3g %.3g %.3g %.3g", pc.ridges[0], pc.ridges[1],
     pc.ridges[2], pc.ridges[3]);
  /* 20 KB working set, I = 10 FLOP/B: fits the 32 KiB L1, compute-bound. */
  place(&p, 100e3, 20e3, 0, 0, 1, &pc);
  ok(!pc.memory_bound && pc.level == 0 && fabs(pc.attainable - 100) < 1e-12 &&
     fabs(pc.ridge - 0.25) < 1e-12, "compute-bound in L1: I %.3g ridge %.3g", pc.intensity, pc.ridge);
  /* 4 MB, I = 0.5 FLOP/B: L3, ridge 1, attainable 50; on 2 threads 2 MB each, still L3,
   * ridge 200 / 180, attainable 0.5 x 180 = 90. */
  place(&p, 1e6, 4e6, 0, 0, 1, &pc);
  ok(pc.memory_bound && pc.level == 2 && fabs(pc.attainable - 50) < 1e-9,
     "memory-bound at L3: attainable %.3g", pc.attainable);
  place(&p, 1e6, 4e6, 0, 0, 2, &pc);
  ok(pc.memory_bound && pc.level == 2 && fabs(pc.attainable - 90) < 1e-9 && pc.peak == 200,
     "2 threads: memory-bound at L3, attainable %.3g of peak %.3g", pc.attainable, pc.peak);
  /* In the network: 2 MFLOP, 0.2 MB of activations (L2) and 1.6 MB of weights (400k params).
   * Weights in L3 when the network's 4 M params (16 MB) fit: times 0.2e6/200 + 1.6e6/100 =
   * 1000 + 16000 ns vs compute 2e6/100 = 20000 ns: compute-bound, 100 GFLOP/s.  With 8 M
   * params (32 MB > 16 MiB) the weights come from DRAM: 80000 ns, memory-bound at DRAM,
   * 2e6 / 81000 = 24.7 GFLOP/s. */
  place(&p, 1e6, 1.8e6, 0.4e6, 4e6, 1, &pc);
  ok(!pc.net_memory_bound && fabs(pc.net_attainable - 100) < 1e-9,
     "in the network, weights in L3: compute-bound, %.3g GFLOP/s", pc.net_attainable);
  place(&p, 1e6, 1.8e6, 0.4e6, 8e6, 1, &pc);
  ok(pc.net_memory_bound && pc.net_level == 3 && fabs(pc.net_attainable - 2e6 / 81000) < 1e-9,
     "in the network, weights from DRAM: memory-bound at %s, %.3g GFLOP/s",
     p.levels[pc.net_level].name, pc.net_attainable);
  /* The network's bound sums its layers': the compute-bound layer above (20000 ns) and one of
   * 1 MFLOP over 100 MB of activations from DRAM at 20 GB/s (5e6 ns, compute 1e4 ns). */
  {
    struct mbt_layer two[2];
    memset(two, 0, sizeof two);
    two[0].macs = 1e6, two[0].bytes = 1.8e6, two[0].params = 0.4e6;
    two[1].macs = 0.5e6, two[1].bytes = 100e6;
    struct mbt_model m2 = {.kind = MBT_NET_V1, .name = "v1", .alpha = 1.0, .res = 224,
                           .nlayers = 2, .layers = two, .macs = 1.5e6, .params = 4e6,
                           .bytes = 101.8e6, .classes = 1000};
    const double b = mbt_roofline_net_bound_ns(&p, &m2, 1);
    ok(fabs(b - 5.02e6) < 1e-3, "the network's roofline bound is the sum of its layers': %.6g ns", b);
  }
  /* The seed's worked example: I = 1.125 MAC/B = 2.25 FLOP/B on 48 GMAC/s (96 GFLOP/s) with
   * 12 GB/s: beta = 8 FLOP/B (4 MAC/B), memory-bound, attainable 27 GFLOP/s. */
  struct mbt_profile mob = p;
  mob.npeaks = 1;
  snprintf(mob.peaks[0].isa, sizeof mob.peaks[0].isa, "avx2");
  snprintf(mob.peaks[0].kernel, sizeof mob.peaks[0].kernel, "fma");
  mob.peaks[0].threads = 1, mob.peaks[0].gflops = fig(96);
  mob.nlevels = 1;
  snprintf(mob.levels[0].name, sizeof mob.levels[0].name, "DRAM");
  mob.levels[0].size = 0;
  mob.levels[0].bw[MBT_BW_READ][0] = fig(12);
  mbt_profile_summarize(&mob);
  const double macs = 112.0 * 112 * 9 * 32;
  place(&mob, macs, macs / 1.125, 0, 0, 1, &pc);
  ok(pc.memory_bound && fabs(pc.ridge / 2 - 4) < 1e-12 && fabs(pc.attainable - 27) < 1e-9,
     "seed example: beta = %.1f MAC/B, memory-bound, attainable %.1f GFLOP/s", pc.ridge / 2,
     pc.attainable);
}

/* Recorded sweep curves: read GB/s at working sets 4 KiB ... 256 MiB in steps of sqrt 2, on
 * a machine like this one (32 KiB L1, 1 MiB L2, 32 MiB L3). */
static const double zen_ws_kib[] = {4, 5.66, 8, 11.3, 16, 22.6, 32, 45.3, 64, 90.5, 128, 181,
                                    256, 362, 512, 724, 1024, 1448, 2048, 2896, 4096, 5793,
                                    8192, 11585, 16384, 23170, 32768, 46341, 65536, 92682,
                                    131072, 185364, 262144};
static const double zen_gbs[] = {221, 218, 213, 210, 205, 190, 160, 125, 119, 118, 118, 118,
                                 118, 117, 116, 110, 101, 100, 100, 100, 100, 100, 99, 99, 96,
                                 80, 47, 30, 26, 25.5, 25, 25.2, 25};

static void plateaus(void) {
  const int n = (int)(sizeof zen_gbs / sizeof zen_gbs[0]);
  double ws[64], g[64], val[5], spr[5], edge[5];
  for (int i = 0; i < n; i++) ws[i] = zen_ws_kib[i] * 1024, g[i] = zen_gbs[i];
  const double cap[] = {32 << 10, 1 << 20, 32 << 20};
  int found = mbt_plateaus(ws, g, n, cap, 3, val, spr, edge);
  ok(found == 4 && fabs(val[0] - 213) < 1e-9 && fabs(val[1] - 118) < 1e-9 &&
     fabs(val[2] - 100) < 1e-9 && fabs(val[3] - 25) < 1e-9,
     "clean curve: L1 %.1f L2 %.1f L3 %.1f DRAM %.1f GB/s", val[0], val[1], val[2], val[3]);
  ok(edge[0] >= 16 << 10 && edge[0] <= 64 << 10 && edge[1] >= 512 << 10 &&
     edge[1] <= 2 << 20 && edge[2] >= 16 << 20 && edge[2] <= 64 << 20,
     "edges where hwloc puts the caches: %.0f KiB, %.0f KiB, %.1f MiB", edge[0] / 1024,
     edge[1] / 1024, edge[2] / (1 << 20));
  /* one noisy point in the L2 plateau (another tenant took the core) */
  g[11] = 59;
  found = mbt_plateaus(ws, g, n, cap, 3, val, spr, edge);
  ok(found == 4 && fabs(val[1] - 118) < 1e-9 && spr[1] > 0.4 && edge[1] >= 512 << 10,
     "noisy point: L2 plateau still %.1f GB/s (spread %.0f%% reported), edge %.0f KiB", val[1],
     100 * spr[1], edge[1] / 1024);
  /* a machine with no L3: 48 KiB L1, 2 MiB L2, then DRAM */
  static const double nol3_kib[] = {4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192,
                                    16384, 32768, 65536};
  static const double nol3_gbs[] = {150, 152, 149, 120, 80, 81, 80, 79, 78, 50, 14, 12, 12.2,
                                    12, 12.1};
  const int m = (int)(sizeof nol3_gbs / sizeof nol3_gbs[0]);
  for (int i = 0; i < m; i++) ws[i] = nol3_kib[i] * 1024, g[i] = nol3_gbs[i];
  const double cap2[] = {48 << 10, 2 << 20};
  found = mbt_plateaus(ws, g, m, cap2, 2, val, spr, edge);
  ok(found == 3 && fabs(val[0] - 150) < 1e-9 && fabs(val[1] - 79.5) < 1e-9 &&
     fabs(val[2] - 12.05) < 1e-9 && edge[1] >= 1 << 20 && edge[1] <= 4 << 20,
     "no L3: L1 %.1f, L2 %.1f, DRAM %.1f GB/s (no level invented), L2 edge %.0f KiB", val[0],
     val[1], val[2], edge[1] / 1024);
  /* too few points for a level: reported as not found, not guessed */
  found = mbt_plateaus(ws, g, 3, cap2, 2, val, spr, edge);
  ok(found == 1 && val[1] == 0 && val[2] == 0, "a sweep that stops in L1 finds only L1");
  /* the windows a flagged level is swept again over: strict, relaxed, none */
  double lo = -1, hi = -1;
  int k = mbt_plateau_window(ws, m, cap2, 2, 1, &lo, &hi);
  ok(k == 4 && lo == 96 << 10 && hi == 1 << 20, "L2 window [%.0f, %.0f] KiB holds %d points",
     lo / 1024, hi / 1024, k);
  const double sparse[] = {8 << 10, 80 << 10, 1600 << 10};
  k = mbt_plateau_window(sparse, 3, cap2, 2, 1, &lo, &hi);
  ok(k == 2 && lo == 60 << 10 && fabs(hi - 0.8 * (2 << 20)) < 1e-6,
     "a level with no point in its strict window gets the relaxed one (%d points)", k);
  lo = hi = -1;
  k = mbt_plateau_window(ws, 3, cap2, 2, 2, &lo, &hi);
  ok(k == 0 && lo == -1 && hi == -1, "no DRAM point in a sweep that stops in L1: no window");
}

static void profile_file(void) {
  struct mbt_profile p, q;
  machine(&p);
  char dir[] = "/tmp/mbt-test-prof-XXXXXX", path[256];
  if (!mkdtemp(dir)) skip_all("cannot create a temporary directory");
  snprintf(path, sizeof path, "%s/profile.json", dir);
  ok(mbt_profile_save(&p, path) == MBT_OK, "save profile");
  ok(mbt_profile_load(path, &q) == MBT_OK && q.nlevels == 4 && q.levels[3].read1.best == 20 &&
     q.peak_simd1.best == 100 && !strcmp(q.levels[1].name, "L2") && q.levels[2].size == 16 << 20 && q.levels[2].size_n == 8 << 20 &&
     q.npeaks == 6 && !strcmp(q.peaks[5].kernel, "fma+add") && q.ncurves == 1 &&
     q.curves[0].n == 3 && q.curves[0].ws[2] == 4096 << 8 && q.clock_ghz == 3.5,
     "profile round trip (peaks, levels, curves): %s", mbt_last_error());
  FILE *f = fopen(path, "r+");
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fclose(f);
  ok(truncate(path, len / 2) == 0 && mbt_profile_load(path, &q) == MBT_EPARSE,
     "truncated profile: %s", mbt_last_error());
  f = fopen(path, "w");
  fputs("{\"format\":\"mobitune-profile\",\"format_version\":2}", f);
  fclose(f);
  ok(mbt_profile_load(path, &q) == MBT_EPARSE && strstr(mbt_last_error(), "fingerprint"),
     "profile missing a field: %s", mbt_last_error());
  f = fopen(path, "w");
  fputs("{\"format\":\"mobitune-profile\",\"format_version\":1}", f);
  fclose(f);
  ok(mbt_profile_load(path, &q) == MBT_EPARSE && strstr(mbt_last_error(), "format 2"),
     "profile of an older format: %s", mbt_last_error());
  mbt_profile_save(&p, path);
  char *text = NULL;
  f = fopen(path, "r");
  text = calloc(1, 1 << 20);
  size_t got = fread(text, 1, (1 << 20) - 1, f);
  fclose(f);
  char *at = strstr(text, "\"median\":[");
  ok(got > 0 && at != NULL, "the saved curve has a median array");
  if (at) { /* a string where the first number belongs */
    char *num = at + 10;
    while (*num && (*num == ' ' || *num == '\n')) num++;
    memcpy(num, "\"x\"", 3);
  }
  f = fopen(path, "w");
  fwrite(text, 1, strlen(text), f);
  fclose(f);
  ok(mbt_profile_load(path, &q) == MBT_EPARSE, "curve holding a non-number: %s", mbt_last_error());
  free(text);
  unlink(path);
  rmdir(dir);
}

/* One hostile profile: the test machine's, changed by @p edit (a case number), saved, and loaded
 * back; @p tail is appended to the file.  1 when the load is refused naming @p why, -1 when it
 * loads, 0 otherwise. */
static int refused(const char *path, int edit, const char *tail, const char *why) {
  struct mbt_profile p, q;
  machine(&p);
  switch (edit) {
    case 1: p.clock_ghz = NAN; break;
    case 2: p.levels[1].size = (uint64_t)-32768; break;
    case 3: p.peaks[0].threads = 0; break;
    case 4: p.levels[3].bw[MBT_BW_READ][0].best = 1e-300; break;
    case 5: p.peaks[2].threads = 3; break; /* more than the profile's 2 */
    case 6: p.peaks[1].chains = -1; break;
    case 7: p.levels[0].bw[MBT_BW_COPY][1].median = 2e6; break;
    case 8: p.clock_ghz = 25; break;
    case 9: p.fma_latency = 5000; break;
    case 10: p.curves[0].ws[1] = 0; break;
    case 11: p.levels[2].ws = (uint64_t)1 << 50; break;
    case 12: p.levels[0].bw[MBT_BW_TRIAD][0].max = INFINITY; break;
    case 13: p.curves[0].best[2] = NAN; break;
    default: break;
  }
  mbt_profile_save(&p, path);
  FILE *f = fopen(path, "a");
  fputs(tail, f);
  fclose(f);
  const enum mbt_status st = mbt_profile_load(path, &q);
  if (st == MBT_OK) return -1;
  return st == MBT_EPARSE && strstr(mbt_last_error(), why) && strstr(mbt_last_error(), path);
}

/* Hostile profiles (issue 15): each refused, naming the field and the file. */
static void profile_hostile(void) {
  char dir[] = "/tmp/mbt-test-prof-XXXXXX", path[256];
  if (!mkdtemp(dir)) skip_all("cannot create a temporary directory");
  snprintf(path, sizeof path, "%s/profile.json", dir);
  ok(refused(path, 0, "\n \t\n", "") == -1, "white space after the JSON is fine: %s",
     mbt_last_error());
  ok(refused(path, 0, "{\"x\":1}", "text after the JSON") == 1, "trailing garbage: %s", mbt_last_error());
  ok(refused(path, 0, "garbage", "text after the JSON") == 1, "trailing word: %s", mbt_last_error());
  static const struct { int edit; const char *why, *what; } cases[] = {
      {1, "'clock_ghz'", "NaN clock"},
      {2, "'levels[1].size' is -32768", "negative cache size"},
      {3, "'peaks[0].threads' is 0", "zero-thread peak"},
      {4, "'levels[3].read_1.best' is 1e-300", "1e-300 bandwidth"},
      {5, "'peaks[2].threads' is 3", "peak with more threads than the profile"},
      {6, "'peaks[1].chains' is -1", "negative chains"},
      {7, "'levels[0].copy_n.median' is 2e+06", "bandwidth over 1e6 GB/s"},
      {8, "'clock_ghz' is 25", "25 GHz clock"},
      {9, "'fma_latency_cycles' is 5000", "5000-cycle FMA latency"},
      {10, "'curves[0].ws[1]'", "curve working set 0"},
      {11, "'levels[2].working_set' is 1125899906842624", "working set 2^50"},
      {12, "'levels[0].triad_1.max'", "infinite bandwidth"},
      {13, "'curves[0].best[2]'", "NaN on a curve"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    ok(refused(path, cases[k].edit, "", cases[k].why) == 1, "%s refused: %s", cases[k].what,
       mbt_last_error());
  FILE *f = fopen(path, "wb");
  fwrite("{\"format\"\0:1}", 1, 14, f);
  fclose(f);
  struct mbt_profile q;
  ok(mbt_profile_load(path, &q) == MBT_EPARSE && strstr(mbt_last_error(), "NUL"),
     "a NUL byte: %s", mbt_last_error());
  unlink(path);
  rmdir(dir);
}

/* The clock estimate is a clock: it measured something, and no more than any CPU runs at.  (A
 * chain of adds of an immediate read 11.9 GHz on a Sapphire Rapids Xeon, whose renamer folds
 * such adds.)  Only the upper bound is asserted: a loaded machine stretches the chain's wall time
 * and so lowers the estimate without limit, but can never raise it. */
static void clock_estimate(void) {
#if defined(__x86_64__) || defined(__aarch64__)
  if (getenv("MBT_RUNNER") && *getenv("MBT_RUNNER")) {
    skip("the clock from a chain of dependent adds", "an emulator has no clock of its own");
    return;
  }
  struct mbt_figure f;
  const double ghz = mbt_roof_clock_ghz(&f);
  /* load only stretches the wall time (it may lower the estimate, never raise it) */
  ok(ghz > 0 && ghz < 8 && f.reps >= 1 && f.best == ghz && f.min <= f.best,
     "the clock from a chain of dependent adds is a CPU's: %.2f GHz (%d looks kept, %d disturbed)",
     ghz, f.reps, f.disturbed);
  if (ghz > 0 && ghz < 0.2) diag("(under 0.2 GHz: the machine was busy while it was measured)");
#endif
}

/* The load probe: a thread that sleeps had little of its CPU; one that works had some. */
static void load_probe(void) {
  struct mbt_load l;
  mbt_load_begin(&l, 1);
  const struct timespec ts = {0, 50000000};
  nanosleep(&ts, NULL);
  const double slept = mbt_load_end(&l);
  ok(slept < 0.5 && slept >= 0, "a thread asleep for 50 ms had %.0f%% of its CPU", 100 * slept);
  mbt_load_begin(&l, 1);
  volatile double x = 1;
  const double t0 = mbt_now_ns();
  while (mbt_now_ns() - t0 < 2e7) x = x * 1.0000001;
  const double worked = mbt_load_end(&l);
  ok(worked > 0 && worked <= 1, "a thread at work for 20 ms had %.0f%% of its CPU (CPU %d)",
     100 * worked, l.cpu);
}

/* A measured profile keeps its ceilings in order, measured so or raised (and marked) after a
 * second look: a wider ISA at least a narrower one, n threads at least one, a smaller memory
 * level at least the next; FLOP/cycle within the ISA's issue limit, or the clock flagged. */
static void measured_order(void) {
  if (getenv("MBT_RUNNER") && *getenv("MBT_RUNNER")) {
    skip("a measured profile keeps its ceilings in order", "timing under an emulator");
    return;
  }
  struct mbt_machine m;
  mbt_machine_detect(&m);
  static struct mbt_profile p;
  struct mbt_roofline_opts o = {2, 1, 0, 1}; /* 2 threads, quick, quiet, forced */
  const enum mbt_status st = mbt_roofline_measure(&m, &o, &p);
  ok(st == MBT_OK, "a quick roofline measurement: %s", st == MBT_OK ? "ok" : mbt_last_error());
  static const char *const order[] = {"scalar", "sse", "avx2", "avx512f"};
  int isa_ok = 1, thr_ok = 1, lvl_ok = 1, fpc_ok = 1, marked = 0;
  for (int i = 0; i < p.npeaks; i++) {
    const struct mbt_peak *a = &p.peaks[i];
    if (!strcmp(a->kernel, "fma+add")) continue;
    marked += a->gflops.adjusted;
    int ra = -1;
    for (int k = 0; k < 4; k++) ra = !strcmp(a->isa, order[k]) ? k : ra;
    for (int j = 0; j < p.npeaks; j++) {
      const struct mbt_peak *b = &p.peaks[j];
      int rb = -1;
      for (int k = 0; k < 4; k++) rb = !strcmp(b->isa, order[k]) ? k : rb;
      if (!strcmp(b->kernel, "fma+add")) continue;
      if (b->threads == a->threads && ra >= 0 && rb >= 0 && ra > rb)
        isa_ok &= a->gflops.best >= 0.97 * b->gflops.best;
      if (!strcmp(a->isa, b->isa) && b->threads == 1 && a->threads > 1)
        thr_ok &= a->gflops.best >= 0.97 * b->gflops.best;
    }
    const double limit = ra == 3 ? 64 : ra == 2 ? 32 : 16; /* lanes x 4 on x86-64 (sse: 4 x 4) */
    if (ra >= 0 && p.clock_ghz > 0 && !p.clock_flagged)
      fpc_ok &= a->gflops.best / p.clock_ghz / a->threads <= 1.05 * limit;
  }
  for (int l = 0; l + 1 < p.nlevels; l++)
    for (int k = 0; k < MBT_BW_KERNELS; k++)
      for (int t = 0; t < 2; t++) {
        lvl_ok &= p.levels[l].bw[k][t].best >= 0.97 * p.levels[l + 1].bw[k][t].best;
        marked += p.levels[l].bw[k][t].adjusted;
      }
  ok(isa_ok, "a wider ISA's FMA ceiling is at least a narrower one's on every thread count");
  ok(thr_ok, "every ceiling on several threads is at least its one-thread figure");
  ok(lvl_ok, "every memory level's bandwidth is at least the next level's");
  ok(fpc_ok, "FLOP/cycle/core within the ISA's issue limit, or the clock is flagged (%.2f GHz%s)",
     p.clock_ghz, p.clock_flagged ? ", flagged" : "");
  ok(marked == 0 || p.nwarnings > 0, "%d raised figures, each said in the warnings (%d)", marked,
     p.nwarnings);
}

int main(void) {
  clock_estimate();
  load_probe();
  measured_order();
  placement();
  plateaus();
  profile_file();
  profile_hostile();
  return done();
}
