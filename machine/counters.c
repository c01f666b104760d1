/* machine/counters.c -- PAPI component (when built with PAPI and the host exposes hardware
 * events) and the "none" component.  Like PAPI's own tests, absence is not an error: the tuner
 * then times with the clock and says so. */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/counters.h"
#ifdef HAVE_PAPI
#include <papi.h>
#endif

static int none_start(void) { return -1; }
static int none_stop(long long *v) {
  (void)v;
  return -1;
}
static const struct mbt_counters none = {"none", 0, {0}, none_start, none_stop};

#ifdef HAVE_PAPI
static struct mbt_counters papi;
static int papi_set = PAPI_NULL;
static int papi_start(void) { return PAPI_start(papi_set) == PAPI_OK ? 0 : -1; }
static int papi_stop(long long *v) { return PAPI_stop(papi_set, v) == PAPI_OK ? 0 : -1; }

/* Presets worth reading around a kernel, in order of use to the report. */
static const struct {
  int code;
  const char *name;
} presets[] = {
    {PAPI_TOT_CYC, "PAPI_TOT_CYC"}, {PAPI_TOT_INS, "PAPI_TOT_INS"},
    {PAPI_SP_OPS, "PAPI_SP_OPS"},   {PAPI_L3_TCM, "PAPI_L3_TCM"},
};
#endif

static int usable;
static char probe_note[192];

static void probe_once(void) {
#ifdef HAVE_PAPI
  int ver = PAPI_library_init(PAPI_VER_CURRENT);
  if (ver != PAPI_VER_CURRENT) {
    snprintf(probe_note, sizeof probe_note,
             "no hardware counters on this machine (PAPI failed to initialise)");
    return;
  }
  if (PAPI_create_eventset(&papi_set) != PAPI_OK) {
    snprintf(probe_note, sizeof probe_note, "no hardware counters on this machine "
             "(PAPI cannot create an event set)");
    return;
  }
  papi.name = "papi";
  char names[160] = "";
  /* MBT_EVENTS=name,name... (PAPI native or preset names, e.g. perf::TASK-CLOCK) replaces the
   * presets, as PAPI_EVENTS and likwid's event sets do. */
  static char evbuf[256];
  const char *env = getenv("MBT_EVENTS");
  if (env && *env) {
    snprintf(evbuf, sizeof evbuf, "%s", env);
    for (char *save = NULL, *tok = strtok_r(evbuf, ",", &save); tok && papi.nevents < MBT_MAX_EVENTS;
         tok = strtok_r(NULL, ",", &save)) {
      if (PAPI_add_named_event(papi_set, tok) != PAPI_OK) continue;
      papi.events[papi.nevents++] = tok;
      size_t l = strlen(names);
      snprintf(names + l, sizeof names - l, "%s%s", l ? " " : "", tok);
    }
    if (papi.nevents == 0) {
      snprintf(probe_note, sizeof probe_note, "no counters: PAPI %d.%d cannot count any of "
               "MBT_EVENTS=%.100s here; timing with the clock only", PAPI_VERSION_MAJOR(ver),
               PAPI_VERSION_MINOR(ver), env);
      return;
    }
  }
  for (size_t i = 0; !(env && *env) && i < sizeof presets / sizeof presets[0]; i++) {
    if (PAPI_query_event(presets[i].code) != PAPI_OK) continue;
    if (PAPI_add_event(papi_set, presets[i].code) != PAPI_OK) continue;
    papi.events[papi.nevents++] = presets[i].name;
    size_t l = strlen(names);
    snprintf(names + l, sizeof names - l, "%s%s", l ? " " : "", presets[i].name);
  }
  if (papi.nevents == 0) {
    snprintf(probe_note, sizeof probe_note,
             "no hardware counters on this machine (PAPI %d.%d finds no available preset "
             "event; timing with the clock only)", PAPI_VERSION_MAJOR(ver), PAPI_VERSION_MINOR(ver));
    return;
  }
  long long v[MBT_MAX_EVENTS];
  if (PAPI_start(papi_set) != PAPI_OK || PAPI_stop(papi_set, v) != PAPI_OK) {
    snprintf(probe_note, sizeof probe_note,
             "no hardware counters on this machine (PAPI lists %s but cannot start them)", names);
    papi.nevents = 0;
    return;
  }
  papi.start = papi_start;
  papi.stop = papi_stop;
  usable = 1;
  snprintf(probe_note, sizeof probe_note, "PAPI counts %s", names);
#else
  snprintf(probe_note, sizeof probe_note,
           "no hardware counters: built without PAPI; timing with the clock only");
#endif
}

static void probe(void) { /* once per process, safe from several threads */
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, probe_once);
}

int mbt_counters_roofline(const char *const *events, const long long *counts, int n, int line,
                          double *flops, double *bytes) {
  static const char *const fl[] = {"PAPI_SP_OPS", "PAPI_FP_OPS"};
  static const char *const mem[] = {"PAPI_L3_TCM", "PAPI_L2_TCM"};
  int f = -1, m = -1;
  for (int k = 1; k >= 0; k--) /* the first name of each list wins */
    for (int i = 0; i < n; i++) {
      if (!strcmp(events[i], fl[k])) f = i;
      if (!strcmp(events[i], mem[k])) m = i;
    }
  if (f < 0 || m < 0 || line <= 0) return 0;
  *flops = (double)counts[f];
  *bytes = (double)counts[m] * line;
  return 1;
}

int mbt_counters_probe(char *note, size_t n) {
  probe();
  snprintf(note, n, "%s", probe_note);
  return usable;
}

const struct mbt_counters *mbt_counters_get(void) {
  probe();
#ifdef HAVE_PAPI
  if (usable) return &papi;
#endif
  return &none;
}
