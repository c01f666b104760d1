/* The fully connected layer as a matrix-vector product over packed weights, AVX-512F: panels
 * of 32 output channels (mbt_pack_f32_nr32: panel j holds w[k][32 j .. 32 j + 32) for every k,
 * zero-padded), so the whole layer's weights are read as one contiguous stream, which the
 * hardware prefetcher follows from L3 and this kernel runs ahead of from memory.
 *
 * Why packed: the natural [ic][oc] rows of the gemv_8x16 kernel are oc floats apart, so each
 * 512-byte read starts a new 4 KiB page and no prefetcher stream forms; alone, a 1024 x 1000
 * classifier read from L3 ran at about 70 GB/s there against 117 here (the L3 read bandwidth),
 * and from memory at 30 against 57.
 *
 * Each panel keeps 4 vectors of sums -- two reduction steps of 2 vectors each, added at the end
 * -- so 4 FMA chains hide the FMA latency; one chain per vector (2 in all) capped a panel at
 * one 128-byte row per 4 cycles.  The lines 16 KiB ahead are fetched into L1 (from memory the
 * stream needs them; from L3 they cost 1-3%), never past the packed weights.  Threads split
 * whole panels (cpart/cparts); the last panel's padding is computed and not stored. */
#include "config.h"

#include <immintrin.h>
#include <stdint.h>

#include "kernels/avx512-common.h"
#include "kernels/kernels.h"

#define NR 32
#define AHEAD (16 << 10) /* bytes */

void mbt_f32_fc_gemv_32p__avx512f(const struct mbt_exec *e, int r0, int r1) {
  if (r0 >= r1) return; /* one row: the whole layer */
  const size_t oc = (size_t)e->s.oc, ic = (size_t)e->s.ic, np = (oc + NR - 1) / NR;
  size_t j0, j1;
  mbt_cpart_panels(np, e->cpart, e->cparts, &j0, &j1);
  const uintptr_t end = (uintptr_t)(const void *)(e->packed + np * NR * ic);
  const __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
  for (size_t j = j0; j < j1; j++) {
    const size_t n0 = j * NR;
    const __mmask16 m0 = mbt_mask16((int)(oc - n0)), m1 = mbt_mask16((int)(oc - n0) - 16);
    __m512 a0 = e->b ? _mm512_maskz_loadu_ps(m0, e->b + n0) : _mm512_setzero_ps();
    __m512 a1 = e->b ? _mm512_maskz_loadu_ps(m1, e->b + n0 + 16) : _mm512_setzero_ps();
    __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
    const float *w = e->packed + n0 * ic;
    size_t k = 0;
    for (; k + 2 <= ic; k += 2, w += 2 * NR) {
      const uintptr_t pf = (uintptr_t)(const void *)w + AHEAD;
      if (pf < end) {
        _mm_prefetch((const char *)pf, _MM_HINT_T0);
        _mm_prefetch((const char *)(pf + 64), _MM_HINT_T0);
        _mm_prefetch((const char *)(pf + 128), _MM_HINT_T0);
        _mm_prefetch((const char *)(pf + 192), _MM_HINT_T0);
      }
      const __m512 x = _mm512_set1_ps(e->in[k]), y = _mm512_set1_ps(e->in[k + 1]);
      a0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(w), a0);
      a1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(w + 16), a1);
      b0 = _mm512_fmadd_ps(y, _mm512_loadu_ps(w + NR), b0);
      b1 = _mm512_fmadd_ps(y, _mm512_loadu_ps(w + NR + 16), b1);
    }
    if (k < ic) { /* odd ic: the last step */
      const __m512 x = _mm512_set1_ps(e->in[k]);
      a0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(w), a0);
      a1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(w + 16), a1);
    }
    __m512 v[2] = {_mm512_add_ps(a0, b0), _mm512_add_ps(a1, b1)};
    const __mmask16 m[2] = {m0, m1};
    for (int h = 0; h < 2; h++) {
      if (!m[h]) break;
      __m512 s = _mm512_min_ps(_mm512_max_ps(v[h], lo), hi);
      if (e->post) s = mbt_post_avx512(s, e->post);
      if (e->res) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m[h], e->res + n0 + 16 * h));
      _mm512_mask_storeu_ps(e->out + n0 + 16 * h, m[h], s);
    }
  }
}
