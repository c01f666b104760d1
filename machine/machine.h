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
#endif
