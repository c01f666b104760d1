/* kernels/ref/ref.c -- the oracles: plain loops, double accumulation, never vectorised by hand.
 * Every other variant is tested against these. Layouts and epilogue: see kernels/kernels.h. */
#include "config.h"

#include "kernels/kernels.h"

static float epilogue(const struct mbt_exec *e, double acc, size_t idx, int c) {
  double v = acc + (e->b ? e->b[c] : 0.0);
  v = v < e->lo ? e->lo : v > e->hi ? e->hi : v;
  if (e->post == MBT_POST_HSWISH) v = v * (v + 3 < 0 ? 0 : v + 3 > 6 ? 6 : v + 3) / 6;
  else if (e->post == MBT_POST_SILU) v = (float)(v / (1.0 + exp(-(double)v)));
  else if (e->post == MBT_POST_SIGMOID) v = (float)(1.0 / (1.0 + exp(-(double)v)));
  if (e->res) v += e->res[idx];
  return (float)v;
}

void mbt_ref_conv(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  for (int oy = r0; oy < r1; oy++)
    for (int ox = 0; ox < l->ow; ox++)
      for (int co = 0; co < l->oc; co++) {
        double acc = 0;
        for (int ky = 0; ky < l->k; ky++) {
          const int iy = oy * l->stride - l->pad + ky;
          if (iy < 0 || iy >= l->ih) continue;
          for (int kx = 0; kx < l->k; kx++) {
            const int ix = ox * l->stride - l->pad + kx;
            if (ix < 0 || ix >= l->iw) continue;
            for (int ci = 0; ci < l->ic; ci++)
              acc += (double)e->in[((size_t)iy * l->iw + ix) * l->ic + ci] *
                     e->w[(((size_t)ky * l->k + kx) * l->ic + ci) * l->oc + co];
          }
        }
        const size_t o = ((size_t)(oy - e->orow0) * l->ow + ox) * l->oc + co;
        e->out[o] = epilogue(e, acc, o, co);
      }
}

void mbt_ref_dwconv(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  const int c = l->ic;
  const size_t xc = e->ldi ? e->ldi : (size_t)c;
  for (int oy = r0; oy < r1; oy++)
    for (int ox = 0; ox < l->ow; ox++)
      for (int ch = 0; ch < c; ch++) {
        double acc = 0;
        for (int ky = 0; ky < l->k; ky++) {
          const int iy = oy * l->stride - l->pad + ky;
          if (iy < 0 || iy >= l->ih) continue;
          for (int kx = 0; kx < l->k; kx++) {
            const int ix = ox * l->stride - l->pad + kx;
            if (ix < 0 || ix >= l->iw) continue;
            acc += (double)e->in[((size_t)(iy - e->irow0) * l->iw + ix) * xc + ch] *
                   e->w[((size_t)ky * l->k + kx) * c + ch];
          }
        }
        const size_t o = ((size_t)(oy - e->orow0) * l->ow + ox) * c + ch;
        e->out[o] = epilogue(e, acc, o, ch);
      }
}

void mbt_ref_pwconv(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  const size_t ldo = e->ldo ? e->ldo : (size_t)l->oc;
  for (size_t p = (size_t)r0 * l->ow; p < (size_t)r1 * l->ow; p++)
    for (int co = 0; co < l->oc; co++) {
      double acc = 0;
      for (int ci = 0; ci < l->ic; ci++)
        acc += (double)e->in[p * l->ic + ci] * e->w[(size_t)ci * l->oc + co];
      e->out[p * ldo + co] = epilogue(e, acc, p * ldo + co, co);
    }
}

void mbt_ref_gavgpool(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  if (r0 >= r1) return;
  const size_t npix = (size_t)l->ih * l->iw;
  for (int ch = 0; ch < l->ic; ch++) {
    double acc = 0;
    for (size_t p = 0; p < npix; p++) acc += e->in[p * l->ic + ch];
    e->out[ch] = (float)(acc / (double)npix);
  }
}

void mbt_ref_fc(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  if (r0 >= r1) return;
  for (int co = 0; co < l->oc; co++) {
    double acc = 0;
    for (int ci = 0; ci < l->ic; ci++) acc += (double)e->in[ci] * e->w[(size_t)ci * l->oc + co];
    e->out[co] = epilogue(e, acc, (size_t)co, co);
  }
}

/* out[p][c] = in[p][c] x gate[c] (the gate arrives as e->res). */
void mbt_ref_scale(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  const size_t c = (size_t)l->ic;
  for (size_t p = (size_t)r0 * l->ow; p < (size_t)r1 * l->ow; p++)
    for (size_t k = 0; k < c; k++) e->out[p * c + k] = (float)((double)e->in[p * c + k] * e->res[k]);
}

mbt_layer_fn mbt_ref_fn(enum mbt_kop op) {
  static const mbt_layer_fn fns[MBT_KOP_COUNT] = {mbt_ref_conv, mbt_ref_dwconv, mbt_ref_pwconv,
                                                  mbt_ref_gavgpool, mbt_ref_fc, mbt_ref_scale};
  return (unsigned)op < MBT_KOP_COUNT ? fns[op] : NULL;
}
