/* machine/isa.h -- the instruction sets as data: one table that names each ISA and says what it
 * can do, read by detection, the kernels' families, the roofline's ceilings and their checks,
 * the tuner's bounds and the report (as BLIS keeps its configurations in one registry).  A new
 * ISA is one entry here, its kernel files and one configure check (kernels/README.md). */
#ifndef MBT_ISA_H
#define MBT_ISA_H

#include <stdint.h>

enum mbt_isa_arch { MBT_ARCH_ANY = 0, MBT_ARCH_X86, MBT_ARCH_ARM };

struct mbt_isa_info {
  uint32_t bit;        /* MBT_ISA_* */
  const char *name;    /* the mask's name ("sse2"): MBT_ISA, features, plan headers */
  const char *roof;    /* the name of its roofline ceilings ("sse"); NULL: it has none */
  const char *family;  /* the kernel family ("avx2": variants named "...__avx2"); NULL: none */
  int arch;            /* enum mbt_isa_arch: code of one architecture never runs on another */
  int rank;            /* width order within an architecture: a wider ISA runs narrower code */
  int lanes;           /* fp32 lanes per vector */
  int baseline;        /* 1: every build for its architecture has it, so plain C may be
                          vectorized to it by the compiler */
  int pipes;           /* FMA pipes per core (or multiplier + adder pairs) the issue limit
                          assumes: two on x86-64 cores so far, four on Arm (Apple's) */
};

/* The table, narrow to wide (x86 before Arm), @p n entries. */
const struct mbt_isa_info *mbt_isa_table(int *n);
/* The entry of one ISA bit, or NULL. */
const struct mbt_isa_info *mbt_isa_of_bit(uint32_t bit);
/* The entry whose mask, ceiling or family name is @p name, or NULL. */
const struct mbt_isa_info *mbt_isa_of_name(const char *name);
/* The widest ISA in @p mask (the scalar entry when it has none). */
const struct mbt_isa_info *mbt_isa_top(uint32_t mask);
/* 1 when code built for ISA mask @p code can run at the ceilings of ISA @p ceiling (its own
 * ISA, the narrower ones of its architecture, and the baseline the compiler vectorizes to). */
int mbt_isa_reaches(uint32_t code, const struct mbt_isa_info *ceiling);
/* The most FLOPs per cycle one core can issue with @p isa's @p kernel ("fma", "mul+add" or
 * "fma+add": the mixed kernel adds two adders). */
double mbt_isa_issue_limit(const struct mbt_isa_info *isa, const char *kernel);

/* @return the ISA name of one bit ("avx2", ...; "?" for a bit not in the table). */
const char *mbt_isa_name(uint32_t bit);

#endif
