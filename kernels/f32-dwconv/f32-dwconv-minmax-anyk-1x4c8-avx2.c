/* Depthwise KxK, any K, stride and padding, AVX2+FMA: a register tile of 1 row x 4 output
 * pixels x 8 channels.  Weights in the natural layout w[k][k][c].  Interior tiles (every tap
 * inside the input) take a branch-free path; border tiles check each tap.  Channel remainders
 * (c not a multiple of 8) use masked loads and stores, so the kernel never reads or writes past
 * the end of any buffer.  The output is written once and never read. */
#include "config.h"

#include <immintrin.h>

#include "kernels/avx2-common.h"
#include "kernels/kernels.h"

static inline __m256i tail_mask(int n) {
  static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i *)(m + 8 - n));
}

static inline __m256 load(const float *p, int n, __m256i mask) {
  return n == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

static inline void store(float *p, __m256 v, int n, __m256i mask) {
  if (n == 8) _mm256_storeu_ps(p, v);
  else _mm256_maskstore_ps(p, mask, v);
}

void mbt_f32_dwconv_minmax_ukernel_anyk_1x4c8__avx2(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  const int c = l->ic, k = l->k, s = l->stride, W = l->iw, ow = l->ow;
  const size_t xc = e->ldi ? e->ldi : (size_t)c; /* input pixel stride */
  const __m256 lo = _mm256_set1_ps(e->lo), hi = _mm256_set1_ps(e->hi);
  for (int oy = r0; oy < r1; oy++) {
    const int iy0 = oy * s - l->pad;
    const int ky0 = iy0 < 0 ? -iy0 : 0;
    const int ky1 = iy0 + k > l->ih ? l->ih - iy0 : k;
    for (int ox0 = 0; ox0 < ow; ox0 += 4) {
      const int np = ow - ox0 < 4 ? ow - ox0 : 4;
      const int ix0 = ox0 * s - l->pad;
      const int interior = np == 4 && ix0 >= 0 && ix0 + 3 * s + k <= W;
      for (int c0 = 0; c0 < c; c0 += 8) {
        const int n = c - c0 < 8 ? c - c0 : 8;
        const __m256i mask = tail_mask(n);
        const __m256 bias = e->b ? load(e->b + c0, n, mask) : _mm256_setzero_ps();
        __m256 a0 = bias, a1 = bias, a2 = bias, a3 = bias;
        for (int ky = ky0; ky < ky1; ky++) {
          const float *row = e->in + (size_t)(iy0 + ky - e->irow0) * W * xc + c0;
          const float *wr = e->w + (size_t)ky * k * c + c0;
          if (interior) {
            for (int kx = 0; kx < k; kx++) {
              const __m256 w = load(wr + (size_t)kx * c, n, mask);
              const float *x = row + (size_t)(ix0 + kx) * xc;
              a0 = _mm256_fmadd_ps(load(x, n, mask), w, a0);
              a1 = _mm256_fmadd_ps(load(x + (size_t)s * xc, n, mask), w, a1);
              a2 = _mm256_fmadd_ps(load(x + (size_t)2 * s * xc, n, mask), w, a2);
              a3 = _mm256_fmadd_ps(load(x + (size_t)3 * s * xc, n, mask), w, a3);
            }
          } else {
            for (int kx = 0; kx < k; kx++) {
              const __m256 w = load(wr + (size_t)kx * c, n, mask);
              __m256 *acc[4] = {&a0, &a1, &a2, &a3};
              for (int p = 0; p < np; p++) {
                const int ix = ix0 + p * s + kx;
                if (ix < 0 || ix >= W) continue;
                *acc[p] = _mm256_fmadd_ps(load(row + (size_t)ix * xc, n, mask), w, *acc[p]);
              }
            }
          }
        }
        const __m256 acc[4] = {a0, a1, a2, a3};
        for (int p = 0; p < np; p++) {
          const size_t o = ((size_t)(oy - e->orow0) * ow + ox0 + p) * c + c0;
          __m256 v = _mm256_min_ps(_mm256_max_ps(acc[p], lo), hi);
          if (e->post) v = mbt_post_avx2(v, e->post);
          if (e->res) v = _mm256_add_ps(v, load(e->res + o, n, mask));
          store(e->out + o, v, n, mask);
        }
      }
    }
  }
}
