/* The RGB stem (3x3, stride 2, 3 input channels), pixels in the lanes, AVX-512F.  With output
 * channels in the lanes (f32-conv-minmax-14x16-avx512f.c) each input value is broadcast to
 * meet one weight vector per 16 channels: on the V3 networks' 16-channel stem that is one
 * broadcast per FMA, and the stem ran at about 40% of the FMA peak.  Here a vector holds 16
 * output pixels of one row and one output channel: a register tile of 8 channels x 48 pixels
 * (24 accumulators) takes, per tap, three vectors of input pixels and 8 broadcast weights (11
 * loads for 24 FMAs).  The input pixels of a tap, every second one of a row, come from a
 * deinterleaved copy of each input row (for kx = 0, 1 and channel c: row[2j + kx - pad][c] at
 * j; kx = 2 is kx = 0 one pixel on), made once per input row by permutes of six loaded vectors
 * (at the row's ends masked loads, zeros in the padding: masked gathers there took a tenth of
 * the stem's time) and kept in a ring of three rows.  The sums of a tile are transposed in
 * registers (8 x 16 per vector: unpacks, shuffles, 128-bit lane shuffles) into 8-channel runs of
 * each pixel and stored.  The natural HWIO weights are read as they are (no packing); 8 | oc. */
#include "config.h"

#include <immintrin.h>
#include <limits.h>

#include "kernels/avx512-common.h"
#include "kernels/kernels.h"

#define OCB 8           /* output channels per tile */
#define NV 3            /* pixel vectors per tile */
#define MAX_OW 512      /* the widest output row (a 1024 input) */
#define LS (MAX_OW + 32) /* floats per stream: ow + 1 pixels, rounded up, one vector spare */

#define AI static inline __attribute__((always_inline))

/* 0, 1, .. 15 */
AI __m512i lanes(void) {
  return _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
}

int mbt_conv_3x3s2c3_applicable(const struct mbt_kshape *l) {
  return l->k == 3 && l->stride == 2 && l->ic == 3 && l->oc % OCB == 0 && l->pad <= 1 &&
         l->ow <= MAX_OW;
}

/* One deinterleaved input row: s[kx][c][j] = in[iy][2 j + kx - pad][c], zero outside. */
struct row {
  int iy; /* the input row it holds (INT_MIN: none) */
  float s[2][3][LS];
};

/* Stream r of 6 (kx = r / 3, c = r % 3) of the 16 pixel pairs in the 96 floats v[0 .. 5]:
 * lane i is float 6 i + r, picked from the pair of vectors that holds it (3 two-source
 * permutes, 2 blends). */
AI __m512 pick6(const __m512 v[6], int r) {
  const __m512i q = _mm512_add_epi32(_mm512_mullo_epi32(lanes(), _mm512_set1_epi32(6)),
                                     _mm512_set1_epi32(r));
  const __mmask16 m1 = _mm512_cmpge_epi32_mask(q, _mm512_set1_epi32(32));
  const __mmask16 m2 = _mm512_cmpge_epi32_mask(q, _mm512_set1_epi32(64));
  __m512 x = _mm512_permutex2var_ps(v[0], q, v[1]); /* the index's low 5 bits */
  x = _mm512_mask_mov_ps(x, m1, _mm512_permutex2var_ps(v[2], q, v[3]));
  return _mm512_mask_mov_ps(x, m2, _mm512_permutex2var_ps(v[4], q, v[5]));
}

/* Floats a .. a + 15 of a row of n floats, zeros outside it (a masked load, and at the row's
 * start a lane shift: no address outside the row is formed). */
AI __m512 window(const float *row, long n, long a) {
  if (a >= 0 && a + 16 <= n) return _mm512_loadu_ps(row + a);
  if (a >= n || a + 16 <= 0) return _mm512_setzero_ps();
  if (a >= 0) return _mm512_maskz_loadu_ps((__mmask16)((1u << (n - a)) - 1), row + a);
  const int s = (int)-a; /* lanes s .. 15 hold row[0 .. 16 - s) */
  const long cnt = 16 - s < n ? 16 - s : n;
  const __m512 x = _mm512_maskz_loadu_ps((__mmask16)((1u << cnt) - 1), row);
  return _mm512_maskz_permutexvar_ps((__mmask16)(0xffffu << s),
                                     _mm512_sub_epi32(lanes(), _mm512_set1_epi32(s)), x);
}

static void deinterleave(const struct mbt_exec *e, int iy, struct row *r) {
  const struct mbt_kshape *l = &e->s;
  const int n = (l->ow + 1 + 15) / 16 * 16; /* j = 0 .. ow, in whole vectors */
  r->iy = iy;
  if (iy < 0 || iy >= l->ih) { /* a row of padding */
    for (int kx = 0; kx < 2; kx++)
      for (int c = 0; c < 3; c++)
        for (int j = 0; j < n; j += 16) _mm512_storeu_ps(r->s[kx][c] + j, _mm512_setzero_ps());
    return;
  }
  const float *row = e->in + (size_t)iy * l->iw * 3;
  const long len = 3L * l->iw;
  for (int j = 0; j < n; j += 16) {
    const long b = 6L * j - 3L * l->pad; /* the first float of pixel pair j */
    __m512 v[6];
    if (b >= 0 && b + 96 <= len) /* the 16 pairs inside the row */
      for (int m = 0; m < 6; m++) v[m] = _mm512_loadu_ps(row + b + 16 * m);
    else /* at the row's ends: zeros outside it, which are the padding pixels */
      for (int m = 0; m < 6; m++) v[m] = window(row, len, b + 16 * m);
    for (int kx = 0; kx < 2; kx++)
      for (int c = 0; c < 3; c++) _mm512_storeu_ps(r->s[kx][c] + j, pick6(v, 3 * kx + c));
  }
}

/* Store the 8 channel vectors @p a (16 pixels each, the first at @p out) as 8-float runs of
 * the first @p n (<= 16) pixels, @p oc floats apart. */
AI void store_t(const __m512 a[OCB], float *out, size_t oc, int n) {
  __m512 t[8], u[8];
  for (int h = 0; h < 2; h++) { /* channels 4h .. 4h + 3 */
    const __m512 *b = a + 4 * h;
    t[4 * h + 0] = _mm512_unpacklo_ps(b[0], b[1]);
    t[4 * h + 1] = _mm512_unpackhi_ps(b[0], b[1]);
    t[4 * h + 2] = _mm512_unpacklo_ps(b[2], b[3]);
    t[4 * h + 3] = _mm512_unpackhi_ps(b[2], b[3]);
    /* u[4h + i], lane L: channels 4h .. 4h + 3 of pixel 4 L + i */
    u[4 * h + 0] = _mm512_shuffle_ps(t[4 * h + 0], t[4 * h + 2], 0x44);
    u[4 * h + 1] = _mm512_shuffle_ps(t[4 * h + 0], t[4 * h + 2], 0xee);
    u[4 * h + 2] = _mm512_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
    u[4 * h + 3] = _mm512_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xee);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    /* [u_i.L0, u_4+i.L0 | u_i.L1, u_4+i.L1]: pixels i and 4 + i; then pixels 8 + i, 12 + i */
    const __m512 lo = _mm512_shuffle_f32x4(_mm512_shuffle_f32x4(u[i], u[4 + i], 0x44),
                                           _mm512_shuffle_f32x4(u[i], u[4 + i], 0x44), 0xd8);
    const __m512 hi = _mm512_shuffle_f32x4(_mm512_shuffle_f32x4(u[i], u[4 + i], 0xee),
                                           _mm512_shuffle_f32x4(u[i], u[4 + i], 0xee), 0xd8);
    const __m256 q[4] = {
        _mm512_castps512_ps256(lo),
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(lo), 1)),
        _mm512_castps512_ps256(hi),
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(hi), 1)),
    };
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++)
      if (4 * g + i < n) _mm256_storeu_ps(out + (size_t)(4 * g + i) * oc, q[g]);
  }
}

/* Output row @p oy's channels o0 .. o0 + 7 at pixel vectors v .. v + nv - 1 (nv a constant). */
AI void tile(const struct mbt_exec *e, const struct row *const rows[3], int oy, int o0, int v,
             const int nv) {
  const struct mbt_kshape *l = &e->s;
  const size_t oc = (size_t)l->oc;
  __m512 acc[NV][OCB];
#pragma GCC unroll 8
  for (int o = 0; o < OCB; o++) {
    const __m512 b = e->b ? _mm512_set1_ps(e->b[o0 + o]) : _mm512_setzero_ps();
#pragma GCC unroll 3
    for (int q = 0; q < nv; q++) acc[q][o] = b;
  }
  for (int ky = 0; ky < 3; ky++) {
    const struct row *r = rows[ky];
#pragma GCC unroll 1
    for (int kx = 0; kx < 3; kx++)
#pragma GCC unroll 1
      for (int c = 0; c < 3; c++) {
        const float *s = r->s[kx & 1][c] + 16 * v + (kx == 2);
        const float *w = e->w + ((size_t)(ky * 3 + kx) * 3 + (size_t)c) * oc + o0;
        __m512 x[NV];
#pragma GCC unroll 3
        for (int q = 0; q < nv; q++) x[q] = _mm512_loadu_ps(s + 16 * q);
#pragma GCC unroll 8
        for (int o = 0; o < OCB; o++) {
          const __m512 wv = _mm512_set1_ps(w[o]);
#pragma GCC unroll 3
          for (int q = 0; q < nv; q++) acc[q][o] = _mm512_fmadd_ps(x[q], wv, acc[q][o]);
        }
      }
  }
  const __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
#pragma GCC unroll 3
  for (int q = 0; q < nv; q++) {
#pragma GCC unroll 8
    for (int o = 0; o < OCB; o++) {
      __m512 y = _mm512_min_ps(_mm512_max_ps(acc[q][o], lo), hi);
      if (e->post) y = mbt_post_avx512(y, e->post);
      acc[q][o] = y;
    }
    const int px = 16 * (v + q), n = l->ow - px < 16 ? l->ow - px : 16;
    store_t(acc[q], e->out + ((size_t)(oy - e->orow0) * l->ow + (size_t)px) * oc + o0, oc, n);
  }
}

void mbt_f32_conv_minmax_ukernel_3x3s2c3_8x48__avx512f(const struct mbt_exec *e, int r0,
                                                        int r1) {
  const struct mbt_kshape *l = &e->s;
  struct row ring[3];
  for (int i = 0; i < 3; i++) ring[i].iy = INT_MIN;
  const int nvec = (l->ow + 15) / 16;
  for (int oy = r0; oy < r1; oy++) {
    const struct row *rows[3];
    for (int ky = 0; ky < 3; ky++) {
      const int iy = 2 * oy - l->pad + ky;
      struct row *r = &ring[((iy % 3) + 3) % 3];
      if (r->iy != iy) deinterleave(e, iy, r);
      rows[ky] = r;
    }
    if (oy + 1 < r1) { /* the next output row's new input rows and its output, ahead */
      for (int iy = 2 * oy + 3 - l->pad; iy < 2 * oy + 5 - l->pad; iy++)
        if (iy >= 0 && iy < l->ih)
          MBT_PREFETCH_RANGE(e->in + (size_t)iy * l->iw * 3, (size_t)l->iw * 3 * sizeof(float),
                             0);
      mbt_prefetch_out(e->out + (size_t)(oy + 1 - e->orow0) * l->ow * l->oc, 1, 0,
                       (size_t)l->ow * l->oc);
    }
    for (int o0 = 0; o0 < l->oc; o0 += OCB) {
      /* tiles of 3 vectors, the last ones of 2 (7 = 3 + 2 + 2: a 1-vector tile takes as
       * many broadcasts as FMAs) */
      const int n3 = nvec % 3 == 1 && nvec > 1 ? nvec / 3 - 1 : nvec / 3;
      int v = 0;
      for (; v < 3 * n3; v += 3) tile(e, rows, oy, o0, v, 3);
      for (; v + 2 <= nvec; v += 2) tile(e, rows, oy, o0, v, 2);
      if (v < nvec) tile(e, rows, oy, o0, v, 1);
    }
  }
}
