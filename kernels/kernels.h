/* kernels/kernels.h -- the problem-level variant contract and the registry.
 *
 * A variant computes output rows [r0, r1) of one problem (struct mbt_kshape: NHWC fp32, batch
 * 1), so a driver can split it over threads by rows.  The kernels floor knows problems, not
 * networks: a caller converts its layer (net/net.h: mbt_layer_kshape).  Weight layouts
 * ("natural" layouts, as the engine stores them; BN is already folded into weights and bias):
 *   conv    w[k][k][ic][oc]   (HWIO: output channels contiguous)
 *   dwconv  w[k][k][c]
 *   pwconv  w[ic][oc]
 *   fc      w[ic][oc]
 * Epilogue, in order: y = clamp(acc + bias[c], lo, hi), then the function post says (hard-swish
 * y relu6(y + 3) / 6, SiLU y / (1 + exp(-y)) or the sigmoid 1 / (1 + exp(-y)); kernels/post.h),
 * then y + res (res NULL = none).  The pool and
 * fully connected layers have oh = ow = 1, so they have one row. */
#ifndef MBT_KERNELS_H
#define MBT_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* The operations and epilogue activations the kernels compute.  The values are the network's
 * (enum mbt_op, enum mbt_act of include/mobitune.h; net/net.h checks that they agree), so a
 * layer converts by copying its fields. */
enum mbt_kop {
  MBT_KOP_CONV = 0, /* full KxK convolution (the stem) */
  MBT_KOP_DWCONV,   /* depthwise KxK */
  MBT_KOP_PWCONV,   /* pointwise 1x1 */
  MBT_KOP_GAVGPOOL, /* global average pool */
  MBT_KOP_FC,       /* fully connected */
  MBT_KOP_SCALE,    /* out = in x gate, per channel (the gate arrives as res, 1 x 1 x C) */
  MBT_KOP_COUNT
};
enum mbt_kact {
  MBT_KACT_NONE = 0, /* linear */
  MBT_KACT_RELU6,    /* min(max(x, 0), 6) */
  MBT_KACT_HSWISH,   /* x relu6(x + 3) / 6 */
  MBT_KACT_RELU,     /* max(x, 0) */
  MBT_KACT_HSIGMOID, /* relu6(x + 3) / 6, folded into the weights: a clamp to [0, 1] */
  MBT_KACT_SILU,     /* x sigmoid(x) (swish: EfficientNet) */
  MBT_KACT_SIGMOID,  /* 1 / (1 + exp(-x)) (EfficientNet's squeeze-and-excitation gate) */
  MBT_KACT_COUNT
};
/* The epilogue function after the clamp (struct mbt_exec's post). */
enum mbt_post { MBT_POST_NONE = 0, MBT_POST_HSWISH, MBT_POST_SILU, MBT_POST_SIGMOID };

/* One problem: what a variant needs to know of the layer it computes. */
struct mbt_kshape {
  enum mbt_kop op;
  int ih, iw, ic;     /* input height, width, channels */
  int oh, ow, oc;     /* output */
  int k, stride, pad; /* kernel size, stride, top/left padding (bottom/right implied) */
  enum mbt_kact act;  /* epilogue after bias (mbt_exec_act) */
};

struct mbt_exec {
  struct mbt_kshape s; /* the problem (a copy: a driver may narrow it to a strip) */
  const float *in;
  float *out;
  const float *res;
  const float *w;
  const float *b;
  float lo, hi;
  const float *packed; /* the variant's packed weights, when it has a packer (else NULL) */
  int mc, kc;          /* block sizes of the variant's driver (pixels, reduction), 0 = unused */
  int orow0;           /* depthwise: out and res hold rows from orow0 on (a strip buffer); the
                        * full convolution: out holds rows from orow0 on (a block's window); the
                        * last pointwise layer of a fused driver: out holds rows from orow0 on */
  int cpart, cparts;   /* MBT_SPLIT_C variants: compute output-channel part cpart of cparts */
  int post;            /* enum mbt_post: the function after the clamp */
  int irow0;           /* depthwise only: in holds input rows from irow0 on (a window buffer);
                        * every input row the called output rows read must be in it */
  size_t ldi;          /* depthwise only: floats from one input pixel to the next (0 = ic) */
  size_t ldo;          /* pointwise only: floats from one output pixel to the next, in out and
                        * res alike (0 = oc) */
  int full_oh;         /* pointwise only: when s is a strip of a layer (a fused driver's), the
                        * layer's output rows (0 = s.oh): its output's size, not the strip's,
                        * says whether the output lines are fetched ahead (mbt_prefetch_out) */
  const float *ahead;  /* MBT_AHEAD variants: 64-byte lines of a later layer's weights (a
                        * classifier's, read once a run and so from memory) to fetch into the
                        * caches while this layer computes, ahead_lines of them from ahead; a
                        * call fetches its rows' and channel part's share (NULL = none) */
  size_t ahead_lines;
};

/* The pixel stride the engine gives a pointwise layer's output that only a depthwise layer
 * reads: 16 floats more when the channels are a multiple of 256.  At a stride of 1, 2 or 4 KiB
 * every pixel's channel vector falls in the same two L1 sets, and the depthwise kernels ran at
 * half speed (14x14x512 stride 2: 29 ns per channel against 15 at 480 or 528 channels).  Other
 * channel counts round up to a multiple of 16 floats, so that every pixel starts on a 64-byte
 * line: at 72 channels (288 bytes) every other pixel's vectors each straddled two lines
 * (56x56x72 3x3: 46.7 against 45.6 us at a stride of 80, 120 channels 71.9 against 67.9). */
static inline size_t mbt_act_stride(int c) {
  return c % 16 ? (size_t)(c + 15) / 16 * 16 : c % 256 == 0 ? (size_t)c + 16 : (size_t)c;
}

/* Variant flags. */
#define MBT_SPLIT_C 1 /* honours cpart/cparts, so threads can split output channels */
#define MBT_KBLOCKS 2 /* the tiled pointwise driver: with more input channels than its kc, the
                       * partial sums of the reduction blocks go through the output */
#define MBT_FOLD 4    /* a squeeze-and-excitation scale that the engine folds into the next
                       * pointwise layer's weights where it can (net/engine.c); alone, its
                       * function scales the activations */
#define MBT_AHEAD 8   /* the tiled pointwise driver: fetches struct mbt_exec's ahead lines */

typedef void (*mbt_layer_fn)(const struct mbt_exec *e, int r0, int r1);

/* Weights packed once at load time into the layout a variant's micro-kernel wants. */
struct mbt_packer {
  size_t (*size)(const struct mbt_kshape *s); /* floats */
  void (*pack)(const struct mbt_kshape *s, const float *w, float *dst);
  int nr; /* output channels per packed panel: the unit a thread's channel part is made of */
  /* floats per packed row, each row one input channel's, the rows cycling through the input
   * channels (a panel's, then the next panel's); NULL: not laid out so */
  size_t (*row)(const struct mbt_kshape *s);
};

struct mbt_variant {
  const char *name;   /* stable: "<driver>/<kernel name>"; appears in plans and reports */
  enum mbt_kop op;
  uint32_t isa;       /* ISA bits that must all be present at run time */
  int rank;           /* static preference when no plan says otherwise (higher = tried first) */
  mbt_layer_fn fn;
  int (*applicable)(const struct mbt_kshape *s); /* NULL = any problem of this op */
  const struct mbt_packer *packer;               /* NULL = natural weights */
  int mc, kc;                                    /* driver block sizes, part of the name */
  int flags;                                     /* MBT_SPLIT_C ... */
};

/* The tiled pointwise driver's pixel and reduction blocks where a variant sets none. */
#define MBT_PW_MC 72
#define MBT_PW_KC 256

/* 1 when variant @p v sends partial sums through its output on @p ic input channels. */
static inline int mbt_variant_kblocks(const struct mbt_variant *v, int ic) {
  return (v->flags & MBT_KBLOCKS) && ic > (v->kc > 0 ? v->kc : MBT_PW_KC);
}

/* The panels [*j0, *j1) of @p np that output-channel part @p cpart of @p cparts computes (the
 * MBT_SPLIT_C share: as even as whole panels allow). */
static inline void mbt_cpart_panels(size_t np, int cpart, int cparts, size_t *j0, size_t *j1) {
  const size_t parts = cparts > 1 ? (size_t)cparts : 1;
  *j0 = np * (size_t)cpart / parts, *j1 = np * (size_t)(cpart + 1) / parts;
}

/* Point @p x at what variant @p v needs: its packed weights and block sizes. */
static inline void mbt_exec_bind(struct mbt_exec *x, const struct mbt_variant *v,
                                 const float *packed) {
  x->packed = packed;
  x->mc = v->mc;
  x->kc = v->kc;
}

/* Allocate and fill the packed weights of @p v for @p s (*packed = NULL when it needs none).
 * @return 0, or MBT_ENOMEM (an enum mbt_status, recorded with mbt_fail): the floor returns
 * plain ints so that it needs no header above common/. */
int mbt_variant_pack(const struct mbt_variant *v, const struct mbt_kshape *s, const float *w,
                     float **packed);

/* Every variant this build has, whether or not the host can run it. */
const struct mbt_variant *mbt_registry_all(int *n);
/* The kernel families of the ISA table (machine/isa.h) that this build has variants of
 * ("...__avx2") and the host runs, narrow to wide, at most @p max.  @return how many. */
struct mbt_isa_info;
int mbt_registry_families(const struct mbt_isa_info **out, int max);
/* Variants for @p s that the host can run (after the MBT_ISA cap), best static rank first.
 * Returns the count written to @p out (at most max). */
int mbt_registry_candidates(const struct mbt_kshape *s, const struct mbt_variant **out, int max);
/* The variant called @p name, when the host can run it and it applies to @p s; else NULL. */
const struct mbt_variant *mbt_registry_find(const char *name, const struct mbt_kshape *s);
/* 16-hex-digit hash of the sorted names of every variant in this build. */
const char *mbt_registry_signature(void);
/* Set the epilogue of @p x for its problem's activation x->s.act (clamp range, hard-swish). */
void mbt_exec_act(struct mbt_exec *x);

/* Fused depthwise + pointwise (kernels/drivers/fused.c): rows [r0, r1) of the pointwise output,
 * computed @p rows depthwise rows at a time into @p scratch (rows x ow x c floats), which the
 * pointwise variant consumes at once, so the depthwise output never travels to memory. */
void mbt_drv_dwpw_fused(const struct mbt_variant *dwv, const struct mbt_exec *dw,
                        const struct mbt_variant *pwv, const struct mbt_exec *pw, int rows,
                        float *scratch, int r0, int r1);
/* Fused pointwise (or full convolution) + depthwise + pointwise: rows [r0, r1) of the last
 * layer's output, @p rows depthwise rows at a time; the first layer's rows go into @p window
 * (((rows - 1) S + K) x iw x c floats of the depthwise layer), the depthwise strip into
 * @p scratch (rows x ow x c).  With pw->res == ex->out the last layer's residual is the first
 * layer's output, read from the window (a depthwise layer of stride 1 and same padding). */
void mbt_drv_pwdwpw_fused(const struct mbt_variant *exv, const struct mbt_exec *ex,
                          const struct mbt_variant *dwv, const struct mbt_exec *dw,
                          const struct mbt_variant *pwv, const struct mbt_exec *pw, int rows,
                          float *window, float *scratch, int r0, int r1);

/* Reference kernels (kernels/ref/ref.c): plain loops with double accumulation, the oracle. */
void mbt_ref_conv(const struct mbt_exec *e, int r0, int r1);
void mbt_ref_dwconv(const struct mbt_exec *e, int r0, int r1);
void mbt_ref_pwconv(const struct mbt_exec *e, int r0, int r1);
void mbt_ref_gavgpool(const struct mbt_exec *e, int r0, int r1);
void mbt_ref_fc(const struct mbt_exec *e, int r0, int r1);
void mbt_ref_scale(const struct mbt_exec *e, int r0, int r1);
/* The reference kernel of an op. */
mbt_layer_fn mbt_ref_fn(enum mbt_kop op);

int mbt_conv_im2col_applicable(const struct mbt_kshape *s);
int mbt_conv_direct_applicable(const struct mbt_kshape *s);
/* mbt_conv_direct_applicable, and an edge tile's zero-padded patch fits the 14x16 kernel's
 * buffer (f32-conv-minmax-14x16-avx512f.c). */
int mbt_conv14_applicable(const struct mbt_kshape *s);
/* 3x3, stride 2, 3 input channels, padding <= 1, output channels a multiple of 8, rows of at
 * most 512 pixels (f32-conv-minmax-3x3s2c3-8x48-avx512f.c). */
int mbt_conv_3x3s2c3_applicable(const struct mbt_kshape *s);
/* The same with output channels a multiple of 4 (f32-conv-minmax-3x3s2c3-4x24-avx2.c). */
int mbt_conv_3x3s2c3_avx2_applicable(const struct mbt_kshape *s);
/* The direct convolutions' weight panels of @p nr columns (f32-misc-scalar.c): floats, and the
 * packing. */
size_t mbt_conv_pack_size(const struct mbt_kshape *s, int nr);
/* The input offset of each (ky, kx, ci) tap of @p s from a tile's corner pixel, in the packed
 * weights' order (k <= 7, ic <= 16: mbt_conv_direct_applicable). */
#define MBT_CONV_TAPS_MAX (16 * 7 * 7)
void mbt_conv_taps(const struct mbt_kshape *s, size_t *off);
void mbt_conv_pack(const struct mbt_kshape *s, const float *w, float *dst, int nr);
extern const struct mbt_packer mbt_pack_f32_conv_nr32__avx2, mbt_pack_f32_conv_nr16__avx512f;
int mbt_dw_3x3s1_applicable(const struct mbt_kshape *s);
int mbt_dw_3x3s2_applicable(const struct mbt_kshape *s);
int mbt_dw_5x5s1_applicable(const struct mbt_kshape *s);
int mbt_dw_5x5s2_applicable(const struct mbt_kshape *s);
extern const struct mbt_packer mbt_pack_f32_nr8, mbt_pack_f32_nr16, mbt_pack_f32_nr24,
    mbt_pack_f32_nr32,
    mbt_pack_f32_nr48, mbt_pack_f32_nr64;
/* The pixel-pair pointwise kernels (f32-pwconv-minmax-pairs-avx512f.c): 24 or 40 output
 * channels, and their weights, each row twice. */
int mbt_pw_pairs24_applicable(const struct mbt_kshape *s);
int mbt_pw_pairs40_applicable(const struct mbt_kshape *s);
extern const struct mbt_packer mbt_pack_f32_pairs;

/* The variant declarations, from the per-family enumerator files. */
#define MBT_VARIANT(isa, op, rank, name, fn, applicable, packer, mc, kc, flags) \
  void fn(const struct mbt_exec *e, int r0, int r1);
#include "kernels/f32-dwconv/f32-dwconv.inc"
#include "kernels/f32-pwconv/f32-pwconv.inc"
#include "kernels/f32-misc/f32-misc.inc"
#undef MBT_VARIANT

static inline float mbt_clampf(float v, float lo, float hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* The scalar epilogue function @p post (enum mbt_post). */
static inline float mbt_postf(int post, float v) {
  switch (post) {
    case MBT_POST_HSWISH: return v * mbt_clampf(v + 3.0f, 0.0f, 6.0f) * (1.0f / 6.0f);
    case MBT_POST_SILU: return v / (1.0f + expf(-v));
    case MBT_POST_SIGMOID: return 1.0f / (1.0f + expf(-v));
    default: return v;
  }
}

/* Every 64-byte line of the @p bytes (> 0) from @p p, with __builtin_prefetch's @p rw, once
 * each.  (Walking by pointer from p, plus the last byte's line, fetched one line more per range
 * and ran V1 0.7-3.6% slower; the addresses are integers here so that no pointer leaves its
 * object.) */
#define MBT_PREFETCH_RANGE(p, bytes, rw)                                                       \
  do {                                                                                         \
    const uintptr_t a0_ = (uintptr_t)(const void *)(p) & ~(uintptr_t)63;                       \
    const uintptr_t a1_ = (uintptr_t)(const void *)(p) + (bytes) - 1;                          \
    for (uintptr_t a_ = a0_; a_ <= a1_; a_ += 64) __builtin_prefetch((const void *)a_, (rw), 3); \
  } while (0)

/* Fetch for writing the output lines of @p n pixels from @p c, @p ld floats apart, @p cols
 * floats each, ahead of the stores.  A network's big early outputs have left every cache by the
 * next run, and stores to missing lines, bunched at a register tile's end, wait for them: the
 * hardware prefetcher does not run ahead of stores.  Inside V1 the 112x112x32 stem took 0.35 ms
 * against 0.18 alone, its 112x112x64 pointwise layer 330 us against 225. */
static inline void mbt_prefetch_out(const float *c, size_t n, size_t ld, size_t cols) {
  for (size_t i = 0; i < n; i++) MBT_PREFETCH_RANGE(c + i * ld, cols * sizeof(float), 1);
}

/* A direct convolution tile's share of that: the @p n pixels that start @p ahead pixels after
 * (oy, ox) in the row-major output, as far as rows [.., r1) go, from channel c0 of the first to
 * channel c1 of the last (with a channel part, the lines between belong to other threads). */
static inline void mbt_conv_prefetch_out(const struct mbt_exec *e, int oy, int ox, int ahead,
                                         int n, int r1, size_t c0, size_t c1) {
  const size_t ow = (size_t)e->s.ow, oc = (size_t)e->s.oc;
  const size_t px = (size_t)(oy - e->orow0) * ow + (size_t)ox + (size_t)ahead;
  const size_t end = (size_t)(r1 - e->orow0) * ow;
  if (c1 > oc) c1 = oc;
  if (px >= end || c0 >= c1) return;
  const size_t m = end - px < (size_t)n ? end - px : (size_t)n;
  mbt_prefetch_out(e->out + px * oc + c0, 1, 0, (m - 1) * oc + (c1 - c0));
}

/* The input a direct convolution tile of @p n pixels at (oy + 1, ox) reads and the tile at
 * (oy, ox) does not (the rows below): fetched a row of tiles ahead.  The network's input has
 * left every cache by the next run (V1's stem: 0.20 ms with a cold input, 0.14 with a warm one). */
static inline void mbt_conv_prefetch_in(const struct mbt_exec *e, int oy, int ox, int n) {
  const struct mbt_kshape *l = &e->s;
  const int s = l->stride, k = l->k, ic = l->ic;
  const int y0 = (oy + 1) * s - l->pad, ya = y0 + k - s > y0 ? y0 + k - s : y0;
  const int x0 = ox * s - l->pad, x1 = x0 + (n - 1) * s + k - 1;
  const int xa = x0 < 0 ? 0 : x0, xb = x1 >= l->iw ? l->iw - 1 : x1;
  for (int y = ya < 0 ? 0 : ya; y < y0 + k && y < l->ih; y++)
    MBT_PREFETCH_RANGE(e->in + ((size_t)y * l->iw + (size_t)xa) * ic,
                       (size_t)(xb + 1 - xa) * ic * sizeof(float), 0);
}

/* The scalar epilogue activation: clamp, then the function post says. */
static inline float mbt_actf(const struct mbt_exec *e, float v) {
  return mbt_postf(e->post, mbt_clampf(v, e->lo, e->hi));
}

#endif
