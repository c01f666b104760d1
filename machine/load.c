/* machine/load.c -- did another process take a CPU from us while we measured?
 *
 * A thread's CPU time (CLOCK_THREAD_CPUTIME_ID) stops while the scheduler runs something else
 * on its CPU; its wall time does not.  Their ratio over an interval is the share of its CPU
 * the thread had: about 1 on a free core, 0.5 beside a busy loop of the same priority.  This
 * needs no history (the speed a free core would have is never guessed) and no hardware
 * counter.  Time the hypervisor gives another guest: a kernel built with paravirtual steal
 * accounting (CONFIG_PARAVIRT_TIME_ACCOUNTING, as Debian's and this VM's are) already leaves
 * it out of the thread clocks (a busy second here: thread time 0.984 of the wall, steal
 * 0.020, together 1.004), so it is taken off only where the kernel's configuration says the
 * thread clocks hold it.  (Taking it off twice, from /proc/stat's 10 ms ticks averaged over
 * every CPU, once put a thread that had worked for 20 ms at 0% of its CPU.) */
#define _GNU_SOURCE
#include "config.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/common.h"
#include "machine/machine.h"

double mbt_thread_cpu_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* 1 when the running kernel's configuration (/boot/config-RELEASE) says it does not take
 * steal time out of the thread clocks; 0 when it does, or cannot be read (the distributions'
 * default). */
static int steal_in_thread_clocks(void) {
  static _Atomic int known = -1; /* read once (two first callers would read the same) */
  int k = atomic_load(&known);
  if (k >= 0) return k;
  k = 0;
  struct utsname u;
  char path[sizeof u.release + 16], line[256];
  FILE *f = NULL;
  if (uname(&u) == 0) {
    snprintf(path, sizeof path, "/boot/config-%s", u.release);
    f = fopen(path, "r");
  }
  while (f && fgets(line, sizeof line, f))
    if (strstr(line, "# CONFIG_PARAVIRT_TIME_ACCOUNTING is not set")) k = 1;
  if (f) fclose(f);
  atomic_store(&known, k);
  return k;
}

/* Steal time of every CPU together, ns (0 where the kernel does not account it). */
static double steal_ns(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return 0;
  unsigned long long v[8] = {0};
  const int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                         &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  const long hz = sysconf(_SC_CLK_TCK);
  return got == 8 && hz > 0 ? (double)v[7] * 1e9 / (double)hz : 0;
}

/* Each team thread's CPU time and CPU, sampled in one parallel region of the team's size (the
 * engine's regions have that size too, so no thread of the team is ended or started). */
static void sample(int threads, double *cpu, int *where) {
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    cpu[t] = mbt_thread_cpu_ns();
    where[t] = sched_getcpu();
  }
#else
  (void)threads;
  cpu[0] = mbt_thread_cpu_ns();
  where[0] = sched_getcpu();
#endif
}

void mbt_load_begin(struct mbt_load *l, int threads) {
  memset(l, 0, sizeof *l);
  l->threads = threads < 1 ? 1 : threads > MBT_LOAD_MAX ? MBT_LOAD_MAX : threads;
#ifndef _OPENMP
  l->threads = 1;
#endif
  sample(l->threads, l->cpu0, l->where);
  l->steal0 = steal_in_thread_clocks() ? steal_ns() : 0;
  l->wall0 = mbt_now_ns();
}

double mbt_load_end(struct mbt_load *l) {
  const double wall = mbt_now_ns() - l->wall0;
  double cpu[MBT_LOAD_MAX];
  int where[MBT_LOAD_MAX];
  sample(l->threads, cpu, where);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  ncpu = ncpu > 0 ? ncpu : 1;
  /* per CPU, on average; 0 where the thread clocks leave it out already */
  const double stolen = steal_in_thread_clocks() ? (steal_ns() - l->steal0) / (double)ncpu : 0;
  l->share = 1, l->busiest = 0, l->cpu = l->where[0];
  for (int t = 0; t < l->threads && wall > 0; t++) {
    double s = (cpu[t] - l->cpu0[t] - stolen) / wall;
    s = s > 1 ? 1 : s < 0 ? 0 : s;
    if (s < l->share) l->share = s, l->busiest = t, l->cpu = where[t];
  }
  return l->share;
}
