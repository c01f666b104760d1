/* kernels/drivers/fused.c -- fused depthwise + pointwise: a strip of depthwise output rows is
 * computed into a scratch buffer small enough to stay in L1/L2 and consumed at once by the
 * pointwise variant, so the intermediate tensor never travels to memory.  Any depthwise variant
 * (any K, stride, padding) and any pointwise variant compose: the depthwise one writes the strip
 * through its orow0 offset, the pointwise one sees the strip as a small layer of its own. */
#include "config.h"

#include "kernels/kernels.h"

void mbt_drv_dwpw_fused(const struct mbt_variant *dwv, const struct mbt_exec *dw,
                        const struct mbt_variant *pwv, const struct mbt_exec *pw, int rows,
                        float *scratch, int r0, int r1) {
  const struct mbt_layer *pl = pw->l;
  const size_t row_out = (size_t)pl->ow * pl->oc;
  for (int y = r0; y < r1; y += rows) {
    const int n = r1 - y < rows ? r1 - y : rows;
    struct mbt_exec d = *dw;
    d.out = scratch;
    d.orow0 = y;
    dwv->fn(&d, y, y + n);
    struct mbt_layer strip = *pl; /* the strip as an n-row pointwise layer */
    strip.ih = strip.oh = n;
    struct mbt_exec p = *pw;
    p.l = &strip;
    p.in = scratch;
    p.out = pw->out + (size_t)y * row_out;
    p.res = pw->res ? pw->res + (size_t)y * row_out : NULL;
    pwv->fn(&p, 0, n);
  }
}
