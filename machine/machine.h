/* machine/machine.h -- host detection internals (cpu.c: identity and ISA; topo.c: caches). */
#ifndef MBT_MACHINE_H
#define MBT_MACHINE_H

#include "include/mobitune.h"

void mbt_cpu_detect(struct mbt_machine *m);   /* vendor, model, features, ISA mask, clock */
void mbt_topo_detect(struct mbt_machine *m);  /* cores, threads, caches, NUMA */
/* Pin the calling thread to processing unit @p index (0-based, cores first). 0 on success. */
int mbt_topo_pin(int index);
/* ISA mask after the MBT_ISA environment cap ("scalar", "sse2", "avx2", "avx512f"). */
uint32_t mbt_isa_cap(uint32_t isa);
/* The usable ISA of the host, detected once per process. */
uint32_t mbt_host_isa(void);


/* The CPU time of the calling thread, ns (CLOCK_THREAD_CPUTIME_ID; 0 where unavailable). */
double mbt_thread_cpu_ns(void);

/* How much of its CPUs a team of threads had over an interval (machine/load.c). */
#define MBT_LOAD_MAX 256
struct mbt_load {
  int threads;
  double wall0, steal0, cpu0[MBT_LOAD_MAX];
  int where[MBT_LOAD_MAX];
  double share; /* after mbt_load_end: the least share of its CPU any team thread had (0..1) */
  int busiest;  /* that thread */
  int cpu;      /* the CPU it ran on (-1 unknown) */
};
/* Start an interval for a team of @p threads (a parallel region of that size samples them). */
void mbt_load_begin(struct mbt_load *l, int threads);
/* End it: @return the least share of its CPU a thread had (1 = none was held by another
 * process), with the thread and its CPU in @p l. */
double mbt_load_end(struct mbt_load *l);

/* Machine facts beyond the identity (machine.c, topo.c). */
/* @return the data cache of @p level, or NULL when the machine has none. */
const struct mbt_cache *mbt_machine_cache(const struct mbt_machine *m, int level);
/*
 * Pin the calling thread (@p threads = 1) or each thread of the team used for @p threads
 * threads to its own core, through hwloc.  @return MBT_OK, or MBT_EUNSUPPORTED without hwloc.
 */
enum mbt_status mbt_pin_threads(int threads);
/*
 * How freely a team of @p threads runs now: each thread runs the same compute-only chain
 * (about 5 ms, longer than a scheduler's slice) at once, and the result is the fastest time
 * any team thread has reached in this process (three looks seed it on the first call) over
 * the slowest thread's time now.  About 1 when the team's cores are free; about 0.5 when
 * another process shares one of them (threads = 1: the calling thread's core).  Call it after
 * mbt_pin_threads so the team runs where the work will.  Not thread-safe (it keeps the best
 * time and the calibrated chain length).
 */
double mbt_team_share(int threads);

/* @p m as a json-c object (what 'info --json' prints and the report data saves): identity,
 * features, the CPU's and the usable ISA (as text and, "isa", one name each), cores, caches,
 * counters, the sources of the facts and the fingerprint.  The caller owns it. */
struct json_object;
struct json_object *mbt_machine_json(const struct mbt_machine *m);
#endif
