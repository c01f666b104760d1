/* kernels/f32-pwconv/f32-pwconv-pack.c -- the NR-column panel packers shared by the tiled
 * pointwise families of every ISA (plain C, baseline ISA): panel j holds W[k][j NR .. j NR + NR)
 * for k = 0 .. ic-1, zero-padded past oc, so a micro-kernel reads one contiguous stream. */
#include "config.h"

#include "kernels/kernels.h"

static size_t panels(const struct mbt_kshape *l, int nr) { return (size_t)(l->oc + nr - 1) / nr; }

static void pack_nr(const struct mbt_kshape *l, const float *w, float *dst, int nr) {
  for (size_t j = 0; j < panels(l, nr); j++)
    for (int k = 0; k < l->ic; k++)
      for (int c = 0; c < nr; c++) {
        const size_t n = j * (size_t)nr + (size_t)c;
        *dst++ = n < (size_t)l->oc ? w[(size_t)k * l->oc + n] : 0.0f;
      }
}

#define PACKER(NR)                                                                             \
  static size_t size_nr##NR(const struct mbt_kshape *l) { return panels(l, NR) * NR * l->ic; }  \
  static void pack_nr##NR(const struct mbt_kshape *l, const float *w, float *dst) {             \
    pack_nr(l, w, dst, NR);                                                                    \
  }                                                                                            \
  static size_t row_nr##NR(const struct mbt_kshape *l) { return (void)l, NR; }                 \
  const struct mbt_packer mbt_pack_f32_nr##NR = {size_nr##NR, pack_nr##NR, NR, row_nr##NR};
PACKER(8)
PACKER(16)
PACKER(24)
PACKER(32)
PACKER(48)
PACKER(64)

/* The pixel-pair kernels' weights (f32-pwconv-minmax-pairs-avx512f.c): each row W[k][0 .. oc)
 * twice, so that one vector load serves a pair of pixels' outputs. */
static size_t size_pairs(const struct mbt_kshape *l) { return (size_t)2 * l->oc * l->ic; }
static void pack_pairs(const struct mbt_kshape *l, const float *w, float *dst) {
  for (int k = 0; k < l->ic; k++)
    for (int t = 0; t < 2; t++)
      for (int n = 0; n < l->oc; n++) *dst++ = w[(size_t)k * l->oc + n];
}
static size_t row_pairs(const struct mbt_kshape *l) { return (size_t)2 * l->oc; }
const struct mbt_packer mbt_pack_f32_pairs = {size_pairs, pack_pairs, 0, row_pairs};
