/* roofline/roof-tmpl.h -- the ceiling micro-kernels, written once for every instruction set
 * (as LIKWID's .ptt kernels are generated from one description).  The including file defines:
 *   RV, RL            vector type and floats per vector (1 for scalar)
 *   RSET1(x)          broadcast
 *   RFMA(a, b, c)     a b + c (a fused FMA, or a multiply then an add where there is none)
 *   RADD(a, b), RMUL(a, b)
 *   RLOAD(p), RSTORE(p, v)   aligned vector load and store
 *   RLANE0(v)         the first lane as a float
 *   RREGS             architectural vector registers (16 or 32)
 * then instantiates MBT_ROOF_ISA(sym, "name", isa_bit, has_fma).
 *
 * Compute: C independent chains a = a m + c hide the FMA latency when C >= latency x pipes;
 * every C the registers allow is instantiated and the driver keeps the fastest, and a single
 * dependent chain measures the latency itself.  The mix interleaves F FMA chains with A add
 * chains, for cores whose adders are separate pipes.  Bandwidth: read (8 independent sums),
 * write (stores of a constant), copy (a = b), triad (a = b + s c), n a multiple of 128 floats,
 * arrays 64-byte aligned. */
#ifndef MBT_ROOF_TMPL_H
#define MBT_ROOF_TMPL_H

#include "roofline/roofline.h"

#define ROOF_CHAINS(NAME, C)                                                                   \
  static float NAME(long iters) {                                                              \
    RV a[C];                                                                                   \
    _Pragma("GCC unroll 32") for (int j = 0; j < C; j++) a[j] = RSET1(1.0f + 1e-3f * (float)j); \
    const RV m = RSET1(0.999999f), c = RSET1(1e-7f);                                           \
    for (long i = 0; i < iters; i++) {                                                         \
      _Pragma("GCC unroll 32") for (int j = 0; j < C; j++) a[j] = RFMA(a[j], m, c);           \
    }                                                                                          \
    RV s = a[0];                                                                               \
    for (int j = 1; j < C; j++) s = RADD(s, a[j]);                                             \
    return RLANE0(s);                                                                          \
  }

#define ROOF_MIX(NAME, F, A)                                                                   \
  static float NAME(long iters) {                                                              \
    RV a[F], b[A];                                                                             \
    _Pragma("GCC unroll 32") for (int j = 0; j < F; j++) a[j] = RSET1(1.0f + 1e-3f * (float)j); \
    _Pragma("GCC unroll 32") for (int j = 0; j < A; j++) b[j] = RSET1(1e-3f * (float)j);      \
    const RV m = RSET1(0.999999f), c = RSET1(1e-7f);                                           \
    for (long i = 0; i < iters; i++) {                                                         \
      _Pragma("GCC unroll 32") for (int j = 0; j < F || j < A; j++) {                          \
        if (j < F) a[j] = RFMA(a[j], m, c);                                                    \
        if (j < A) b[j] = RADD(b[j], c);                                                       \
      }                                                                                        \
    }                                                                                          \
    RV s = a[0];                                                                               \
    for (int j = 1; j < F; j++) s = RADD(s, a[j]);                                             \
    for (int j = 0; j < A; j++) s = RADD(s, b[j]);                                             \
    return RLANE0(s);                                                                          \
  }

/* 8 dependent FMAs per iteration: ns per iteration / 8 = the latency. */
static float roof_latency(long iters) {
  RV a = RSET1(1.0f);
  const RV m = RSET1(0.999999f), c = RSET1(1e-7f);
  for (long i = 0; i < iters; i++) {
    _Pragma("GCC unroll 8") for (int j = 0; j < 8; j++) a = RFMA(a, m, c);
  }
  return RLANE0(a);
}

static float roof_read(float *const *arr, size_t n, long passes) {
  const float *x = arr[0];
  RV s[8];
  _Pragma("GCC unroll 8") for (int j = 0; j < 8; j++) s[j] = RSET1(0.0f);
  for (long p = 0; p < passes; p++) {
    for (size_t i = 0; i < n; i += 8 * RL) {
      _Pragma("GCC unroll 8") for (int j = 0; j < 8; j++) s[j] = RADD(s[j], RLOAD(x + i + (size_t)j * RL));
    } /* (no barrier: the sums carry from pass to pass, so no pass can be dropped) */
  }
  for (int j = 1; j < 8; j++) s[0] = RADD(s[0], s[j]);
  return RLANE0(s[0]);
}

static float roof_write(float *const *arr, size_t n, long passes) {
  float *x = arr[0];
  for (long p = 0; p < passes; p++) {
    const RV v = RSET1((float)p);
    for (size_t i = 0; i < n; i += 8 * RL) {
      _Pragma("GCC unroll 8") for (int j = 0; j < 8; j++) RSTORE(x + i + (size_t)j * RL, v);
    }
    __asm__ volatile("" ::: "memory");
  }
  return x[n - 1];
}

static float roof_copy(float *const *arr, size_t n, long passes) {
  float *x = arr[0];
  const float *y = arr[1];
  for (long p = 0; p < passes; p++) {
    for (size_t i = 0; i < n; i += 8 * RL) {
      _Pragma("GCC unroll 8") for (int j = 0; j < 8; j++) RSTORE(x + i + (size_t)j * RL, RLOAD(y + i + (size_t)j * RL));
    }
    __asm__ volatile("" ::: "memory");
  }
  return x[n - 1];
}

static float roof_triad(float *const *arr, size_t n, long passes) {
  float *x = arr[0];
  const float *y = arr[1], *z = arr[2];
  const RV s = RSET1(0.5f);
  for (long p = 0; p < passes; p++) {
    for (size_t i = 0; i < n; i += 8 * RL) {
      _Pragma("GCC unroll 8") for (int j = 0; j < 8; j++) {
        const size_t k = i + (size_t)j * RL;
        RSTORE(x + k, RFMA(RLOAD(z + k), s, RLOAD(y + k)));
      }
    }
    __asm__ volatile("" ::: "memory");
  }
  return x[n - 1];
}

ROOF_CHAINS(roof_c4, 4)
ROOF_CHAINS(roof_c8, 8)
ROOF_CHAINS(roof_c12, 12)
#if RREGS >= 32
ROOF_CHAINS(roof_c16, 16)
ROOF_CHAINS(roof_c24, 24)
ROOF_CHAINS(roof_c28, 28)
ROOF_MIX(roof_mix, 12, 12)
#define ROOF_CHAIN_LIST {4, 8, 12, 16, 24, 28}, {roof_c4, roof_c8, roof_c12, roof_c16, roof_c24, roof_c28}, 6
#define ROOF_MIX_ARGS 12, 12, roof_mix
#else
ROOF_CHAINS(roof_c14, 14)
ROOF_MIX(roof_mix, 8, 6)
#define ROOF_CHAIN_LIST {4, 8, 12, 14}, {roof_c4, roof_c8, roof_c12, roof_c14}, 4
#define ROOF_MIX_ARGS 8, 6, roof_mix
#endif

#define MBT_ROOF_ISA(SYM, NAME, BIT, HAS_FMA)                                                  \
  const struct mbt_roof_isa SYM = {NAME, BIT, RL, HAS_FMA, ROOF_CHAIN_LIST, roof_latency,      \
                                   ROOF_MIX_ARGS,                                              \
                                   {roof_read, roof_write, roof_copy, roof_triad}};

#endif
