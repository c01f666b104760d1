/* Full KxK convolution (the stem: few input channels), direct, AVX-512F: a register tile of 14
 * output pixels x 16 output channels (14 accumulators), two 16-channel panels at a time where
 * the call has two (28 accumulators: V1's and V2's 32-channel stems), one for the 16-channel
 * stems of the V3 networks, where a 32-channel tile would compute half zeros.  Every (ky, kx,
 * ci) tap loads one weight vector per panel and broadcasts each of the 14 pixels' input values
 * once for both (no im2col copy); on one panel at 3x3 stride 2, a broadcast also serves the
 * next pixel's tap two columns on (taps_k3s2c3).  14 pixels divide the 112-, 56- and 28-pixel
 * rows of the stems at 224 and 112: on V3's 224 -> 112x112x16 stem 14 took 0.90x the time of
 * 12, whose row ended in a tile of 4 pixels computed as 12.  Whole tiles whose taps are all
 * inside the input take the fast path; an edge tile (padding, or a row's last pixels) copies
 * what it reads into a zero-padded patch and takes the same path on it.  Channel tails use a
 * k-mask, so nothing is read or written past any buffer.  Honours cpart/cparts (16-channel
 * panels) and orow0. */
#include "config.h"

#include <immintrin.h>
#include <string.h>

#include "kernels/avx512-common.h"
#include "kernels/kernels.h"

#define NR 16
#define MR 14

#define AI static inline __attribute__((always_inline))

static size_t conv_size(const struct mbt_kshape *l) { return mbt_conv_pack_size(l, NR); }
static void conv_pack(const struct mbt_kshape *l, const float *w, float *dst) {
  mbt_conv_pack(l, w, dst, NR);
}

const struct mbt_packer mbt_pack_f32_conv_nr16__avx512f = {conv_size, conv_pack, NR, NULL};

/* The taps of a tile whose every tap is inside the input, on @p np panels (1 or 2, a constant)
 * @p pk floats apart from @p b.  In NHWC the k x ic taps (kx, ci) of one kernel row are @p ki
 * consecutive floats, so the tile walks @p k rows @p rs floats apart and reads pixel p of tap j
 * at row[j + p ps].  The callers pass ki and ps as constants where they can (the RGB stems:
 * ki = 9, ps = 6 or 3): every read is then a displacement from one row pointer.  Through a table
 * of tap offsets each read had taken an index register as well (in0 + off[t] + p ps): the
 * network of V3's stem alone (the stem, a pool and a small classifier) ran 0.92-1.00x as long
 * without it, median 0.94, in 6 interleaved rounds.  With j unrolled, GCC shared the
 * broadcasts of taps that read one value (kx and kx + s at stride s) and spilled them to the
 * stack: 1.4x slower. */
AI void taps_inside(__m512 acc[2][MR], const int np, const float *row, size_t rs, int k,
                    const int ki, const size_t ps, const float *b, size_t pk) {
  for (int ky = 0; ky < k; ky++, row += rs) {
    const float *x = row;
#pragma GCC unroll 1
    for (int j = 0; j < ki; j++, b += NR, x++) {
      const __m512 w0 = _mm512_load_ps(b), w1 = np > 1 ? _mm512_load_ps(b + pk) : w0;
#pragma GCC unroll 14
      for (int p = 0; p < MR; p++) {
        const __m512 v = _mm512_set1_ps(x[(size_t)p * ps]);
        acc[0][p] = _mm512_fmadd_ps(v, w0, acc[0][p]);
        if (np > 1) acc[1][p] = _mm512_fmadd_ps(v, w1, acc[1][p]);
      }
    }
  }
}

/* The 3x3 stride-2 RGB stem on one panel (V3's 16 channels): pixel p's taps kx = 0, 1, 2 read
 * columns 2p, 2p + 1 and 2p + 2, so a tile's 14 pixels read 29 columns and pixel p's kx = 2
 * is pixel p + 1's kx = 0.  Each column is broadcast once and feeds both: 29 broadcasts for 42
 * FMAs per (ky, ci), where taps_inside folds one broadcast into each FMA.  The sums of a
 * pixel take its taps in the order (ky, ci, kx).  V3's 224 -> 112x112x16 stem (hard-swish)
 * took 87-91 us against 99-102 before this and the row walk above, in 3 interleaved pairs. */
AI void taps_k3s2c3(__m512 acc[MR], const float *row, size_t rs, const float *b) {
  for (int ky = 0; ky < 3; ky++, row += rs, b += 9 * NR) {
#pragma GCC unroll 1
    for (int ci = 0; ci < 3; ci++) {
      const __m512 w0 = _mm512_load_ps(b + (size_t)ci * NR);
      const __m512 w1 = _mm512_load_ps(b + (size_t)(3 + ci) * NR);
      const __m512 w2 = _mm512_load_ps(b + (size_t)(6 + ci) * NR);
      const float *x = row + ci;
#pragma GCC unroll 29
      for (int c = 0; c < 2 * MR + 1; c++) {
        const __m512 v = _mm512_set1_ps(x[(size_t)c * 3]);
        if (c % 2) {
          acc[c / 2] = _mm512_fmadd_ps(v, w1, acc[c / 2]);
        } else {
          if (c >= 2) acc[c / 2 - 1] = _mm512_fmadd_ps(v, w2, acc[c / 2 - 1]);
          if (c / 2 < MR) acc[c / 2] = _mm512_fmadd_ps(v, w0, acc[c / 2]);
        }
      }
    }
  }
}

/* The taps of a tile: taps_k3s2c3 for a 3x3 stride-2 RGB stem on one panel, else
 * taps_inside, with ki and ps as constants for the RGB stems at stride 2 and 1. */
AI void taps(__m512 acc[2][MR], const int np, const float *row, size_t rs,
             const struct mbt_kshape *l, const float *b, size_t pk) {
  const int ki = l->k * l->ic;
  const size_t ps = (size_t)l->stride * (size_t)l->ic;
  if (np == 1 && ki == 9 && ps == 6 && l->k == 3)
    taps_k3s2c3(acc[0], row, rs, b);
  else if (ki == 9 && ps == 6)
    taps_inside(acc, np, row, rs, 3, 9, 6, b, pk);
  else if (ki == 9 && ps == 3)
    taps_inside(acc, np, row, rs, 3, 9, 3, b, pk);
  else
    taps_inside(acc, np, row, rs, l->k, ki, ps, b, pk);
}

/* An edge tile's input as a zero-padded patch: the k rows x ((MR - 1) s + k) columns x ic that
 * a whole tile of MR pixels reads, with zeros where a tap falls in the padding or past the row,
 * so that the edge tile runs taps_inside on it (see tile()).  On V3's stem that took 0.87x the
 * time of reading zeros tap by tap through per-pixel pointers (24% of the samples had gone to
 * the edge tiles).  A problem whose patch would pass PATCH_MAX floats (at k = 7 and 16 input
 * channels, a stride over 5) is left to the other variants (conv14_applicable). */
#define PATCH_MAX 8192

static size_t patch_cols(const struct mbt_kshape *l) { return (size_t)(MR - 1) * l->stride + l->k; }

int mbt_conv14_applicable(const struct mbt_kshape *l) {
  return mbt_conv_direct_applicable(l) && l->stride >= 1 &&
         (size_t)l->k * patch_cols(l) * (size_t)l->ic <= PATCH_MAX;
}

static void fill_patch(const struct mbt_exec *e, int iy0, int ix0, int npx, float *pt) {
  const struct mbt_kshape *l = &e->s;
  const int pw = (int)patch_cols(l), ic = l->ic;
  const int used = (npx - 1) * l->stride + l->k; /* columns the stored pixels read */
  const int xa = ix0 < 0 ? 0 : ix0, xe = ix0 + used < l->iw ? ix0 + used : l->iw;
  for (int ky = 0; ky < l->k; ky++) {
    float *row = pt + (size_t)ky * pw * ic;
    const int iy = iy0 + ky;
    if (iy < 0 || iy >= l->ih || xe <= xa) {
      memset(row, 0, (size_t)pw * ic * sizeof(float));
      continue;
    }
    const size_t lead = (size_t)(xa - ix0) * ic, n = (size_t)(xe - xa) * ic;
    memset(row, 0, lead * sizeof(float));
    memcpy(row + lead, e->in + ((size_t)iy * l->iw + xa) * ic, n * sizeof(float));
    memset(row + lead + n, 0, ((size_t)pw * ic - lead - n) * sizeof(float));
  }
}

/* The bias of panel @p j (the accumulators start from it). */
AI __m512 panel_bias(const struct mbt_exec *e, size_t j) {
  const int n0 = (int)j * NR;
  return e->b ? _mm512_maskz_loadu_ps(mbt_mask16(e->s.oc - n0), e->b + n0) : _mm512_setzero_ps();
}

/* Clamp, the epilogue function @p post (a constant: branching on it per pixel took a tenth of
 * the 16-channel stem's time) and the stores of one panel's @p npx pixels. */
AI void store_panel(const struct mbt_exec *e, const __m512 acc[MR], int oy, int ox, int npx,
                    size_t j, const int post) {
  const struct mbt_kshape *l = &e->s;
  const __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
  const int n0 = (int)j * NR;
  const __mmask16 m = mbt_mask16(l->oc - n0);
  float *o = e->out + ((size_t)(oy - e->orow0) * l->ow + ox) * l->oc + n0;
#pragma GCC unroll 14
  for (int p = 0; p < MR; p++) { /* a constant bound: the accumulators stay in registers */
    if (p >= npx) break;
    __m512 y = _mm512_min_ps(_mm512_max_ps(acc[p], lo), hi);
    if (post) y = mbt_post_avx512(y, post);
    _mm512_mask_storeu_ps(o + (size_t)p * l->oc, m, y);
  }
}

/* The tile at (oy, ox) on panels j .. j + np - 1. */
AI void tile(const struct mbt_exec *e, float *pt, int oy, int ox, size_t j, const int np) {
  const struct mbt_kshape *l = &e->s;
  const int k = l->k, s = l->stride, ic = l->ic, W = l->iw;
  const size_t K = (size_t)k * k * ic, pk = NR * K;
  const int npx = l->ow - ox < MR ? l->ow - ox : MR;
  const int iy0 = oy * s - l->pad, ix0 = ox * s - l->pad;
  const float *bp = e->packed + j * pk;
  __m512 acc[2][MR];
  const __m512 b0 = panel_bias(e, j), b1 = np > 1 ? panel_bias(e, j + 1) : b0;
#pragma GCC unroll 14
  for (int p = 0; p < MR; p++) acc[0][p] = b0, acc[1][p] = b1;
  if (npx == MR && iy0 >= 0 && iy0 + k <= l->ih && ix0 >= 0 && ix0 + (MR - 1) * s + k <= W) {
    taps(acc, np, e->in + ((size_t)iy0 * W + ix0) * ic, (size_t)W * ic, l, bp, pk);
  } else {
    fill_patch(e, iy0, ix0, npx, pt);
    taps(acc, np, pt, patch_cols(l) * (size_t)ic, l, bp, pk);
  }
#pragma GCC unroll 2
  for (int q = 0; q < np; q++) {
    const size_t jq = j + (size_t)q;
    switch (e->post) {
      case MBT_POST_NONE: store_panel(e, acc[q], oy, ox, npx, jq, MBT_POST_NONE); break;
      case MBT_POST_HSWISH: store_panel(e, acc[q], oy, ox, npx, jq, MBT_POST_HSWISH); break;
      default: store_panel(e, acc[q], oy, ox, npx, jq, e->post); break;
    }
  }
}

void mbt_f32_conv_minmax_ukernel_14x16__avx512f(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  size_t j0, j1;
  mbt_cpart_panels((size_t)(l->oc + NR - 1) / NR, e->cpart, e->cparts, &j0, &j1);
  float pt[PATCH_MAX] __attribute__((aligned(64)));
  for (int oy = r0; oy < r1; oy++)
    for (int ox = 0; ox < l->ow; ox += MR) {
      mbt_conv_prefetch_out(e, oy, ox, MR, MR, r1, j0 * NR, j1 * NR); /* the next tile's */
      if (oy + 1 < r1) mbt_conv_prefetch_in(e, oy, ox, MR);
      size_t j = j0;
      for (; j + 2 <= j1; j += 2) tile(e, pt, oy, ox, j, 2);
      if (j < j1) tile(e, pt, oy, ox, j, 1);
    }
}
