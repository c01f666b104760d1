/* machine/topo.c -- cores, threads, caches and NUMA nodes.  hwloc when present; otherwise
 * sysconf and sysfs (cache sizes of cpu0 only, no pinning). */
#define _GNU_SOURCE
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/common.h"
#include "machine/machine.h"
#ifdef HAVE_HWLOC
#include <hwloc.h>

static hwloc_topology_t topo; /* loaded once per process, never freed */
static void topo_once(void) {
  if (hwloc_topology_init(&topo) != 0) {
    topo = NULL;
    return;
  }
  if (hwloc_topology_load(topo) != 0) {
    hwloc_topology_destroy(topo);
    topo = NULL;
  }
}

static hwloc_topology_t topo_get(void) { /* safe from several threads */
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, topo_once);
  return topo;
}
#endif

static void add_cache(struct mbt_machine *m, int level, uint64_t size, int line, int assoc,
                      int shared_by, int instances) {
  for (int i = 0; i < m->ncaches; i++)
    if (m->caches[i].level == level) return; /* keep the first (data/unified) one */
  if (m->ncaches == MBT_MAX_CACHES) return;
  m->caches[m->ncaches++] = (struct mbt_cache){level, size, line, assoc, shared_by, instances};
}

static void sysfs_caches(struct mbt_machine *m) {
  for (int idx = 0; idx < 16; idx++) {
    char path[128], buf[64];
    int level = 0, line = 0, assoc = 0, shared = 1;
    uint64_t size = 0;
    char type[64] = "";
    static const char *const fields[] = {"level", "size", "coherency_line_size",
                                         "ways_of_associativity", "type", "shared_cpu_list"};
    int found = 0;
    for (int f = 0; f < 6; f++) {
      snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/%s", idx,
               fields[f]);
      FILE *fp = fopen(path, "r");
      if (!fp) continue;
      if (fgets(buf, sizeof buf, fp)) {
        found++;
        switch (f) {
          case 0: level = atoi(buf); break;
          case 1: size = strtoull(buf, NULL, 10) * (strchr(buf, 'M') ? 1048576 : 1024); break;
          case 2: line = atoi(buf); break;
          case 3: assoc = atoi(buf); break;
          case 4: snprintf(type, sizeof type, "%s", buf); break;
          case 5: { /* "0-1" or "0,1": count entries roughly */
            int a, b;
            if (sscanf(buf, "%d-%d", &a, &b) == 2) shared = b - a + 1;
            break;
          }
        }
      }
      fclose(fp);
    }
    if (!found) break;
    if (strncmp(type, "Instruction", 11) == 0 || level <= 0) continue;
    int inst = shared > 0 && m->threads >= shared ? m->threads / shared : 1;
    add_cache(m, level, size, line, assoc, shared, inst);
  }
}

void mbt_topo_detect(struct mbt_machine *m) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  m->threads = n > 0 ? (int)n : 1;
  m->cores = m->threads;
  m->numa_nodes = 1;
#ifdef HAVE_HWLOC
  hwloc_topology_t t = topo_get();
  if (t) {
    m->threads = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
    m->cores = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
    int numa = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
    m->numa_nodes = numa > 0 ? numa : 1;
    static const hwloc_obj_type_t types[] = {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE,
                                             HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE};
    for (int i = 0; i < 4; i++) {
      int cnt = hwloc_get_nbobjs_by_type(t, types[i]);
      if (cnt <= 0) continue;
      hwloc_obj_t o = hwloc_get_obj_by_type(t, types[i], 0);
      if (o->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION) continue;
      int shared = hwloc_bitmap_weight(o->cpuset);
      add_cache(m, (int)o->attr->cache.depth, o->attr->cache.size,
                (int)o->attr->cache.linesize, o->attr->cache.associativity, shared, cnt);
    }
    snprintf(m->source + strlen(m->source), sizeof m->source - strlen(m->source),
             ", hwloc %s", HWLOC_VERSION);
    return;
  }
#endif
  sysfs_caches(m);
  snprintf(m->source + strlen(m->source), sizeof m->source - strlen(m->source), ", sysfs");
}

int mbt_topo_pin(int index) {
#ifdef HAVE_HWLOC
  hwloc_topology_t t = topo_get();
  if (t) {
    int npu = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
    int ncore = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
    hwloc_obj_t o = NULL;
    /* One thread per core first, then the SMT siblings. */
    if (ncore > 0 && index < ncore) {
      hwloc_obj_t core = hwloc_get_obj_by_type(t, HWLOC_OBJ_CORE, (unsigned)index);
      o = core ? hwloc_get_obj_inside_cpuset_by_type(t, core->cpuset, HWLOC_OBJ_PU, 0) : NULL;
    } else if (npu > 0) {
      o = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, (unsigned)(index % npu));
    }
    if (!o) return -1;
    return hwloc_set_cpubind(t, o->cpuset, HWLOC_CPUBIND_THREAD);
  }
#endif
  (void)index;
  return -1;
}

enum mbt_status mbt_pin_threads(int threads) {
  int bad = 0;
  if (threads <= 1) {
    bad = mbt_topo_pin(0) != 0;
  } else {
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(+ : bad)
    bad += mbt_topo_pin(omp_get_thread_num()) != 0;
#else
    bad = mbt_topo_pin(0) != 0;
#endif
  }
  return bad ? mbt_fail(MBT_EUNSUPPORTED, "cannot pin threads (no hwloc, or binding refused)")
             : MBT_OK;
}

/* A latency-bound floating-point chain: the same work on every core, no memory traffic (its
 * start comes from a volatile, so the compiler cannot fold the loop away). */
static volatile double chain_seed = 1.0, chain_sink;
static double chain(long n) {
  double x = chain_seed;
  for (long i = 0; i < n; i++) x = x * 0.9999999 + 1e-7;
  return x;
}

/* Run the chain on each thread of a team of @p threads at once; each thread times its own
 * (so waking the team is not counted).  Sets the slowest and the fastest thread's ns. */
static void team_chain(int threads, long n, double *slowest, double *fastest) {
  double hi = 0, lo = INFINITY;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(max : hi) reduction(min : lo)
#endif
  {
#ifdef _OPENMP
#pragma omp barrier
#endif
    const double a = mbt_now_ns();
    const double v = chain(n);
    hi = lo = mbt_now_ns() - a;
#ifdef _OPENMP
#pragma omp atomic
#endif
    chain_sink += v;
  }
  (void)threads;
  *slowest = hi, *fastest = lo;
}

double mbt_team_share(int threads) {
  /* Longer than a scheduler's time slice (a short look slips in between another process's
   * slices): about 5 ms on one core, calibrated once. */
  static long n = 0;
  static double best = INFINITY; /* the fastest any team thread has ever run the chain */
  if (threads < 1) threads = 1;
  if (n == 0) {
    long k = 1000;
    double d = 0;
    while (k < (1L << 34) && (d = mbt_now_ns(), chain_sink = chain(k), mbt_now_ns() - d) < 1e6)
      k *= 2;
    n = 5 * k;
  }
  double slowest = 0, fastest = 0;
  const int looks = best == INFINITY ? 3 : 1; /* three looks the first time */
  for (int look = 0; look < looks; look++) {
    team_chain(threads, n, &slowest, &fastest);
    best = fastest < best ? fastest : best;
  }
  return slowest > 0 ? best / slowest : 1.0;
}
