/* The RGB stem (3x3, stride 2, 3 input channels), pixels in the lanes, AVX2+FMA: the 8-lane
 * twin of f32-conv-minmax-3x3s2c3-8x48-avx512f.c.  With output channels in the lanes
 * (f32-conv-minmax-3x32-avx2.c) a 16-channel stem fills half of each 32-channel tile, and on a
 * Zen 2 V1's stem ran at 39% of the FMA peak and V3's at 18%.  Here a vector holds 8 output
 * pixels of one row and one output channel: a register tile of 4 channels x 24 pixels (12
 * accumulators) takes, per tap, three vectors of input pixels and 4 broadcast weights (7 loads
 * for 12 FMAs).  The input pixels of a tap, every second one of a row, come from a copy of each
 * input row split by pixel parity (even[c][m + 1] = row[2 m][c], odd[c][m + 1] = row[2 m + 1][c],
 * index 0 and the slots past the row zero: the padding), made once per input row -- 16 pixels
 * at a time by two blends and a permute per channel and 8 pixels, then a shuffle and a 64-bit
 * permute per parity -- and kept in a ring of three rows.  The sums of a tile are transposed in
 * registers (4 x 8 per vector: unpacks and shuffles) into 4-channel runs of each pixel and
 * stored.  The natural HWIO weights are read as they are (no packing); 4 | oc. */
#include "config.h"

#include <immintrin.h>
#include <limits.h>

#include "kernels/avx2-common.h"
#include "kernels/kernels.h"

#define OCB 4            /* output channels per tile */
#define NV 3             /* pixel vectors per tile */
#define MAX_OW 512       /* the widest output row (a 1024 input) */
#define LS (MAX_OW + 16) /* floats per stream: ow + 2 pixels, rounded up to whole vectors */

#define AI static inline __attribute__((always_inline))

int mbt_conv_3x3s2c3_avx2_applicable(const struct mbt_kshape *l) {
  return l->k == 3 && l->stride == 2 && l->ic == 3 && l->oc % OCB == 0 && l->pad <= 1 &&
         l->ow <= MAX_OW;
}

/* One input row split by parity: s[0][c] the even pixels, s[1][c] the odd, one slot on. */
struct row {
  int iy; /* the input row it holds (INT_MIN: none) */
  float s[2][3][LS];
};

/* Channel c of the 8 RGB pixels in a, b, c (24 floats): two blends put each pixel's value in a
 * lane of its own, a permute puts them in order. */
AI void rgb8(const float *p, __m256 out[3]) {
  const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8), c = _mm256_loadu_ps(p + 16);
  const __m256 r = _mm256_blend_ps(_mm256_blend_ps(a, b, 0x92), c, 0x24);
  const __m256 g = _mm256_blend_ps(_mm256_blend_ps(a, b, 0x24), c, 0x49);
  const __m256 bl = _mm256_blend_ps(_mm256_blend_ps(a, b, 0x49), c, 0x92);
  out[0] = _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 3, 6, 1, 4, 7, 2, 5));
  out[1] = _mm256_permutevar8x32_ps(g, _mm256_setr_epi32(1, 4, 7, 2, 5, 0, 3, 6));
  out[2] = _mm256_permutevar8x32_ps(bl, _mm256_setr_epi32(2, 5, 0, 3, 6, 1, 4, 7));
}

/* The even (0xd8 after 0x88) or odd (after 0xdd) lanes of lo then hi, in order. */
#define PARITY(lo, hi, imm)                                                                    \
  _mm256_castpd_ps(                                                                            \
      _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps((lo), (hi), (imm))), 0xd8))

static void split(const struct mbt_exec *e, int iy, struct row *r) {
  const struct mbt_kshape *l = &e->s;
  const int n = (l->ow + 7) / 8 * 8 + 3; /* slots read: up to 2 past the last vector's start */
  r->iy = iy;
  if (iy < 0 || iy >= l->ih) { /* a row of padding */
    for (int p = 0; p < 2; p++)
      for (int c = 0; c < 3; c++)
        for (int j = 0; j < n; j++) r->s[p][c][j] = 0;
    return;
  }
  const float *row = e->in + (size_t)iy * l->iw * 3;
  const int W = l->iw;
  int m = 0;
  for (; 2 * m + 16 <= W && m + 9 <= n; m += 8) { /* pixels 2m .. 2m + 15 */
    __m256 lo[3], hi[3];
    rgb8(row + 6 * m, lo);
    rgb8(row + 6 * m + 24, hi);
    for (int c = 0; c < 3; c++) {
      _mm256_storeu_ps(r->s[0][c] + m + 1, PARITY(lo[c], hi[c], 0x88));
      _mm256_storeu_ps(r->s[1][c] + m + 1, PARITY(lo[c], hi[c], 0xdd));
    }
  }
  for (int c = 0; c < 3; c++) {
    r->s[0][c][0] = r->s[1][c][0] = 0;
    for (int j = m + 1; j < n; j++) { /* pixels 2 (j - 1) and 2 (j - 1) + 1, zero past the row */
      const int x = 2 * (j - 1);
      r->s[0][c][j] = x < W ? row[3 * x + c] : 0;
      r->s[1][c][j] = x + 1 < W ? row[3 * (x + 1) + c] : 0;
    }
  }
}

/* Store the 4 channel vectors @p a (8 pixels each, the first at @p out) as 4-float runs of the
 * first @p n (<= 8) pixels, @p oc floats apart. */
AI void store_t(const __m256 a[OCB], float *out, size_t oc, int n) {
  const __m256 t0 = _mm256_unpacklo_ps(a[0], a[1]), t1 = _mm256_unpackhi_ps(a[0], a[1]);
  const __m256 t2 = _mm256_unpacklo_ps(a[2], a[3]), t3 = _mm256_unpackhi_ps(a[2], a[3]);
  /* u[i]: pixel i in the low half, pixel 4 + i in the high half */
  const __m256 u[4] = {_mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xee),
                       _mm256_shuffle_ps(t1, t3, 0x44), _mm256_shuffle_ps(t1, t3, 0xee)};
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    if (i < n) _mm_storeu_ps(out + (size_t)i * oc, _mm256_castps256_ps128(u[i]));
    if (4 + i < n) _mm_storeu_ps(out + (size_t)(4 + i) * oc, _mm256_extractf128_ps(u[i], 1));
  }
}

/* Output row @p oy's channels o0 .. o0 + 3 at pixel vectors v .. v + nv - 1 (nv a constant);
 * tap t = (ky 3 + kx) 3 + c reads its pixels from tap[t] (one loop over the 27 taps: as three
 * nested loops of three the stem ran at under half the FMA peak). */
AI void tile(const struct mbt_exec *e, const float *const tap[27], int oy, int o0, int v,
             const int nv) {
  const struct mbt_kshape *l = &e->s;
  const size_t oc = (size_t)l->oc;
  __m256 acc[NV][OCB];
#pragma GCC unroll 4
  for (int o = 0; o < OCB; o++) {
    const __m256 b = e->b ? _mm256_set1_ps(e->b[o0 + o]) : _mm256_setzero_ps();
#pragma GCC unroll 3
    for (int q = 0; q < nv; q++) acc[q][o] = b;
  }
  const float *w = e->w + o0;
#pragma GCC unroll 1
  for (int t = 0; t < 27; t++, w += oc) {
    const float *s = tap[t] + 8 * v;
    __m256 x[NV];
#pragma GCC unroll 3
    for (int q = 0; q < nv; q++) x[q] = _mm256_loadu_ps(s + 8 * q);
#pragma GCC unroll 4
    for (int o = 0; o < OCB; o++) {
      const __m256 wv = _mm256_broadcast_ss(w + o);
#pragma GCC unroll 3
      for (int q = 0; q < nv; q++) acc[q][o] = _mm256_fmadd_ps(x[q], wv, acc[q][o]);
    }
  }
  const __m256 lo = _mm256_set1_ps(e->lo), hi = _mm256_set1_ps(e->hi);
#pragma GCC unroll 3
  for (int q = 0; q < nv; q++) {
#pragma GCC unroll 4
    for (int o = 0; o < OCB; o++) {
      __m256 y = _mm256_min_ps(_mm256_max_ps(acc[q][o], lo), hi);
      if (e->post) y = mbt_post_avx2(y, e->post);
      acc[q][o] = y;
    }
    const int px = 8 * (v + q), n = l->ow - px < 8 ? l->ow - px : 8;
    store_t(acc[q], e->out + ((size_t)(oy - e->orow0) * l->ow + (size_t)px) * oc + o0, oc, n);
  }
}

/* What the tile of @p nv vectors at vector v of the next output row (oy + 1) reads from its two
 * new input rows and writes, fetched while this row's first channels compute: spread over the
 * row's tiles (a whole row at once, 14 KB of V1's output, made the stem slower inside the
 * network than alone). */
static void ahead_of(const struct mbt_exec *e, int oy, int v, int nv) {
  const struct mbt_kshape *l = &e->s;
  const int p0 = 8 * v, p1 = 8 * (v + nv) < l->ow ? 8 * (v + nv) : l->ow;
  const int x0 = 2 * p0 - l->pad < 0 ? 0 : 2 * p0 - l->pad;
  const int x1 = 2 * p1 + 1 - l->pad < l->iw ? 2 * p1 + 1 - l->pad : l->iw;
  for (int iy = 2 * oy + 3 - l->pad; iy < 2 * oy + 5 - l->pad; iy++)
    if (iy >= 0 && iy < l->ih && x1 > x0)
      MBT_PREFETCH_RANGE(e->in + ((size_t)iy * l->iw + (size_t)x0) * 3,
                         (size_t)(x1 - x0) * 3 * sizeof(float), 0);
  mbt_prefetch_out(e->out + ((size_t)(oy + 1 - e->orow0) * l->ow + (size_t)p0) * l->oc, 1, 0,
                   (size_t)(p1 - p0) * l->oc);
}

void mbt_f32_conv_minmax_ukernel_3x3s2c3_4x24__avx2(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  struct row ring[3];
  for (int i = 0; i < 3; i++) ring[i].iy = INT_MIN;
  const int nvec = (l->ow + 7) / 8;
  for (int oy = r0; oy < r1; oy++) {
    const float *tap[27];
    for (int ky = 0; ky < 3; ky++) {
      const int iy = 2 * oy - l->pad + ky;
      struct row *r = &ring[((iy % 3) + 3) % 3];
      if (r->iy != iy) split(e, iy, r);
      for (int kx = 0; kx < 3; kx++) {
        const int d = kx - l->pad; /* input pixel 2 j + d: parity d & 1, slot j + (d + 2) / 2 */
        for (int c = 0; c < 3; c++) tap[(ky * 3 + kx) * 3 + c] = r->s[d & 1][c] + ((d + 2) >> 1);
      }
    }
    const int ahead = oy + 1 < r1;
    for (int o0 = 0; o0 < l->oc; o0 += OCB) {
      /* tiles of 3 vectors, the last ones of 2 (a 1-vector tile takes 4 broadcasts for 4
       * FMAs) */
      const int n3 = nvec % 3 == 1 && nvec > 1 ? nvec / 3 - 1 : nvec / 3;
      int v = 0;
      for (; v < nvec;) {
        const int nv = v < 3 * n3 ? 3 : v + 2 <= nvec ? 2 : 1;
        if (ahead && o0 == 0) ahead_of(e, oy, v, nv);
        if (nv == 3) tile(e, tap, oy, o0, v, 3);
        else if (nv == 2) tile(e, tap, oy, o0, v, 2);
        else tile(e, tap, oy, o0, v, 1);
        v += nv;
      }
    }
  }
}
