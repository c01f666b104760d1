/* Portable C variants of the stem convolution, the global average pool and the fully connected
 * layer.  Each handles any size; no over-read; outputs written once and never read. */
#include "config.h"

#include "kernels/kernels.h"

#define NB 16 /* output channels per accumulator block */

/* Full KxK convolution, HWIO weights: one output pixel x 16 output channels per tile. */
void mbt_f32_conv_minmax_ukernel_anyk_1x16__scalar(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  const int k = l->k, ic = l->ic, oc = l->oc;
  for (int oy = r0; oy < r1; oy++)
    for (int ox = 0; ox < l->ow; ox++)
      for (int n0 = 0; n0 < oc; n0 += NB) {
        const int n = oc - n0 < NB ? oc - n0 : NB;
        float acc[NB] = {0};
        for (int ky = 0; ky < k; ky++) {
          const int iy = oy * l->stride - l->pad + ky;
          if (iy < 0 || iy >= l->ih) continue;
          for (int kx = 0; kx < k; kx++) {
            const int ix = ox * l->stride - l->pad + kx;
            if (ix < 0 || ix >= l->iw) continue;
            const float *x = e->in + ((size_t)iy * l->iw + ix) * ic;
            const float *w = e->w + ((size_t)ky * k + kx) * ic * oc + n0;
            for (int ci = 0; ci < ic; ci++)
              for (int j = 0; j < n; j++) acc[j] += x[ci] * w[(size_t)ci * oc + j];
          }
        }
        float *y = e->out + ((size_t)(oy - e->orow0) * l->ow + ox) * oc + n0;
        for (int j = 0; j < n; j++)
          y[j] = mbt_actf(e, acc[j] + (e->b ? e->b[n0 + j] : 0.0f));
      }
}

void mbt_f32_gavgpool_ukernel_c16__scalar(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  if (r0 >= r1) return;
  const size_t npix = (size_t)l->ih * l->iw;
  const float scale = 1.0f / (float)npix;
  for (int c0 = 0; c0 < l->ic; c0 += NB) {
    const int n = l->ic - c0 < NB ? l->ic - c0 : NB;
    float acc[NB] = {0};
    for (size_t p = 0; p < npix; p++)
      for (int j = 0; j < n; j++) acc[j] += e->in[p * l->ic + c0 + j];
    for (int j = 0; j < n; j++) e->out[c0 + j] = acc[j] * scale;
  }
}

void mbt_f32_fc_ukernel_1x16__scalar(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  if (r0 >= r1) return;
  for (int n0 = 0; n0 < l->oc; n0 += NB) {
    const int n = l->oc - n0 < NB ? l->oc - n0 : NB;
    float acc[NB] = {0};
    for (int ci = 0; ci < l->ic; ci++) {
      const float *w = e->w + (size_t)ci * l->oc + n0;
      for (int j = 0; j < n; j++) acc[j] += e->in[ci] * w[j];
    }
    for (int j = 0; j < n; j++)
      e->out[n0 + j] = mbt_actf(e, acc[j] + (e->b ? e->b[n0 + j] : 0.0f));
  }
}

/* The squeeze-and-excitation product: rows [r0, r1) of in x gate (gate = e->res, per channel),
 * eight channels at a time (the compiler vectorizes the inner loop). */
void mbt_f32_scale_ukernel_c8__scalar(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  const size_t c = (size_t)l->ic;
  for (size_t p = (size_t)r0 * l->ow; p < (size_t)r1 * l->ow; p++) {
    const float *x = e->in + p * c;
    float *y = e->out + p * c;
    size_t k = 0;
    for (; k + 8 <= c; k += 8)
      for (int j = 0; j < 8; j++) y[k + j] = x[k + j] * e->res[k + j];
    for (; k < c; k++) y[k] = x[k] * e->res[k];
  }
}

/* The full convolution's HWIO weights, the [k k ic][oc] matrix, as @p nr-column panels (zeros
 * past oc): the direct kernels' packing, whatever their ISA. */
size_t mbt_conv_pack_size(const struct mbt_kshape *l, int nr) {
  return (size_t)(l->oc + nr - 1) / (size_t)nr * (size_t)nr * (size_t)l->k * l->k * l->ic;
}

void mbt_conv_pack(const struct mbt_kshape *l, const float *w, float *dst, int nr) {
  const size_t K = (size_t)l->k * l->k * l->ic, np = (size_t)(l->oc + nr - 1) / (size_t)nr;
  for (size_t j = 0; j < np; j++)
    for (size_t k = 0; k < K; k++)
      for (int c = 0; c < nr; c++) {
        const size_t n = j * (size_t)nr + (size_t)c;
        *dst++ = n < (size_t)l->oc ? w[k * l->oc + n] : 0.0f;
      }
}

void mbt_conv_taps(const struct mbt_kshape *l, size_t *off) {
  for (int ky = 0, t = 0; ky < l->k; ky++)
    for (int kx = 0; kx < l->k; kx++)
      for (int ci = 0; ci < l->ic; ci++) off[t++] = ((size_t)ky * l->iw + kx) * l->ic + ci;
}
