/* kernels/f32-pwconv/pw-tile.h -- the packed pointwise register tile, written once for every
 * SIMD ISA, and its tiled driver (kernels/drivers/pw-tiled.h).  An mr x (LANES nv) tile of
 * C = A W over kc reduction steps: per step, nv aligned vectors of the packed weight panel (nb
 * vectors wide: nv is less on a last panel with fewer channels) and one broadcast of each of the
 * mr pixels' inputs feed mr nv FMAs into accumulators that stay in registers (mr, nv and nb are
 * constants after inlining).  The first KC block starts from
 * the bias, later ones from the partial sums in C; the last one clamps, applies hard-swish and
 * adds the residual.  (Adding the bias at the end cost V2's 112x112 16 -> 96 expand layer, a
 * 16-step reduction, 3-4%; skipping the clamp's infinite bounds by tests made it 11% slower.)
 * Fewer channels than LANES nv use masked loads and stores, so nothing is read or written past
 * any buffer.
 *
 * The including kernel file defines first:
 *   PWT_V, PWT_LANES, PWT_MASK    vector type, floats per vector, channel-tail mask type
 *   PWT_MR                        the tallest tile's rows (the accumulator array's)
 *   PWT_TAIL(n)                   mask of the first n lanes (any n: at most 0 or LANES)
 *   PWT_LD(p, full, m)            load C (masked unless full)
 *   PWT_ST(p, v, full, m)         store C (masked unless full)
 *   PWT_LDM(p, m)                 masked load (bias, residual)
 *   PWT_LDA(p)                    aligned load (the packed weights)
 *   PWT_BCAST(p)                  *p in every lane
 *   PWT_SET1(x), PWT_ZERO(), PWT_ADD(a, b), PWT_MUL(a, b), PWT_MIN(a, b), PWT_MAX(a, b),
 *   PWT_FMA(a, b, c)              a b + c
 * then instantiates MBT_PW_TILED(MR, NV, FN, MBT_PW_CASES_<MR>) (MR <= PWT_MR, NV <= 4). */
#ifndef MBT_PW_TILE_H
#define MBT_PW_TILE_H

#include "kernels/kernels.h"

struct epi {
  const float *bias, *res;
  PWT_V lo, hi;
  size_t ldres;
  int post;
  const float *pf; /* lines to fetch into L2, one every reduction step: pf + 16 k, k < npf */
  size_t npf;
  const float *ah; /* and this tile's share of the lines ahead (struct mbt_exec's): ah + 16 k, */
  size_t nah;      /* k < nah */
};

/* The loops' unroll counts are literals (GCC does not expand macros in the pragma): 12 covers
 * every ISA's PWT_MR, and a loop with a constant trip count below it is unrolled whole. */
static inline __attribute__((always_inline)) void tile(const int mr, const int nv, const int nb,
                                                       size_t kc,
                                                       const float *restrict a, size_t lda,
                                                       const float *restrict bp,
                                                       float *restrict c, size_t ldc,
                                                       int ncols, int first, int last,
                                                       const struct epi *ep) {
  PWT_V acc[PWT_MR][4];
  PWT_MASK m[4];
  const int full = ncols == PWT_LANES * nv;
#pragma GCC unroll 4
  for (int j = 0; j < nv; j++) m[j] = PWT_TAIL(ncols - PWT_LANES * j);
  if (first) { /* the bias starts the sums (later KC blocks go on from C) */
    PWT_V b0[4];
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++)
      b0[j] = ep->bias ? PWT_LDM(ep->bias + PWT_LANES * j, m[j]) : PWT_ZERO();
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
      for (int j = 0; j < nv; j++) acc[i][j] = b0[j];
  } else {
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
      for (int j = 0; j < nv; j++) acc[i][j] = PWT_LD(c + i * ldc + PWT_LANES * j, full, m[j]);
  }
  /* The steps that fetch lines ahead first, then the rest without the tests. */
  size_t kp = ep->npf > ep->nah ? ep->npf : ep->nah;
  if (kp > kc) kp = kc;
#define PWT_STEP(k)                                                                            \
  do {                                                                                         \
    PWT_V b[4];                                                                                \
    _Pragma("GCC unroll 4") for (int j = 0; j < nv; j++)                                       \
      b[j] = PWT_LDA(bp + (k) * PWT_LANES * nb + PWT_LANES * j);                               \
    _Pragma("GCC unroll 12") for (int i = 0; i < mr; i++) {                                    \
      const PWT_V x = PWT_BCAST(a + i * lda + (k));                                            \
      _Pragma("GCC unroll 4") for (int j = 0; j < nv; j++) acc[i][j] =                         \
          PWT_FMA(x, b[j], acc[i][j]);                                                         \
    }                                                                                          \
  } while (0)
  for (size_t k = 0; k < kp; k++) {
    if (k < ep->npf) __builtin_prefetch(ep->pf + 16 * k, 0, 2);
    if (k < ep->nah) __builtin_prefetch(ep->ah + 16 * k, 0, 2);
    PWT_STEP(k);
  }
  for (size_t k = kp; k < kc; k++) PWT_STEP(k);
#undef PWT_STEP
  if (last) {
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++) {
#pragma GCC unroll 12
      for (int i = 0; i < mr; i++) {
        PWT_V v = PWT_MIN(PWT_MAX(acc[i][j], ep->lo), ep->hi);
        if (ep->post) v = PWT_POST(v, ep->post);
        if (ep->res) v = PWT_ADD(v, PWT_LDM(ep->res + i * ep->ldres + PWT_LANES * j, m[j]));
        acc[i][j] = v;
      }
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++) PWT_ST(c + i * ldc + PWT_LANES * j, acc[i][j], full, m[j]);
}

#define MBT_PW_LANES PWT_LANES
#define MBT_PW_EPI(e, n0, p, ldc)                                                              \
  {(e)->b ? (e)->b + (n0) : NULL, (e)->res ? (e)->res + (p) * (ldc) + (n0) : NULL,              \
   PWT_SET1((e)->lo), PWT_SET1((e)->hi), (ldc), (e)->post, NULL, 0, NULL, 0}
#include "kernels/drivers/pw-tiled.h"

#endif
