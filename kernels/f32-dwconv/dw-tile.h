/* kernels/f32-dwconv/dw-tile.h -- the tiled depthwise KxK kernel (stride S, any padding below
 * K before the map, what the output size leaves after it), written once for every SIMD ISA.
 * A register tile of R output rows x T output pixels x one channel vector: each input vector
 * loaded for the tile feeds every output pixel, row and tap that uses it, so a tile loads
 * ((R-1)S + K) x ((T-1)S + K) input vectors for R T K K FMAs (R = 1, T = 4 at 3x3 stride 1:
 * 18 loads for 36 FMAs; R = 2, T = 4: 24 for 72).  With WRES the tile's K K weights are loaded
 * into registers once; without, each input row loads the weight rows it needs.
 *
 * Order: channel blocks of e->mc channels (0 = all) outermost; within one, R rows at a time,
 * tile by tile along the rows, and every channel vector of the block within a tile.  With all
 * channels each input cache line is used up while it is in L1 (wide maps of few channels);
 * with a block, the input rows of the block stay in L1 from one tile row to the next.
 *
 * Padding: a tile whose input columns all lie inside the map, with R full rows and T pixels,
 * runs with constant offsets and no tests; any other tile tests each input column and row and
 * neither loads nor adds the ones in the padding, and stores only its rows below r1 and its
 * pixels inside the row (reading no input row that only the rows past r1 need).  With same
 * padding ((K-1)/2, as MobileNets pad) an edge tile that reads exactly the padding on its left
 * or right knows those columns at compile time; with another padding (TensorFlow's SAME at
 * stride 2 pads 0 before and 1 after) edge tiles test their columns.  Channel remainders use
 * masked loads and stores, so nothing is read or written past any buffer; a remainder vector
 * runs with its tile's own case (whole, or edge columns known at compile time), not the tested
 * one (56x56x72 3x3, 2x7 tile: 42.4 us against 46.7 when its fifth vector of each tile tested
 * every column).  Threads may split output rows (r0, r1) or channel vectors
 * (cpart/cparts).
 *
 * The including kernel file defines first:
 *   DWT_V, DWT_LANES, DWT_MASK       vector type, floats per vector, channel-tail mask type
 *   DWT_TAIL(n)                      mask of the first n lanes (0 < n < DWT_LANES)
 *   DWT_LD(p, full, m)               load (masked unless full)
 *   DWT_FMA(a, b, c)                 a b + c
 *   DWT_ZERO()                       a vector of zeros
 *   DWT_STORE(e, o, v, full, m)      epilogue (clamp, hard-swish, residual) and store at out + o
 * then instantiates DWT_KERNEL(K, S, R, T, WRES, FN). */
#ifndef MBT_DW_TILE_H
#define MBT_DW_TILE_H

#include "kernels/kernels.h"

#define DWT_AI static inline __attribute__((always_inline))
/* An empty asm that claims to change v, so the compiler keeps one loaded input vector in a
 * register rather than folding the load into every FMA that uses it. */
#if defined(__aarch64__)
#define DWT_KEEP(v) __asm__("" : "+w"(v))
#else
#define DWT_KEEP(v) __asm__("" : "+v"(v))
#endif
/* The same for an offset the tile steps through its rows, columns, taps and outputs: one add
 * per step.  Left to itself the compiler hoists every tap's and column's offset (j xc, t c)
 * out of the tile loops, keeps the 25-40 of them on the stack and loads one before each vector
 * load (5x5, AVX2: 65 scalar loads a tile beside 65 vector loads and 100 FMAs). */
#define DWT_STEP(i, d)                                                                         \
  do {                                                                                         \
    (i) += (d);                                                                                \
    __asm__("" : "+r"(i));                                                                   \
  } while (0)

/* R x T outputs at (oy, ox) of channel vector c0; nr rows and np pixels of them are stored.
 * edge = 0 promises a tile with nr = R, np = T whose inputs lie inside the map except, where
 * the compile-time mask SK says so, exactly the same padding ((K-1)/2 columns) on its left (1)
 * or right (2): those columns are skipped with no test at run time; with SK & 4 its input rows
 * outside the map (top or bottom padding) are skipped by one test per row. */
DWT_AI void dwt_tile(const struct mbt_exec *e, int oy, int ox, int c0, int full, DWT_MASK m,
                     int nr, int np, const int edge, const int K, const int S, const int R,
                     const int T, const int WRES, const int SK) {
  const struct mbt_kshape *l = &e->s;
  const size_t c = (size_t)l->ic;
  const int W = l->iw, H = l->ih, P = l->pad, SP = (K - 1) / 2;
  const int ix0 = ox * S - P, iy0 = oy * S - P;
  const DWT_V bias = e->b ? DWT_LD(e->b + c0, full, m) : DWT_ZERO();
  DWT_V acc[32], w[25], wl[25];
#pragma GCC unroll 32
  for (int i = 0; i < R * T; i++) acc[i] = bias;
  if (WRES) {
    size_t wo = (size_t)c0;
#pragma GCC unroll 25
    for (int t = 0; t < K * K; t++) {
      w[t] = DWT_LD(e->w + wo, full, m);
      DWT_STEP(wo, c);
    }
  }
  /* input pixel and row strides; the offset of the tile's first column in each row (signed:
   * an edge tile's first columns lie left of the map, and are not read) */
  const ptrdiff_t xc = e->ldi ? (ptrdiff_t)e->ldi : (ptrdiff_t)c, col0 = (ptrdiff_t)ix0 * xc;
  const ptrdiff_t rs = (ptrdiff_t)W * xc;
  const float *in0 = e->in + c0;
  ptrdiff_t ro = (ptrdiff_t)(iy0 - e->irow0 - 1) * rs; /* row iy0 + i - 1's offset */
#pragma GCC unroll 8
  for (int i = 0; i < (R - 1) * S + K; i++) { /* input row iy0 + i */
    DWT_STEP(ro, rs);
    /* (an edge tile reads no row only its unstored rows need: a window may end before it) */
    if (edge && (iy0 + i < 0 || iy0 + i >= H || i >= (nr - 1) * S + K)) continue;
    if ((SK & 4) && (iy0 + i < 0 || iy0 + i >= H)) continue;
    const float *x = in0 + ro;
    if (!WRES) { /* the weight rows this input row meets: ky = i - r S for output row r */
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) {
        if (i - r * S < 0 || i - r * S >= K) continue;
        size_t wo = (size_t)(i - r * S) * K * c + (size_t)c0;
#pragma GCC unroll 5
        for (int kx = 0; kx < K; kx++) {
          wl[r * K + kx] = DWT_LD(e->w + wo, full, m);
          DWT_STEP(wo, c);
        }
      }
    }
    ptrdiff_t xo = col0 - xc; /* column ix0 + j - 1's offset */
#pragma GCC unroll 24
    for (int j = 0; j < (T - 1) * S + K; j++) { /* input column ix0 + j */
      DWT_STEP(xo, xc);
      if (edge && (ix0 + j < 0 || ix0 + j >= W)) continue;
      if (((SK & 1) && j < SP) || ((SK & 2) && j >= (T - 1) * S + K - SP)) continue;
      DWT_V v = DWT_LD(x + xo, full, m);
      DWT_KEEP(v); /* one load into a register, not one memory operand per use */
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) {
        const int ky = i - r * S;
        if (ky < 0 || ky >= K) continue;
#pragma GCC unroll 16
        for (int p = 0; p < T; p++) {
          const int kx = j - p * S;
          if (kx < 0 || kx >= K) continue;
          acc[r * T + p] = DWT_FMA(v, WRES ? w[ky * K + kx] : wl[r * K + kx], acc[r * T + p]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) {
    if (edge && r >= nr) break;
    size_t o = ((size_t)(oy + r - e->orow0) * (size_t)l->ow + (size_t)ox) * c + (size_t)c0;
#pragma GCC unroll 16
    for (int p = 0; p < T; p++) {
      if (!edge || p < np) DWT_STORE(e, o, acc[r * T + p], full, m);
      DWT_STEP(o, c);
    }
  }
}

/* One run of tiles along a tile row, all of one case: the tiles at ox0, ox0 + T, ... below
 * ox1 of output rows oy.. (nr of them), every channel vector of [cc, ce) in each.  CASE 0-7 is
 * the SK of whole tiles (0: inside the map), 8 edge tiles tested at run time.  Each case of each
 * kernel is a function of its own (DWT_CASE): one function holding all nine cases' unrolled
 * tiles took the compiler minutes (its register allocation grows faster than the code), and a
 * call per run of tiles costs nothing beside the run's FMAs.  The run works on a copy of the
 * problem in a local: through the caller's pointer every field (lo and hi are floats, and the
 * struct holds them) counted as one the output stores might change, so each store reloaded
 * the bounds, post, res and out, and each input row its base and strides (alone, AVX2 on a
 * Zen 3: 0.70-0.91x the time over V1's and V3's 3x3 and 5x5 shapes, 31 interleaved rounds). */
DWT_AI void dwt_run(const struct mbt_exec *e, int oy, int nr, int ox0, int ox1, int cc, int ce,
                    DWT_MASK m, const int K, const int S, const int R, const int T,
                    const int WRES, const int CASE) {
  const struct mbt_exec ec = *e;
  const int ow = ec.s.ow;
  for (int ox = ox0; ox < ox1; ox += T) {
    int c0 = cc;
    if (CASE < 8) {
      for (; c0 + DWT_LANES <= ce; c0 += DWT_LANES)
        dwt_tile(&ec, oy, ox, c0, 1, m, R, T, 0, K, S, R, T, WRES, CASE);
      if (c0 < ce) dwt_tile(&ec, oy, ox, c0, 0, m, R, T, 0, K, S, R, T, WRES, CASE);
    } else {
      const int np = ow - ox < T ? ow - ox : T;
      for (; c0 + DWT_LANES <= ce; c0 += DWT_LANES)
        dwt_tile(&ec, oy, ox, c0, 1, m, nr, np, 1, K, S, R, T, WRES, 0);
      if (c0 < ce) dwt_tile(&ec, oy, ox, c0, 0, m, nr, np, 1, K, S, R, T, WRES, 0);
    }
  }
}

typedef void (*dwt_run_fn)(const struct mbt_exec *e, int oy, int nr, int ox0, int ox1, int cc,
                           int ce, DWT_MASK m);

DWT_AI void dwt_rows(const struct mbt_exec *e, int r0, int r1, const int K, const int S,
                     const int R, const int T, const dwt_run_fn *run) {
  const struct mbt_kshape *l = &e->s;
  const int ow = l->ow, W = l->iw, H = l->ih, P = l->pad, same = P == (K - 1) / 2;
  /* this call's share of the channel vectors (threads may split channels) */
  const int nblk = (l->ic + DWT_LANES - 1) / DWT_LANES, parts = e->cparts > 1 ? e->cparts : 1;
  const int cb = nblk * e->cpart / parts * DWT_LANES;
  const int ce0 = nblk * (e->cpart + 1) / parts * DWT_LANES, cend = ce0 < l->ic ? ce0 : l->ic;
  const int chunk = e->mc > 0 ? e->mc : l->ic;
  const DWT_MASK m = DWT_TAIL(cend % DWT_LANES ? cend % DWT_LANES : 1);
  for (int cc = cb; cc < cend; cc += chunk) {
    const int ce = cc + chunk < cend ? cc + chunk : cend;
    for (int oy = r0; oy < r1; oy += R) {
      const int nr = r1 - oy < R ? r1 - oy : R, iy0 = oy * S - P;
      const int rows_in = nr == R && iy0 >= 0 && iy0 + (R - 1) * S + K <= H;
      int kind = -1, start = 0; /* the run of tiles of one case met so far */
      for (int ox = 0; ox < ow; ox += T) {
        const int np = ow - ox < T ? ow - ox : T, ix0 = ox * S - P;
        /* columns and rows past each side of the map (0 inside) */
        const int lc = ix0 < 0 ? -ix0 : 0, rc = ix0 + (T - 1) * S + K - W;
        int k = 8; /* an edge tile, tested at run time */
        if (rows_in && np == T && ix0 >= 0 && rc <= 0)
          k = 0;
        else if (same && nr == R && np == T && (lc == 0 || lc == P) && (rc <= 0 || rc == P))
          /* a whole tile that reads exactly the padding on its left or right, and maybe rows
           * outside the map: the columns known at compile time, the rows tested (on maps of
           * 7 x 2^k pixels, with T = 7 every edge tile is one) */
          k = (lc > 0) | (rc > 0) << 1 | !rows_in << 2;
        if (k != kind) {
          if (kind >= 0) run[kind](e, oy, nr, start, ox, cc, ce, m);
          kind = k, start = ox;
        }
      }
      if (kind >= 0) run[kind](e, oy, nr, start, ow, cc, ce, m);
    }
  }
}

#define DWT_CASE(FN, K, S, R, T, WRES, k)                                                      \
  static __attribute__((noinline)) void FN##_run##k(const struct mbt_exec *e, int oy, int nr,  \
                                                    int ox0, int ox1, int cc, int ce,          \
                                                    DWT_MASK m) {                              \
    dwt_run(e, oy, nr, ox0, ox1, cc, ce, m, K, S, R, T, WRES, k);                              \
  }
#define DWT_KERNEL(K, S, R, T, WRES, FN)                                                       \
  DWT_CASE(FN, K, S, R, T, WRES, 0) DWT_CASE(FN, K, S, R, T, WRES, 1)                         \
  DWT_CASE(FN, K, S, R, T, WRES, 2) DWT_CASE(FN, K, S, R, T, WRES, 3)                         \
  DWT_CASE(FN, K, S, R, T, WRES, 4) DWT_CASE(FN, K, S, R, T, WRES, 5)                         \
  DWT_CASE(FN, K, S, R, T, WRES, 6) DWT_CASE(FN, K, S, R, T, WRES, 7)                         \
  DWT_CASE(FN, K, S, R, T, WRES, 8)                                                            \
  void FN(const struct mbt_exec *e, int r0, int r1) {                                          \
    static const dwt_run_fn run[9] = {FN##_run0, FN##_run1, FN##_run2, FN##_run3, FN##_run4,   \
                                      FN##_run5, FN##_run6, FN##_run7, FN##_run8};             \
    dwt_rows(e, r0, r1, K, S, R, T, run);                                                      \
  }

#endif
