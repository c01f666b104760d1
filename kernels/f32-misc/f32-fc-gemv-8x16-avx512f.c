/* The fully connected layer as a matrix-vector product, AVX-512F: out[oc] = sum_k in[k]
 * w[k][oc] over the natural [ic][oc] weights, no packing.  Blocks of 8 vectors (128 outputs)
 * hold their sums in 8 registers while the whole reduction streams past: each input value is
 * broadcast once per block and meets 8 independent FMAs, and each weight row is read as 512
 * contiguous bytes, prefetched PF rows ahead.  A classifier's weights (4-5 MB) are read once per
 * run and, inside a network, come from L3 or memory: the prefetches keep many more lines in
 * flight than the hardware prefetcher does on rows oc floats apart.  The last block and the
 * channel tail use fewer vectors and a k-mask; threads split output vectors (cpart/cparts). */
#include "config.h"

#include <immintrin.h>

#include "kernels/avx512-common.h"
#include "kernels/kernels.h"

#define PF 24 /* rows ahead */

/* Outputs [n0, n0 + 16 nv) (the last vector masked by @p tail when @p masked). */
static inline __attribute__((always_inline)) void block(const struct mbt_exec *e, size_t n0,
                                                        const int nv, int masked,
                                                        __mmask16 tail) {
  const struct mbt_kshape *l = &e->s;
  const size_t oc = (size_t)l->oc, ic = (size_t)l->ic;
  __m512 acc[8];
#pragma GCC unroll 8
  for (int j = 0; j < nv; j++) {
    const __mmask16 m = masked && j == nv - 1 ? tail : (__mmask16)0xffff;
    acc[j] = e->b ? _mm512_maskz_loadu_ps(m, e->b + n0 + 16 * (size_t)j) : _mm512_setzero_ps();
  }
  const float *w = e->w + n0;
  for (size_t k = 0; k < ic; k++, w += oc) {
    if (k + PF < ic) {
#pragma GCC unroll 8
      for (int j = 0; j < nv; j++) _mm_prefetch((const char *)(w + PF * oc + 16 * j), _MM_HINT_T0);
    }
    const __m512 x = _mm512_set1_ps(e->in[k]);
#pragma GCC unroll 8
    for (int j = 0; j < nv; j++) {
      const __mmask16 m = masked && j == nv - 1 ? tail : (__mmask16)0xffff;
      acc[j] = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, w + 16 * j), acc[j]);
    }
  }
  const __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
#pragma GCC unroll 8
  for (int j = 0; j < nv; j++) {
    const __mmask16 m = masked && j == nv - 1 ? tail : (__mmask16)0xffff;
    __m512 v = _mm512_min_ps(_mm512_max_ps(acc[j], lo), hi);
    if (e->post) v = mbt_post_avx512(v, e->post);
    if (e->res) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, e->res + n0 + 16 * (size_t)j));
    _mm512_mask_storeu_ps(e->out + n0 + 16 * (size_t)j, m, v);
  }
}

void mbt_f32_fc_gemv_8x16__avx512f(const struct mbt_exec *e, int r0, int r1) {
  if (r0 >= r1) return; /* one row: the whole layer */
  const size_t oc = (size_t)e->s.oc, nvec = (oc + 15) / 16;
  const size_t parts = e->cparts > 1 ? (size_t)e->cparts : 1, part = (size_t)e->cpart;
  const size_t v0 = nvec * part / parts, v1 = nvec * (part + 1) / parts;
  const __mmask16 tail = (__mmask16)(oc % 16 ? (1u << (oc % 16)) - 1 : 0xffff);
  size_t v = v0;
  for (; v + 8 <= v1; v += 8) {
    if (v + 8 == nvec && oc % 16) block(e, 16 * v, 8, 1, tail);
    else block(e, 16 * v, 8, 0, tail);
  }
  if (v < v1) { /* 1 to 7 vectors left: one block of that many */
    const int nv = (int)(v1 - v), masked = v1 == nvec && oc % 16;
    switch (nv) {
#define NV(n)                         \
  case n:                             \
    block(e, 16 * v, n, masked, tail); \
    break;
      NV(1) NV(2) NV(3) NV(4) NV(5) NV(6) NV(7)
#undef NV
      default: break;
    }
  }
}
