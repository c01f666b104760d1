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

#endif
