/* machine/isa.c -- the ISA table (machine/isa.h). */
#include "config.h"

#include <string.h>

#include "include/mobitune.h"
#include "machine/isa.h"

#if defined(__aarch64__)
#define SCALAR_PIPES 4 /* the scalar ceilings run on the architecture's FMA pipes */
#else
#define SCALAR_PIPES 2
#endif

static const struct mbt_isa_info table[] = {
    /* bit              name       roof       family     arch           rank lanes base pipes */
    {MBT_ISA_SCALAR,  "scalar",  "scalar",  "scalar",  MBT_ARCH_ANY, 0, 1, 1, SCALAR_PIPES},
    {MBT_ISA_SSE2,    "sse2",    "sse",     NULL,      MBT_ARCH_X86, 1, 4, 1, 2},
    {MBT_ISA_AVX,     "avx",     NULL,      NULL,      MBT_ARCH_X86, 2, 8, 0, 2},
    {MBT_ISA_AVX2,    "avx2",    "avx2",    "avx2",    MBT_ARCH_X86, 3, 8, 0, 2},
    {MBT_ISA_AVX512F, "avx512f", "avx512f", "avx512f", MBT_ARCH_X86, 4, 16, 0, 2},
    {MBT_ISA_NEON,    "neon",    "neon",    "neon",    MBT_ARCH_ARM, 1, 4, 1, 4},
};
#define NTABLE ((int)(sizeof table / sizeof table[0]))

const struct mbt_isa_info *mbt_isa_table(int *n) {
  *n = NTABLE;
  return table;
}

const struct mbt_isa_info *mbt_isa_of_bit(uint32_t bit) {
  for (int i = 0; i < NTABLE; i++)
    if (table[i].bit == bit) return &table[i];
  return NULL;
}

static int same(const char *a, const char *b) { return a && b && !strcmp(a, b); }

const struct mbt_isa_info *mbt_isa_of_name(const char *name) {
  for (int i = 0; i < NTABLE; i++)
    if (same(table[i].name, name) || same(table[i].roof, name) || same(table[i].family, name))
      return &table[i];
  return NULL;
}

const struct mbt_isa_info *mbt_isa_top(uint32_t mask) {
  const struct mbt_isa_info *top = &table[0];
  for (int i = 0; i < NTABLE; i++)
    if ((mask & table[i].bit) && (top->arch == MBT_ARCH_ANY || table[i].rank > top->rank))
      top = &table[i];
  return top;
}

int mbt_isa_reaches(uint32_t code, const struct mbt_isa_info *ceiling) {
  if (!ceiling) return 0;
  if (ceiling->baseline) return 1;
  const struct mbt_isa_info *top = mbt_isa_top(code);
  return top->arch == ceiling->arch && top->rank >= ceiling->rank;
}

double mbt_isa_issue_limit(const struct mbt_isa_info *isa, const char *kernel) {
  return (2.0 * isa->pipes + (same(kernel, "fma+add") ? 2 : 0)) * isa->lanes;
}

const char *mbt_isa_name(uint32_t bit) {
  const struct mbt_isa_info *i = mbt_isa_of_bit(bit);
  return i ? i->name : "?";
}
