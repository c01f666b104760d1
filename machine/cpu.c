/* machine/cpu.c -- CPU identity (libcpuid when present, /proc/cpuinfo otherwise) and the
 * runtime ISA mask.  The ISA mask comes from the compiler's cpuid builtins, which also check
 * that the OS saves the wide registers (XCR0), so a hypervisor that hides AVX-512 is honoured. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/isa.h"
#include "machine/machine.h"
#ifdef HAVE_LIBCPUID
#include <libcpuid.h>
#endif


static uint32_t isa_of_cpu(void) {
  uint32_t isa = MBT_ISA_SCALAR;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse2")) isa |= MBT_ISA_SSE2;
  if (__builtin_cpu_supports("avx")) isa |= MBT_ISA_AVX;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa |= MBT_ISA_AVX2;
  if (__builtin_cpu_supports("avx512f")) isa |= MBT_ISA_AVX512F;
#elif defined(__aarch64__)
  isa |= MBT_ISA_NEON;
#endif
  return isa;
}

static uint32_t isa_of_build(void) {
  uint32_t isa = MBT_ISA_SCALAR;
#if defined(__x86_64__)
  isa |= MBT_ISA_SSE2 | MBT_ISA_AVX; /* baseline x86-64; AVX has no kernels of its own */
#endif
#ifdef MBT_HAVE_AVX2
  isa |= MBT_ISA_AVX2;
#endif
#ifdef MBT_HAVE_AVX512
  isa |= MBT_ISA_AVX512F;
#endif
#ifdef MBT_HAVE_NEON
  isa |= MBT_ISA_NEON;
#endif
  return isa;
}

uint32_t mbt_isa_cap(uint32_t isa) {
  const char *cap = getenv("MBT_ISA");
  if (!cap || !*cap) return isa;
  uint32_t keep = 0;
  int n;
  const struct mbt_isa_info *t = mbt_isa_table(&n);
  for (int i = 0; i < n; i++) {
    keep |= t[i].bit; /* the table is ordered narrow to wide */
    if (strcmp(cap, t[i].name) == 0) return isa & keep;
  }
  fprintf(stderr, "mobitune: MBT_ISA=%s is not one of scalar, sse2, avx, avx2, avx512f, neon; "
                  "ignored\n", cap);
  return isa;
}

static uint32_t host_isa;
static void host_isa_init(void) { host_isa = mbt_isa_cap(isa_of_cpu() & isa_of_build()); }

uint32_t mbt_host_isa(void) { /* once per process, safe from several threads */
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, host_isa_init);
  return host_isa;
}

static void features_from_mask(struct mbt_machine *m) {
  int nt;
  const struct mbt_isa_info *t = mbt_isa_table(&nt);
  m->features[0] = 0;
  for (int i = 0; i < nt; i++)
    if (m->isa_cpu & t[i].bit) {
      size_t n = strlen(m->features);
      snprintf(m->features + n, sizeof m->features - n, "%s%s", n ? " " : "", t[i].name);
    }
}

/* /proc/cpuinfo fallback for identity and clock. */
static void cpuinfo(struct mbt_machine *m) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (!colon) continue;
    char *val = colon + 1;
    while (*val == ' ') val++;
    val[strcspn(val, "\n")] = 0;
    if (!m->vendor[0] && strncmp(line, "vendor_id", 9) == 0)
      snprintf(m->vendor, sizeof m->vendor, "%s", val);
    else if (!m->model[0] && strncmp(line, "model name", 10) == 0)
      snprintf(m->model, sizeof m->model, "%s", val);
    else if (!m->family && strncmp(line, "cpu family", 10) == 0)
      m->family = atoi(val);
    else if (!m->cpu_model && strncmp(line, "model\t", 6) == 0)
      m->cpu_model = atoi(val);
    else if (!m->stepping && strncmp(line, "stepping", 8) == 0)
      m->stepping = atoi(val);
    else if (m->mhz == 0 && strncmp(line, "cpu MHz", 7) == 0)
      m->mhz = atof(val);
  }
  fclose(f);
}

void mbt_cpu_detect(struct mbt_machine *m) {
  m->isa_cpu = isa_of_cpu();
  m->isa_built = isa_of_build();
  m->isa = mbt_isa_cap(m->isa_cpu & m->isa_built);
  features_from_mask(m);
#ifdef HAVE_LIBCPUID
  struct cpu_raw_data_t raw;
  struct cpu_id_t id;
  if (cpuid_present() && cpuid_get_raw_data(&raw) == 0 && cpu_identify(&raw, &id) == 0) {
    snprintf(m->vendor, sizeof m->vendor, "%s", id.vendor_str);
    snprintf(m->model, sizeof m->model, "%s", id.brand_str);
    m->family = id.ext_family;
    m->cpu_model = id.ext_model;
    m->stepping = id.stepping;
    /* The features libcpuid sees that matter to kernels, beyond the usable mask. */
    static const struct {
      cpu_feature_t f;
      const char *n;
    } extra[] = {{CPU_FEATURE_FMA3, "fma"}, {CPU_FEATURE_F16C, "f16c"},
                 {CPU_FEATURE_AVX512BW, "avx512bw"}, {CPU_FEATURE_AVX512VL, "avx512vl"},
                 {CPU_FEATURE_AVX512VNNI, "avx512vnni"}};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
      if (id.flags[extra[i].f]) {
        size_t n = strlen(m->features);
        snprintf(m->features + n, sizeof m->features - n, " %s", extra[i].n);
      }
    snprintf(m->source, sizeof m->source, "libcpuid %s", cpuid_lib_version());
    int mhz = cpu_clock_by_os();
    if (mhz > 0) m->mhz = mhz;
  }
#endif
  if (!m->model[0]) {
    cpuinfo(m);
    snprintf(m->source, sizeof m->source, "/proc/cpuinfo");
  } else if (m->mhz == 0) {
    struct mbt_machine t = {0};
    cpuinfo(&t);
    m->mhz = t.mhz;
  }
}
