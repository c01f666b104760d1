/* machine/counters.h -- hardware counters behind one component table (PAPI or none). */
#ifndef MBT_COUNTERS_H
#define MBT_COUNTERS_H

#include <stddef.h>

#define MBT_MAX_EVENTS 4

/* A component: PAPI when it can count here, otherwise "none" (every call a no-op). */
struct mbt_counters {
  const char *name;
  int nevents;
  const char *events[MBT_MAX_EVENTS];
  int (*start)(void);                  /* 0 on success */
  int (*stop)(long long *values);      /* values[nevents]; 0 on success */
};

/* 1 when hardware events can be counted here; @p note says which presets, or why not. */
int mbt_counters_probe(char *note, size_t n);
/* The component to use (never NULL). */
const struct mbt_counters *mbt_counters_get(void);

/* What the counts of one call say about its roofline position, when the events allow:
 * FLOPs from PAPI_SP_OPS (or PAPI_FP_OPS), memory traffic from the misses of the last cache
 * level counted (PAPI_L3_TCM, else PAPI_L2_TCM) times the line size.  Returns 1 with both set,
 * 0 when the events do not give both. */
int mbt_counters_roofline(const char *const *events, const long long *counts, int n, int line,
                          double *flops, double *bytes);

#endif
