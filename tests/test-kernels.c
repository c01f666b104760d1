/* tests/test-kernels.c -- every registered variant the host can run, against the reference, on
 * tile-edge cases and seeded random shapes.  Per element, pass when
 *   |y - ref| <= 1e-6 + 1e-5 * (sum over its terms of |x w| + |bias| + |res|)
 * (the bound scales with the magnitude of the terms, fair when terms cancel).  Outputs are
 * NaN-filled before the call and followed by 64 canary bytes; inputs are exact-size heap
 * blocks so that AddressSanitizer sees any over-read.  Depthwise variants run a second time on
 * an input with a padded pixel stride (ldi; the padding NaN, so reading it shows) and
 * pointwise ones writing a padded output stride (ldo; the padding must stay untouched). */
#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/drivers/pw-tiled.h"
#include "net/net.h"
#include "tests/tap.h"

#define CANARY 16 /* floats = 64 bytes */

static struct mbt_layer make(enum mbt_op op, int h, int w, int ic, int oc, int k, int s,
                             enum mbt_act act, int res) {
  struct mbt_layer l;
  memset(&l, 0, sizeof l);
  snprintf(l.name, sizeof l.name, "t");
  l.op = op, l.ih = h, l.iw = w, l.ic = ic, l.k = k, l.stride = s, l.pad = (k - 1) / 2;
  l.act = act, l.res = res ? -1 : -2, l.src = -1;
  if (op == MBT_OP_GAVGPOOL || op == MBT_OP_FC) {
    l.oh = l.ow = 1, l.k = 1, l.stride = 1, l.pad = 0, l.ih = op == MBT_OP_FC ? 1 : h;
    l.iw = op == MBT_OP_FC ? 1 : w;
  } else {
    l.oh = (h + s - 1) / s, l.ow = (w + s - 1) / s;
  }
  l.oc = op == MBT_OP_DWCONV || op == MBT_OP_GAVGPOOL || op == MBT_OP_SCALE ? ic : oc;
  l.params = op == MBT_OP_CONV ? (double)k * k * ic * oc : op == MBT_OP_DWCONV ? (double)k * k * ic
           : op == MBT_OP_GAVGPOOL || op == MBT_OP_SCALE ? 0 : (double)ic * oc;
  return l;
}

static float *exact(size_t n) { return malloc((n ? n : 1) * sizeof(float)); }

/* Two row ranges (the first of an odd count of rows when it can), so variants must honour r0
 * and r1, and those that split output channels for threads run each range as three channel
 * parts. */
static void run_split(const struct mbt_variant *v, const struct mbt_exec *x) {
  const int oh = x->s.oh, mid = oh > 2 ? (oh / 2) | 1 : oh / 2;
  if (v->flags & MBT_SPLIT_C) {
    for (int part = 0; part < 3; part++) {
      struct mbt_exec xp = *x;
      xp.cpart = part;
      xp.cparts = 3;
      v->fn(&xp, 0, mid);
      v->fn(&xp, mid, oh);
    }
  } else {
    v->fn(x, 0, mid);
    v->fn(x, mid, oh);
  }
}

/* Elements of out (at stride ld per pixel, c channels) outside tolerance of ref (dense). */
static size_t count_bad(const float *out, size_t ld, const float *ref, const float *mag,
                        size_t npix, size_t c, size_t *at) {
  size_t bad = 0;
  for (size_t p = 0; p < npix; p++)
    for (size_t k = 0; k < c; k++) {
      const size_t i = p * c + k;
      if (!(fabs((double)out[p * ld + k] - ref[i]) <= 1e-6 + 1e-5 * mag[i]) && !bad++) *at = i;
    }
  return bad;
}

/* The variant again with padded pixel strides: depthwise reading an input of stride ic + 3
 * (padding NaN), pointwise writing (and adding a residual of) stride oc + 3, whose padding must
 * stay as it was.  Returns 1 when the strided run agrees with the reference. */
static int strided(const struct mbt_variant *v, const struct mbt_exec *x, const float *ref,
                   const float *mag) {
  const struct mbt_kshape *l = &x->s;
  const size_t npin = (size_t)l->ih * l->iw, npix = (size_t)l->oh * l->ow;
  const size_t ci = (size_t)l->ic, co = (size_t)l->oc, ld = (l->op == MBT_KOP_DWCONV ? ci : co) + 3;
  struct mbt_exec y = *x;
  float *sin = NULL, *sout = NULL, *sres = NULL;
  if (l->op == MBT_KOP_DWCONV) {
    sin = exact(npin * ld);
    for (size_t i = 0; i < npin * ld; i++) sin[i] = NAN;
    for (size_t p = 0; p < npin; p++) memcpy(sin + p * ld, x->in + p * ci, ci * sizeof(float));
    y.in = sin, y.ldi = ld;
    sout = exact(npix * co);
    for (size_t i = 0; i < npix * co; i++) sout[i] = NAN;
  } else {
    sout = exact(npix * ld);
    for (size_t i = 0; i < npix * ld; i++) sout[i] = (i % ld) < co ? NAN : 7.0f;
    if (x->res) {
      sres = exact(npix * ld);
      for (size_t p = 0; p < npix; p++)
        for (size_t k = 0; k < ld; k++) sres[p * ld + k] = k < co ? x->res[p * co + k] : NAN;
      y.res = sres;
    }
    y.ldo = ld;
  }
  y.out = sout;
  run_split(v, &y);
  size_t at = 0;
  const size_t lo = l->op == MBT_KOP_DWCONV ? co : ld;
  int good = count_bad(sout, lo, ref, mag, npix, co, &at) == 0;
  if (l->op == MBT_KOP_PWCONV)
    for (size_t p = 0; p < npix; p++)
      for (size_t k = co; k < ld; k++) good &= sout[p * ld + k] == 7.0f;
  free(sin), free(sout), free(sres);
  return good;
}

/* Run every runnable variant of l.op on l; return the number of failing variants. */
static int check(const struct mbt_layer *l, struct mbt_rng *r, const char *what) {
  const size_t nin = (size_t)l->ih * l->iw * l->ic, nout = (size_t)l->oh * l->ow * l->oc;
  const size_t nw = mbt_layer_weight_count(l);
  float *in = exact(nin), *w = exact(nw), *b = exact((size_t)l->oc);
  float *res = l->res >= -1 ? exact(nout) : NULL;
  float *ain = exact(nin), *aw = exact(nw), *ab = exact((size_t)l->oc), *ares = res ? exact(nout) : NULL;
  float *ref = exact(nout), *mag = exact(nout), *out = exact(nout + CANARY);
  for (size_t i = 0; i < nin; i++) ain[i] = fabsf(in[i] = mbt_rng_range(r, -2.0f, 2.0f));
  mbt_layer_init_weights(l, w, l->op == MBT_OP_GAVGPOOL ? NULL : b, r);
  if (l->op == MBT_OP_GAVGPOOL) memset(b, 0, (size_t)l->oc * sizeof *b);
  for (size_t i = 0; i < nw; i++) aw[i] = fabsf(w[i]);
  for (int i = 0; i < l->oc; i++) ab[i] = fabsf(b[i]);
  for (size_t i = 0; res && i < nout; i++) ares[i] = fabsf(res[i] = mbt_rng_range(r, -3.0f, 3.0f));
  struct mbt_exec x = {mbt_layer_kshape(l), in, ref, res, w, l->op == MBT_OP_GAVGPOOL ? NULL : b, 0, 0, NULL, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, NULL, 0};
  mbt_exec_act(&x);
  mbt_ref_fn(x.s.op)(&x, 0, l->oh);
  struct mbt_exec xm = {mbt_layer_kshape(l), ain, mag, ares, aw, l->op == MBT_OP_GAVGPOOL ? NULL : ab, -INFINITY, INFINITY, NULL, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, NULL, 0};
  mbt_ref_fn(x.s.op)(&xm, 0, l->oh);
  int nv, failures = 0;
  const struct mbt_variant *all = mbt_registry_all(&nv);
  for (int v = 0; v < nv; v++) {
    if (all[v].op != x.s.op || !mbt_registry_find(all[v].name, &x.s)) continue;
    for (size_t i = 0; i < nout; i++) out[i] = NAN;
    memset(out + nout, 0xA5, CANARY * sizeof(float));
    x.out = out;
    float *packed = NULL;
    if (mbt_variant_pack(&all[v], &x.s, w, &packed) != MBT_OK) {
      ok(0, "%s %s: cannot pack weights", all[v].name, what);
      failures++;
      continue;
    }
    mbt_exec_bind(&x, &all[v], packed);
    run_split(&all[v], &x);
    double worst = 0;
    size_t bad = 0, at = 0;
    for (size_t i = 0; i < nout; i++) {
      const double tol = 1e-6 + 1e-5 * mag[i], err = fabs((double)out[i] - ref[i]);
      if (!(err <= tol)) {
        if (!bad) at = i;
        bad++;
      }
      if (err / tol > worst) worst = err / tol;
    }
    const int pixel_strides = l->op == MBT_OP_DWCONV || l->op == MBT_OP_PWCONV;
    const int stride_ok = !pixel_strides || strided(&all[v], &x, ref, mag);
    mbt_free(packed);
    x.packed = NULL;
    int canary = 1;
    const unsigned char *cb = (const unsigned char *)(out + nout);
    for (size_t i = 0; i < CANARY * sizeof(float); i++) canary &= cb[i] == 0xA5;
    if (!ok(bad == 0 && canary && stride_ok, "%s %s%s", all[v].name, what,
            pixel_strides ? " (and at a padded pixel stride)" : "")) {
      diag("%zu of %zu elements out of tolerance (first at %zu: got %g want %g), canary %s, "
           "padded pixel stride %s", bad, nout, at, out[at], ref[at],
           canary ? "intact" : "OVERWRITTEN", stride_ok ? "agrees" : "DISAGREES");
      failures++;
    }
  }
  free(in), free(w), free(b), free(res), free(ain), free(aw), free(ab), free(ares);
  free(ref), free(mag), free(out);
  return failures;
}

/* The lines a pointwise layer fetches ahead for a later one (mbt_pw_ahead): over a random
 * grid of row parts x channel parts, every line falls in exactly one call's share, and each
 * call's tiles, at the lines per tile it returns, cover its share. */
static void check_ahead(struct mbt_rng *r) {
  static unsigned char seen[70000];
  for (int trial = 0; trial < 40; trial++) {
    const size_t lines = 1 + mbt_rng_next(r) % 69999;
    const int oh = 1 + (int)(mbt_rng_next(r) % 57), rp = 1 + (int)(mbt_rng_next(r) % oh % 9);
    const int cp = 1 + (int)(mbt_rng_next(r) % 5);
    const float *base = (const float *)seen; /* only the offsets are looked at */
    struct mbt_exec x = {0};
    x.s.oh = oh, x.ahead = base, x.ahead_lines = lines, x.cparts = cp;
    memset(seen, 0, lines);
    int cover = 1;
    for (int c = 0; c < cp; c++)
      for (int p = 0; p < rp; p++) {
        const size_t tiles = 1 + mbt_rng_next(r) % 300;
        size_t a0, a1;
        x.cpart = c;
        const size_t per = mbt_pw_ahead(&x, oh * p / rp, oh * (p + 1) / rp, tiles, &a0, &a1);
        if (a1 > a0 && per * tiles < a1 - a0) cover = 0;
        for (size_t k = a0; k < a1 && k < lines; k++) seen[k]++;
      }
    size_t once = 0;
    for (size_t k = 0; k < lines; k++) once += seen[k] == 1;
    ok(once == lines && cover, "ahead: %zu lines over %d rows in %d x %d parts: %zu once%s",
       lines, oh, rp, cp, once, cover ? "" : ", a call's tiles fall short");
  }
  struct mbt_exec none = {0};
  size_t a0 = 1, a1 = 1;
  ok(mbt_pw_ahead(&none, 0, 1, 10, &a0, &a1) == 0 && a0 == 0 && a1 == 0,
     "ahead: a layer with no lines ahead fetches none");
}

int main(void) {
  struct mbt_rng r;
  mbt_rng_seed(&r, test_seed());
  char what[128];
  check_ahead(&r);
  /* Tile edges: channels == 8, multiple, fewer, more; width 1; stride 1 and 2; K 3 and 5;
   * both activations; pointwise with and without the residual. */
  static const int chans[] = {1, 7, 8, 9, 16, 17, 33};
  static const int widths[] = {1, 2, 5, 9};
  for (size_t ci = 0; ci < sizeof chans / sizeof chans[0]; ci++)
    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
      for (int k = 3; k <= 5; k += 2)
        for (int s = 1; s <= 2; s++) {
          const int c = chans[ci], wd = widths[wi], h = 1 + (int)(ci + wi) % 6;
          /* every activation: linear, relu6, hswish, relu, hsigmoid, silu, sigmoid */
          const enum mbt_act act = (enum mbt_act)((ci + wi + k + s) % MBT_ACT_COUNT);
          snprintf(what, sizeof what, "dw h=%d w=%d c=%d k=%d s=%d act=%d", h, wd, c, k, s, act);
          struct mbt_layer l = make(MBT_OP_DWCONV, h, wd, c, 0, k, s, act, 0);
          check(&l, &r, what);
        }
  static const int pw_oc[] = {1, 8, 15, 16, 17, 24, 40};
  for (size_t ci = 0; ci < sizeof chans / sizeof chans[0]; ci++)
    for (size_t oi = 0; oi < sizeof pw_oc / sizeof pw_oc[0]; oi++) {
      const int h = 1 + (int)oi % 3, wd = 1 + (int)(ci * 5 + oi) % 8;
      const int res = (ci + oi) % 3 == 0;
      snprintf(what, sizeof what, "pw h=%d w=%d ic=%d oc=%d res=%d", h, wd, chans[ci], pw_oc[oi], res);
      struct mbt_layer l = make(MBT_OP_PWCONV, h, wd, chans[ci], pw_oc[oi], 1, 1,
                                (enum mbt_act)((oi + ci) % MBT_ACT_COUNT), res);
      check(&l, &r, what);
    }
  /* Seeded random MobileNet-like shapes for every op. */
  for (int t = 0; t < 12; t++) {
    const int h = mbt_rng_int(&r, 1, 23), wd = mbt_rng_int(&r, 1, 23);
    const int c = mbt_rng_int(&r, 1, 70), oc = mbt_rng_int(&r, 1, 70);
    const int k = mbt_rng_int(&r, 0, 1) ? 5 : 3, s = mbt_rng_int(&r, 1, 2);
    struct mbt_layer l;
    snprintf(what, sizeof what, "random dw h=%d w=%d c=%d k=%d s=%d", h, wd, c, k, s);
    l = make(MBT_OP_DWCONV, h, wd, c, 0, k, s, (enum mbt_act)((t + 2) % MBT_ACT_COUNT), 0);
    check(&l, &r, what);
    snprintf(what, sizeof what, "random pw h=%d w=%d ic=%d oc=%d", h, wd, c, oc);
    l = make(MBT_OP_PWCONV, h, wd, c, oc, 1, 1, (enum mbt_act)(t % MBT_ACT_COUNT), t % 4 == 0);
    check(&l, &r, what);
    snprintf(what, sizeof what, "random conv h=%d w=%d ic=3 oc=%d k=%d s=%d", h, wd, oc, k, s);
    l = make(MBT_OP_CONV, h, wd, t % 4 == 0 ? c : 3, oc, k, s, (enum mbt_act)((t + 1) % MBT_ACT_COUNT), 0);
    check(&l, &r, what);
    snprintf(what, sizeof what, "random gavgpool h=%d w=%d c=%d", h, wd, c);
    l = make(MBT_OP_GAVGPOOL, h, wd, c, 0, 1, 1, MBT_ACT_NONE, 0);
    check(&l, &r, what);
    snprintf(what, sizeof what, "random fc ic=%d oc=%d", c * 9, oc * 13);
    l = make(MBT_OP_FC, 1, 1, c * 9, oc * 13, 1, 1, (enum mbt_act)(t % MBT_ACT_COUNT), 0);
    check(&l, &r, what);
    snprintf(what, sizeof what, "random scale (SE product) h=%d w=%d c=%d", h, wd, c);
    l = make(MBT_OP_SCALE, h, wd, c, 0, 1, 1, MBT_ACT_NONE, 1); /* the gate comes as res */
    check(&l, &r, what);
  }
  /* Asymmetric padding (TensorFlow's SAME: 0 before and 1 after at stride 2 on an even map;
   * VALID; any other split below the kernel size) on the depthwise and full convolutions:
   * random pads before and after, odd and even sizes, stride 1 and 2, 3x3 and 5x5. */
  for (int t = 0; t < 40; t++) {
    const int k = t % 2 ? 5 : 3, s = 1 + (t / 2) % 2;
    const int pt = t < 8 ? 0 : mbt_rng_int(&r, 0, k - 1), pb = t < 8 ? 1 : mbt_rng_int(&r, 0, k - 1);
    const int h = mbt_rng_int(&r, k, 40), wd = mbt_rng_int(&r, k, 40);
    const int c = mbt_rng_int(&r, 1, 70), oc = mbt_rng_int(&r, 1, 40);
    struct mbt_layer l = make(t % 4 == 3 ? MBT_OP_CONV : MBT_OP_DWCONV, h, wd, t % 4 == 3 ? 3 : c,
                              oc, k, s, (enum mbt_act)(t % MBT_ACT_COUNT), 0);
    l.pad = pt, l.pad_end = pb;
    l.oh = (h + pt + pb - k) / s + 1, l.ow = (wd + pt + pb - k) / s + 1;
    snprintf(what, sizeof what, "padded %s h=%d w=%d c=%d k=%d s=%d pad=%d,%d -> %dx%d",
             mbt_op_name(l.op), h, wd, l.ic, k, s, pt, pb, l.oh, l.ow);
    check(&l, &r, what);
  }
  /* The shapes MnasNet and EfficientNet bring: 5x5 stride 2 on odd maps, channel counts 40,
   * 80, 112, 192, 320 (not multiples of 64), SiLU and sigmoid epilogues, pointwise layers
   * between them. */
  static const int mnas_c[] = {40, 80, 112, 192, 320};
  static const int odd_map[] = {15, 29, 7, 57, 13};
  for (int t = 0; t < 5; t++) {
    const int c = mnas_c[t], hw = odd_map[t];
    struct mbt_layer l = make(MBT_OP_DWCONV, hw, hw, c, 0, 5, 2,
                              t % 2 ? MBT_ACT_SILU : MBT_ACT_RELU, 0);
    snprintf(what, sizeof what, "EfficientNet/MnasNet dw 5x5 s2 %dx%dx%d", hw, hw, c);
    check(&l, &r, what);
    l = make(MBT_OP_PWCONV, (hw + 1) / 2, (hw + 1) / 2, c, mnas_c[(t + 1) % 5], 1, 1,
             t % 2 ? MBT_ACT_SIGMOID : MBT_ACT_NONE, t % 2 == 0 && c == mnas_c[(t + 1) % 5]);
    snprintf(what, sizeof what, "EfficientNet/MnasNet pw %dx%d %d -> %d", (hw + 1) / 2,
             (hw + 1) / 2, c, mnas_c[(t + 1) % 5]);
    check(&l, &r, what);
  }
  /* Stems wide enough for whole tiles of 14 pixels inside the input (the direct kernels' fast
   * path) beside the edge tiles: odd widths, output channels that are not a multiple of 16. */
  for (int t = 0; t < 6; t++) {
    const int h = mbt_rng_int(&r, 24, 61), wd = mbt_rng_int(&r, 24, 61);
    const int oc = mbt_rng_int(&r, 1, 40), k = t % 3 == 2 ? 5 : 3, s = 1 + t % 2;
    snprintf(what, sizeof what, "wide conv h=%d w=%d ic=3 oc=%d k=%d s=%d", h, wd, oc, k, s);
    struct mbt_layer l = make(MBT_OP_CONV, h, wd, 3, oc, k, s, (enum mbt_act)(t % MBT_ACT_COUNT), 0);
    check(&l, &r, what);
  }
  /* Global pools over more than one 64-channel pass and pixel counts that are not a multiple
   * of 4 (the AVX-512 pool's streams): the squeezes and last pools of V3 (56x56x16, 7x7x576,
   * 7x7x960), V1's and V2's (7x7x1024, 7x7x1280), and small odd ones. */
  static const int pool_hw[][3] = {{56, 56, 16}, {7, 7, 576}, {7, 7, 960}, {7, 7, 1024},
                                   {7, 7, 1280}, {1, 1, 65}, {1, 3, 100}, {5, 1, 129},
                                   {3, 3, 200}, {2, 1, 17}};
  for (size_t t = 0; t < sizeof pool_hw / sizeof pool_hw[0]; t++) {
    const int h = pool_hw[t][0], wd = pool_hw[t][1], c = pool_hw[t][2];
    snprintf(what, sizeof what, "gavgpool h=%d w=%d c=%d", h, wd, c);
    struct mbt_layer l = make(MBT_OP_GAVGPOOL, h, wd, c, 0, 1, 1, MBT_ACT_NONE, 0);
    check(&l, &r, what);
  }
  /* 3x3 stride-2 RGB stems with output channels a multiple of 4 (the pixels-in-lanes kernels:
   * AVX2 takes 4 | oc, AVX-512 8 | oc):
   * rows of 1 to 100 output pixels (a last tile of 1, 2 or 3 pixel vectors, a last vector
   * partly past the row), odd and even input sizes, padding 0 or 1 before and 0 or 1 after. */
  for (int t = 0; t < 16; t++) {
    const int pt = t % 2, pb = (t / 2) % 2;
    const int h = mbt_rng_int(&r, 3, 30), wd = t < 4 ? 3 + t : mbt_rng_int(&r, 3, 200);
    const int oc = 4 * mbt_rng_int(&r, 1, 10);
    struct mbt_layer l = make(MBT_OP_CONV, h, wd, 3, oc, 3, 2, (enum mbt_act)(t % MBT_ACT_COUNT), 0);
    l.pad = pt, l.pad_end = pb;
    l.oh = (h + pt + pb - 3) / 2 + 1, l.ow = (wd + pt + pb - 3) / 2 + 1;
    snprintf(what, sizeof what, "stem 3x3 s2 h=%d w=%d oc=%d pad=%d,%d -> %dx%d", h, wd, oc, pt,
             pb, l.oh, l.ow);
    check(&l, &r, what);
  }
  /* Every MobileNet V1, V2 and V3 depthwise layer shape and stem (1.0, 224; 3x3 and 5x5), with
   * the variants the host has. */
  for (int net = MBT_NET_V1; net <= MBT_NET_V3S; net++) {
    struct mbt_model m;
    mbt_model_build((enum mbt_net_kind)net, 1.0, 224, &m);
    for (int i = 0; i < m.nlayers; i++) {
      struct mbt_layer l = m.layers[i];
      if (l.op != MBT_OP_DWCONV && l.op != MBT_OP_CONV) continue; /* pw shapes: test-cli */
      snprintf(what, sizeof what, "%s %s", mbt_net_name(m.kind), l.name);
      check(&l, &r, what);
    }
    mbt_model_free(&m);
  }
  return done();
}
