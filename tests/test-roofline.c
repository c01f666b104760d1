/* tests/test-roofline.c -- roofline placement on fixed numbers, and the profile file. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "include/mobitune.h"
#include "tests/tap.h"

static struct mbt_figure fig(double v) { return (struct mbt_figure){v, v, v, v, 5, 0}; }

int main(void) {
  /* A machine with 100 GFLOP/s and L1 400, L2 200, L3 100, DRAM 20 GB/s. */
  struct mbt_profile p;
  memset(&p, 0, sizeof p);
  snprintf(p.fingerprint, sizeof p.fingerprint, "00000000deadbeef");
  snprintf(p.version, sizeof p.version, "test");
  snprintf(p.simd_isa, sizeof p.simd_isa, "avx2");
  p.threads = 2;
  p.peak_simd1 = fig(100), p.peak_simdn = fig(200), p.peak_scalar1 = fig(10), p.peak_scalarn = fig(20);
  static const char *const names[] = {"L1", "L2", "L3", "DRAM"};
  static const double bw[] = {400, 200, 100, 20};
  static const uint64_t ws[] = {16 << 10, 512 << 10, 8 << 20, 128 << 20};
  p.nlevels = 4;
  for (int i = 0; i < 4; i++) {
    snprintf(p.levels[i].name, sizeof p.levels[i].name, "%s", names[i]);
    p.levels[i].ws = ws[i];
    p.levels[i].read1 = fig(bw[i]);
    p.levels[i].readn = fig(bw[i] * 1.8);
  }
  struct mbt_layer l;
  memset(&l, 0, sizeof l);
  struct mbt_place pc;
  /* 1 MFLOP over 100 MB: I = 0.01 FLOP/B, lives in DRAM, ridge 5, attainable 0.2 GFLOP/s. */
  l.macs = 0.5e6, l.bytes = 100e6;
  mbt_roofline_place(&p, &l, &pc);
  ok(pc.memory_bound && pc.level == 3 && fabs(pc.ridge - 5) < 1e-12 &&
     fabs(pc.attainable - 0.2) < 1e-12, "memory-bound at DRAM: I %.3g ridge %.3g attainable %.3g",
     pc.intensity, pc.ridge, pc.attainable);
  /* 20 KB working set, I = 10: L2 (20 KB > 2 x 16 KB? no: fits 32 KB L1). */
  l.macs = 100e3, l.bytes = 20e3;
  mbt_roofline_place(&p, &l, &pc);
  ok(!pc.memory_bound && pc.level == 0 && fabs(pc.attainable - 100) < 1e-12 &&
     fabs(pc.ridge - 0.25) < 1e-12, "compute-bound in L1: I %.3g ridge %.3g", pc.intensity, pc.ridge);
  /* 4 MB, I = 0.5 FLOP/B: L3, ridge 1, attainable 50. */
  l.macs = 1e6, l.bytes = 4e6;
  mbt_roofline_place(&p, &l, &pc);
  ok(pc.memory_bound && pc.level == 2 && fabs(pc.attainable - 50) < 1e-9,
     "memory-bound at L3: attainable %.3g", pc.attainable);
  /* The seed's worked example: I = 1.125 MAC/B = 2.25 FLOP/B on 48 GMAC/s (96 GFLOP/s) with
   * 12 GB/s: beta = 8 FLOP/B (4 MAC/B), memory-bound. */
  struct mbt_profile mob = p;
  mob.peak_simd1 = fig(96);
  mob.nlevels = 1;
  snprintf(mob.levels[0].name, sizeof mob.levels[0].name, "DRAM");
  mob.levels[0].read1 = fig(12);
  l.macs = 112.0 * 112 * 9 * 32, l.bytes = l.macs / 1.125;
  mbt_roofline_place(&mob, &l, &pc);
  ok(pc.memory_bound && fabs(pc.ridge / 2 - 4) < 1e-12 && fabs(pc.attainable - 27) < 1e-9,
     "seed example: beta = %.1f MAC/B, memory-bound, attainable %.1f GFLOP/s", pc.ridge / 2,
     pc.attainable);

  /* Profile file: round trip and rejection of corrupt files. */
  char dir[] = "/tmp/mbt-test-prof-XXXXXX", path[256];
  if (!mkdtemp(dir)) skip_all("cannot create a temporary directory");
  snprintf(path, sizeof path, "%s/profile.json", dir);
  ok(mbt_profile_save(&p, path) == MBT_OK, "save profile");
  struct mbt_profile q;
  ok(mbt_profile_load(path, &q) == MBT_OK && q.nlevels == 4 && q.levels[3].read1.best == 20 &&
     q.peak_simd1.best == 100 && !strcmp(q.levels[1].name, "L2") && q.levels[2].ws == ws[2],
     "profile round trip: %s", mbt_last_error());
  FILE *f = fopen(path, "r+");
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fclose(f);
  ok(truncate(path, len / 2) == 0 && mbt_profile_load(path, &q) == MBT_EPARSE,
     "truncated profile: %s", mbt_last_error());
  f = fopen(path, "w");
  fputs("{\"format\":\"mobitune-profile\",\"format_version\":1}", f);
  fclose(f);
  ok(mbt_profile_load(path, &q) == MBT_EPARSE && strstr(mbt_last_error(), "fingerprint"),
     "profile missing a field: %s", mbt_last_error());
  unlink(path);
  rmdir(dir);
  return done();
}
