/* kernels/registry.c -- the variant table, built from the per-family .inc files and filtered
 * by the host's ISA (after the MBT_ISA cap).  MBT_VERBOSE=1 logs what was kept. */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "kernels/kernels.h"
#include "machine/isa.h"
#include "machine/machine.h"

/* clang-format off */
static const struct mbt_variant table[] = {
#define MBT_VARIANT(isa, op, rank, name, fn, applicable, packer, mc, kc, flags) \
  {name, op, isa, rank, fn, applicable, packer, mc, kc, flags},
#include "kernels/f32-dwconv/f32-dwconv.inc"
#include "kernels/f32-pwconv/f32-pwconv.inc"
#include "kernels/f32-misc/f32-misc.inc"
#undef MBT_VARIANT
};
/* clang-format on */
#define NTABLE ((int)(sizeof table / sizeof table[0]))

const struct mbt_variant *mbt_registry_all(int *n) {
  *n = NTABLE;
  return table;
}

static int runnable(const struct mbt_variant *v) {
  return (v->isa & mbt_host_isa()) == v->isa;
}

int mbt_registry_families(const struct mbt_isa_info **out, int max) {
  int nisa, n = 0;
  const struct mbt_isa_info *isa = mbt_isa_table(&nisa);
  for (int k = 0; k < nisa && n < max; k++) {
    char tag[24];
    int any = 0;
    if (!isa[k].family || (mbt_host_isa() & isa[k].bit) != isa[k].bit) continue;
    snprintf(tag, sizeof tag, "__%s", isa[k].family);
    for (int v = 0; v < NTABLE && !any; v++) any = strstr(table[v].name, tag) != NULL;
    if (any) out[n++] = &isa[k];
  }
  return n;
}

static void log_kept_once(void) {
  const char *verbose = getenv("MBT_VERBOSE");
  if (!verbose || strcmp(verbose, "1") != 0) return;
  for (int i = 0; i < NTABLE; i++)
    fprintf(stderr, "mobitune: registry %s %s\n", runnable(&table[i]) ? "kept   " : "dropped",
            table[i].name);
}

static void log_kept(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, log_kept_once);
}

int mbt_registry_candidates(const struct mbt_kshape *s, const struct mbt_variant **out, int max) {
  int n = 0;
  log_kept();
  for (int i = 0; i < NTABLE && n < max; i++) {
    const struct mbt_variant *v = &table[i];
    if (v->op != s->op || !runnable(v) || (v->applicable && !v->applicable(s))) continue;
    int j = n++;
    while (j > 0 && out[j - 1]->rank < v->rank) { /* insertion sort, best rank first */
      out[j] = out[j - 1];
      j--;
    }
    out[j] = v;
  }
  return n;
}

const struct mbt_variant *mbt_registry_find(const char *name, const struct mbt_kshape *s) {
  for (int i = 0; i < NTABLE; i++) {
    const struct mbt_variant *v = &table[i];
    if (strcmp(v->name, name) == 0 && v->op == s->op && runnable(v) &&
        (!v->applicable || v->applicable(s)))
      return v;
  }
  return NULL;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char sig[17];
static void signature_once(void) {
  const char *names[NTABLE];
  for (int i = 0; i < NTABLE; i++) names[i] = table[i].name;
  qsort(names, NTABLE, sizeof names[0], cmp_name);
  uint64_t h = MBT_FNV_INIT;
  for (int i = 0; i < NTABLE; i++) h = mbt_fnv(h, names[i], strlen(names[i]) + 1);
  snprintf(sig, sizeof sig, "%016llx", (unsigned long long)h);
}

const char *mbt_registry_signature(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, signature_once);
  return sig;
}

void mbt_exec_act(struct mbt_exec *x) {
  const enum mbt_kact a = x->s.act;
  x->lo = a == MBT_KACT_RELU6 || a == MBT_KACT_RELU || a == MBT_KACT_HSIGMOID ? 0.0f : -INFINITY;
  x->hi = a == MBT_KACT_RELU6 ? 6.0f : a == MBT_KACT_HSIGMOID ? 1.0f : INFINITY;
  x->post = a == MBT_KACT_HSWISH    ? MBT_POST_HSWISH
            : a == MBT_KACT_SILU    ? MBT_POST_SILU
            : a == MBT_KACT_SIGMOID ? MBT_POST_SIGMOID
                                    : MBT_POST_NONE;
}

int mbt_variant_pack(const struct mbt_variant *v, const struct mbt_kshape *s, const float *w,
                     float **packed) {
  *packed = NULL;
  if (!v->packer) return MBT_OK;
  *packed = mbt_alloc(v->packer->size(s), sizeof(float));
  if (!*packed)
    return mbt_fail(MBT_ENOMEM, "cannot allocate packed weights for %s (%dx%dx%d -> %d)",
                    v->name, s->ih, s->iw, s->ic, s->oc);
  v->packer->pack(s, w, *packed);
  return MBT_OK;
}
