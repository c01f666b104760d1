/* kernels/drivers/fused.c -- fused depthwise + pointwise: a strip of depthwise output rows is
 * computed into a scratch buffer small enough to stay in L1/L2 and consumed at once by the
 * pointwise variant, so the intermediate tensor never travels to memory.  Any depthwise variant
 * (any K, stride, padding) and any pointwise variant compose: the depthwise one writes the strip
 * through its orow0 offset, the pointwise one sees the strip as a small problem of its own. */
#include "config.h"

#include <string.h>

#include "kernels/kernels.h"

/* Rows [y, y + n) of the pair: the depthwise strip into @p scratch, then the pointwise layer on
 * it, adding the residual rows at @p res (NULL: none). */
static void pair_strip(const struct mbt_variant *dwv, const struct mbt_exec *dw,
                       const struct mbt_variant *pwv, const struct mbt_exec *pw, int y, int n,
                       float *scratch, const float *res) {
  const struct mbt_kshape *pl = &pw->s;
  const size_t row_out = (size_t)pl->ow * (pw->ldo ? pw->ldo : (size_t)pl->oc);
  struct mbt_exec d = *dw;
  d.out = scratch;
  d.orow0 = y;
  dwv->fn(&d, y, y + n);
  struct mbt_exec p = *pw;
  p.full_oh = pw->full_oh > 0 ? pw->full_oh : pl->oh;
  p.s.ih = p.s.oh = n; /* the strip as an n-row pointwise problem */
  p.in = scratch;
  p.out = pw->out + (size_t)(y - pw->orow0) * row_out;
  p.orow0 = 0;
  p.res = res;
  pwv->fn(&p, 0, n);
}

void mbt_drv_dwpw_fused(const struct mbt_variant *dwv, const struct mbt_exec *dw,
                        const struct mbt_variant *pwv, const struct mbt_exec *pw, int rows,
                        float *scratch, int r0, int r1) {
  const struct mbt_kshape *pl = &pw->s;
  const size_t row_out = (size_t)pl->ow * (pw->ldo ? pw->ldo : (size_t)pl->oc);
  for (int y = r0; y < r1; y += rows) {
    const int n = r1 - y < rows ? r1 - y : rows;
    pair_strip(dwv, dw, pwv, pw, y, n, scratch, pw->res ? pw->res + (size_t)y * row_out : NULL);
  }
}

/* Fused pointwise + depthwise + pointwise (a V2 inverted-residual block: expand, depthwise,
 * project; or a V1 pointwise -> depthwise -> pointwise chain), or full convolution + depthwise
 * + pointwise (the stem and the first block of V1 and V2): the first layer's rows the
 * depthwise strip needs are computed into a sliding window (rows the next strip shares with
 * this one are moved up, not recomputed), the depthwise strip reads the window through irow0,
 * and the project layer consumes the strip at once, so neither intermediate tensor travels to
 * memory.  A pointwise first layer sees its rows as a small problem of their own; a full
 * convolution computes them from its whole input, writing the window through its orow0.  When
 * the project layer's residual is the first layer's output (pw->res == ex->out: V3-Large's
 * stem and first block, mbt_block_fusable), its rows are read from the window, which holds
 * them: the depthwise layer has stride 1 and same padding, so a strip's window spans its rows. */
void mbt_drv_pwdwpw_fused(const struct mbt_variant *exv, const struct mbt_exec *ex,
                          const struct mbt_variant *dwv, const struct mbt_exec *dw,
                          const struct mbt_variant *pwv, const struct mbt_exec *pw, int rows,
                          float *window, float *scratch, int r0, int r1) {
  const struct mbt_kshape *el = &ex->s, *dl = &dw->s;
  const size_t row_in = (size_t)el->iw * el->ic, row_ex = (size_t)el->ow * el->oc;
  const struct mbt_kshape *pl = &pw->s;
  const size_t row_out = (size_t)pl->ow * (pw->ldo ? pw->ldo : (size_t)pl->oc);
  const int res_window = pw->res && pw->res == ex->out;
  const int S = dl->stride, P = dl->pad, K = dl->k;
  int wlo = 0, whi = 0; /* the window holds expanded rows [wlo, whi) */
  for (int y = r0; y < r1; y += rows) {
    const int n = r1 - y < rows ? r1 - y : rows;
    int a = y * S - P, b = (y + n - 1) * S - P + K;
    a = a < 0 ? 0 : a;
    b = b > dl->ih ? dl->ih : b;
    if (a >= wlo && a < whi) { /* keep the rows this strip shares with the last one */
      memmove(window, window + (size_t)(a - wlo) * row_ex,
              (size_t)(whi - a) * row_ex * sizeof(float));
    } else {
      whi = a;
    }
    wlo = a;
    if (b > whi && el->op == MBT_KOP_CONV) {
      struct mbt_exec x = *ex;
      x.out = window, x.orow0 = wlo; /* the window's first row is row wlo */
      exv->fn(&x, whi, b);
      whi = b;
    } else if (b > whi) {
      struct mbt_exec x = *ex;
      x.s.ih = x.s.oh = b - whi; /* expanded rows [whi, b) as a small pointwise problem */
      x.in = ex->in + (size_t)whi * row_in;
      x.out = window + (size_t)(whi - wlo) * row_ex;
      x.ldo = 0; /* the window is dense, whatever the layer's own output would be */
      x.res = ex->res ? ex->res + (size_t)whi * row_ex : NULL;
      exv->fn(&x, 0, b - whi);
      whi = b;
    }
    struct mbt_exec d = *dw;
    d.in = window;
    d.irow0 = wlo;
    d.ldi = 0;
    const float *res = res_window ? window + (size_t)(y - wlo) * row_ex
                       : pw->res  ? pw->res + (size_t)y * row_out
                                  : NULL;
    pair_strip(dwv, &d, pwv, pw, y, n, scratch, res);
  }
}
