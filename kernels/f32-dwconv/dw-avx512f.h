/* kernels/f32-dwconv/dw-avx512f.h -- the tiled depthwise template (dw-tile.h) at 16 channels per
 * AVX-512F vector: its vector type, loads, FMA and epilogue.  The 3x3 and 5x5 kernels that
 * include it are two files so that a parallel build compiles them at once (their unrolled
 * tiles take the compiler minutes). */
#ifndef MBT_DW_AVX512F_H
#define MBT_DW_AVX512F_H

#include <immintrin.h>

#include "kernels/avx512-common.h"
#include "kernels/kernels.h"

#define DWT_V __m512
#define DWT_LANES 16
#define DWT_MASK __mmask16
#define DWT_TAIL(n) ((__mmask16)((1u << (n)) - 1))
#define DWT_LD(p, full, m) ((full) ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps((m), (p)))
#define DWT_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define DWT_ZERO() _mm512_setzero_ps()
#define DWT_STORE(e, o, v, full, m) store((e), (o), (v), (full), (m))

static inline __attribute__((always_inline)) void store(const struct mbt_exec *e, size_t o,
                                                        __m512 v, int full, __mmask16 m) {
  v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(e->lo)), _mm512_set1_ps(e->hi));
  if (e->post) v = mbt_post_avx512(v, e->post);
  if (e->res) v = _mm512_add_ps(v, DWT_LD(e->res + o, full, m));
  if (full) _mm512_storeu_ps(e->out + o, v);
  else _mm512_mask_storeu_ps(e->out + o, m, v);
}

#include "kernels/f32-dwconv/dw-tile.h"

#endif
