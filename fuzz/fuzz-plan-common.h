/* fuzz/fuzz-plan-common.h -- what the two plan harnesses share: a fixed machine (so that a
 * crash reproduces on any host) and the identity of each input.  A plan loads only on the
 * machine and kernel registry it names; so that the fuzzer reaches the success path (and the
 * round trip) without guessing a 64-bit digest, the machine takes the fingerprint of the
 * input's first 'fingerprint' line, and the value of its first 'registry' line is replaced by
 * this build's signature.  Later such lines are left as they are: the loader's own checks of
 * them stay reachable. */
#ifndef MBT_FUZZ_PLAN_COMMON_H
#define MBT_FUZZ_PLAN_COMMON_H

#include "include/mobitune.h"
#include "kernels/kernels.h"
#include "plan/store.h"

/* @return the offset of the first line of @p t (@p n bytes) that starts with @p kw, or -1. */
static inline long fuzz_line(const char *t, size_t n, const char *kw) {
  const size_t k = strlen(kw);
  for (size_t i = 0; i + k <= n; i++)
    if ((i == 0 || t[i - 1] == '\n') && !memcmp(t + i, kw, k)) return (long)i;
  return -1;
}

static inline void fuzz_machine(struct mbt_machine *m) {
  memset(m, 0, sizeof *m);
  snprintf(m->vendor, sizeof m->vendor, "GenuineFuzz");
  snprintf(m->model, sizeof m->model, "Fuzz CPU 1.0GHz");
  snprintf(m->features, sizeof m->features, "sse2 avx avx2 fma");
  m->family = 6, m->cpu_model = 1, m->cores = 2, m->threads = 4, m->numa_nodes = 1;
  m->isa_cpu = m->isa_built = m->isa = MBT_ISA_SCALAR | MBT_ISA_SSE2;
  m->mhz = 1000;
  m->ncaches = 2;
  m->caches[0] = (struct mbt_cache){1, 32768, 64, 8, 2, 2};
  m->caches[1] = (struct mbt_cache){2, 1 << 20, 64, 16, 4, 1};
  snprintf(m->fingerprint, sizeof m->fingerprint, "0123456789abcdef");
}

/* Copy the input into a malloc'd text with this build's registry (the length in @p len); set
 * @p m's fingerprint from the input. */
static inline char *fuzz_plan_text(const uint8_t *data, size_t n, struct mbt_machine *m, size_t *len) {
  const char *t = (const char *)data;
  const long fp = fuzz_line(t, n, "fingerprint ");
  if (fp >= 0) {
    size_t i = 0;
    for (const char *s = t + fp + 12; s < t + n && *s != '\n' && i + 1 < sizeof m->fingerprint; s++)
      m->fingerprint[i++] = *s;
    m->fingerprint[i] = 0;
  }
  const char *sig = mbt_registry_signature();
  const long rg = fuzz_line(t, n, "registry ");
  size_t head = n, tail = n;
  if (rg >= 0) {
    head = (size_t)rg + 9;
    const char *nl = memchr(t + head, '\n', n - head);
    tail = nl ? (size_t)(nl - t) : n;
  }
  const size_t add = rg >= 0 ? strlen(sig) : 0;
  char *out = malloc(head + add + (n - tail) + 1);
  if (!out) fuzz_die("out of memory");
  memcpy(out, t, head);
  memcpy(out + head, sig, add);
  memcpy(out + head + add, t + tail, n - tail);
  *len = head + add + (n - tail);
  out[*len] = 0;
  return out;
}

/* Write the input, identity fixed as above, as the plan file @p name; set up @p m. */
static inline const char *fuzz_plan_input(const char *name, const uint8_t *data, size_t n,
                                   struct mbt_machine *m) {
  fuzz_machine(m);
  size_t len;
  char *text = fuzz_plan_text(data, n, m, &len);
  const char *path = fuzz_write(name, (const uint8_t *)text, len);
  free(text);
  return path;
}

#endif
