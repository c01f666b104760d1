/* bench/bench-onednn.c -- MobileNet V1/V2 in oneDNN (Debian's libdnnl) beside mobitune, on the
 * same weights and input, measured in one run with the configurations interleaved round by
 * round.  oneDNN is used as its documentation recommends for speed: activations and weights in
 * format_tag any (its blocked layouts, weights reordered once at build time), ReLU6 as an
 * eltwise clip post-op, the V2 residual as a binary-add post-op, and -- in the "fused" mode --
 * each depthwise 3x3 that follows a 1x1 convolution fused into it as a depthwise post-op.
 * The logits of every configuration are compared with mobitune's reference path, so the
 * comparison is also an independent check of mobitune's numbers.
 *
 * usage: bench-onednn [--net v1|v2 | --net-file FILE] [--threads N] [--runs N] [--plan FILE]
 * The V3 networks (--net v3-large | v3-small) run too: hard-swish as oneDNN's hardswish
 * post-op, the (folded) hard sigmoid as a clip post-op, each squeeze-and-excitation as a
 * pooling, two inner products and a binary multiply of the depthwise output by the gate (a
 * step of its own, broadcast over the map).  A described network (--net-file: MnasNet, a
 * TensorFlow-padded V2, ...) runs when its layers are built of these: convolutions, pools,
 * fully connected layers, scales, residual adds, and linear, ReLU, ReLU6, SiLU, sigmoid,
 * hard-swish or hard-sigmoid epilogues. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench/compare.h"
#include "common/common.h"
#include "machine/machine.h"
#include "net/net.h"
#include "tuner/tuner.h"

#define CHECK(call)                                                                            \
  do {                                                                                         \
    dnnl_status_t s_ = (call);                                                                 \
    if (s_ != dnnl_success) {                                                                  \
      fprintf(stderr, "bench-onednn: %s failed (status %d) at %s:%d\n", #call, (int)s_,         \
              __FILE__, __LINE__);                                                             \
      exit(1);                                                                                 \
    }                                                                                          \
  } while (0)

/* Each layer adds at most three steps (a reorder of its source, of its residual, its
 * primitive) and the network one more (the logits' reorder); every memory one step makes. */
#define MAX_STEPS (3 * MBT_MAX_LAYERS + 1)
#define MAX_ARGS 8

struct step {
  dnnl_primitive_t p;
  int nargs;
  dnnl_exec_arg_t args[MAX_ARGS];
};

struct dnet {
  dnnl_engine_t eng;
  dnnl_stream_t st;
  int nsteps, nmems;
  int nconv, nref; /* convolutions and scales, those oneDNN runs in its reference code */
  int nres_moved;   /* residuals added in the layout their convolution picked (conv_pd_moved) */
  int nfused_dw;    /* depthwise layers run as a post-op of the 1x1 before them */
  char ref_first[96];
  struct step steps[MAX_STEPS];
  dnnl_memory_t mems[4 * MAX_STEPS];
  dnnl_memory_t in_user, out_user;
  float *out;
};

/* Past the arrays' sizes: a bug in the counts above, not bad input (the model loader caps a
 * network at MBT_MAX_LAYERS layers). */
static void full(const char *what) {
  fprintf(stderr, "bench-onednn: more %s than the network can need (a bug)\n", what);
  exit(1);
}

static dnnl_memory_t keep(struct dnet *d, dnnl_memory_t m) {
  if (d->nmems >= 4 * MAX_STEPS) full("memories");
  d->mems[d->nmems++] = m;
  return m;
}

static dnnl_memory_t mem(struct dnet *d, const dnnl_memory_desc_t *md, void *handle) {
  dnnl_memory_t m;
  CHECK(dnnl_memory_create(&m, md, d->eng, handle ? handle : DNNL_MEMORY_ALLOCATE));
  return keep(d, m);
}

static void add_step(struct dnet *d, dnnl_primitive_desc_t pd, int nargs,
                     const dnnl_exec_arg_t *args) {
  if (d->nsteps >= MAX_STEPS) full("steps");
  struct step *s = &d->steps[d->nsteps++];
  CHECK(dnnl_primitive_create(&s->p, pd));
  s->nargs = nargs;
  memcpy(s->args, args, (size_t)nargs * sizeof *args);
}

/* Reorder user data (described by @p user_md) into a new memory of layout @p md, now. */
static dnnl_memory_t reorder_now(struct dnet *d, const dnnl_memory_desc_t *user_md,
                                 const float *data, const dnnl_memory_desc_t *md) {
  dnnl_memory_t src = mem(d, user_md, (void *)data), dst = mem(d, md, NULL);
  dnnl_primitive_desc_t rpd;
  dnnl_primitive_t r;
  CHECK(dnnl_reorder_primitive_desc_create(&rpd, user_md, d->eng, md, d->eng, NULL));
  CHECK(dnnl_primitive_create(&r, rpd));
  dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
  CHECK(dnnl_primitive_execute(r, d->st, 2, a));
  CHECK(dnnl_stream_wait(d->st));
  dnnl_primitive_destroy(r);
  dnnl_primitive_desc_destroy(rpd);
  return dst;
}

/* A reorder executed on every run (network input and output). */
static void reorder_step(struct dnet *d, dnnl_memory_t from, dnnl_memory_t to) {
  const dnnl_memory_desc_t *a, *b;
  CHECK(dnnl_memory_get_memory_desc(from, &a));
  CHECK(dnnl_memory_get_memory_desc(to, &b));
  dnnl_primitive_desc_t rpd;
  CHECK(dnnl_reorder_primitive_desc_create(&rpd, a, d->eng, b, d->eng, NULL));
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  add_step(d, rpd, 2, args);
  dnnl_primitive_desc_destroy(rpd);
}

/* User-layout descriptors of mobitune's natural weight layouts. */
static void weights_md(const struct mbt_layer *l, dnnl_memory_desc_t *md) {
  if (l->op == MBT_OP_DWCONV) {
    dnnl_dims_t dims = {l->ic, 1, 1, l->k, l->k};
    CHECK(dnnl_memory_desc_init_by_tag(md, 5, dims, dnnl_f32, dnnl_hwigo)); /* w[k][k][c] */
  } else {
    dnnl_dims_t dims = {l->oc, l->ic, l->k, l->k};
    CHECK(dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, dnnl_hwio)); /* w[k][k][ic][oc] */
  }
}

static void eltwise(dnnl_post_ops_t po, dnnl_alg_kind_t alg, float alpha, float beta) {
  CHECK(dnnl_post_ops_append_eltwise(po, 1.0f, alg, alpha, beta));
}

/* The epilogue of layer @p l as post-ops (linear: none).  The hard sigmoid relu6(x + 3) / 6 is
 * held folded into its layer's weights and bias (include/mobitune.h): a clip to [0, 1]. */
static void act_post_op(dnnl_post_ops_t po, const struct mbt_layer *l) {
  switch (l->act) {
    case MBT_ACT_RELU6: eltwise(po, dnnl_eltwise_clip, 0.0f, 6.0f); break;
    case MBT_ACT_RELU: eltwise(po, dnnl_eltwise_relu, 0.0f, 0.0f); break;
    case MBT_ACT_SILU: eltwise(po, dnnl_eltwise_swish, 1.0f, 0.0f); break;
    case MBT_ACT_SIGMOID: eltwise(po, dnnl_eltwise_logistic, 0.0f, 0.0f); break;
    case MBT_ACT_HSWISH: eltwise(po, dnnl_eltwise_hardswish, 0.0f, 0.0f); break;
    case MBT_ACT_HSIGMOID: eltwise(po, dnnl_eltwise_clip, 0.0f, 1.0f); break;
    default: break;
  }
}

/* 1 when this comparison can build network @p m: layers of the ops above whose epilogues
 * act_post_op writes, a scale's gate the output of a fully connected layer; else names the
 * first layer it cannot on stderr. */
static int buildable(const struct mbt_model *m) {
  for (int i = 0; i < m->nlayers; i++) {
    const struct mbt_layer *l = &m->layers[i];
    const int act_ok = l->act == MBT_ACT_NONE || l->act == MBT_ACT_RELU6 ||
                       l->act == MBT_ACT_RELU || l->act == MBT_ACT_SILU ||
                       l->act == MBT_ACT_SIGMOID || l->act == MBT_ACT_HSWISH ||
                       l->act == MBT_ACT_HSIGMOID;
    const int gate_ok = l->op != MBT_OP_SCALE || (l->res >= 0 && m->layers[l->res].op == MBT_OP_FC);
    if (!act_ok || !gate_ok || l->res == -1) {
      fprintf(stderr, "bench-onednn: layer %s (%s, %s) is not one this comparison builds "
              "(%s)\n", l->name, mbt_op_name(l->op), mbt_act_name(l->act),
              !act_ok ? "an epilogue it has no post-op for"
              : !gate_ok ? "a scale whose gate is not a fully connected layer's output"
                         : "the image added as a residual");
      return 0;
    }
  }
  return 1;
}

/* One layer's step as build() starts it: the layer, its weights, its input, the descriptors of
 * its bias and of an output in any layout, and its (empty) attributes and post-ops. */
struct layer_in {
  const struct mbt_layer *l;
  const float *w, *b;
  dnnl_memory_t cur;
  const dnnl_memory_desc_t *src_md;
  dnnl_memory_desc_t dst_any, b_md;
  dnnl_primitive_attr_t attr;
  dnnl_post_ops_t po;
};

/* oneDNN's convolution of layer @p l (source in any layout) into @p dst with @p attr; NULL
 * when oneDNN refuses it and @p may_fail (else it exits). */
static dnnl_primitive_desc_t conv_pd(dnnl_engine_t eng, const struct mbt_layer *l,
                                     const dnnl_memory_desc_t *w_any,
                                     const dnnl_memory_desc_t *b_md,
                                     const dnnl_memory_desc_t *dst,
                                     const_dnnl_primitive_attr_t attr, int may_fail) {
  dnnl_convolution_desc_t cd;
  const int pad_r_h = (l->oh - 1) * l->stride + l->k - l->ih - l->pad;
  const int pad_r_w = (l->ow - 1) * l->stride + l->k - l->iw - l->pad;
  dnnl_dims_t strides = {l->stride, l->stride}, pl = {l->pad, l->pad},
              pr = {pad_r_h > 0 ? pad_r_h : 0, pad_r_w > 0 ? pad_r_w : 0};
  /* The source in any layout too: with the layout of the layer before imposed, oneDNN 2.6 on a
   * machine without AVX-512 finds no JIT kernel for the 3-channel NHWC input and runs the whole
   * chain in its reference implementation; a reorder in between is what its examples do. */
  dnnl_memory_desc_t src_any;
  dnnl_dims_t src_dims = {1, l->ic, l->ih, l->iw};
  CHECK(dnnl_memory_desc_init_by_tag(&src_any, 4, src_dims, dnnl_f32, dnnl_format_tag_any));
  CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference,
                                           dnnl_convolution_direct, &src_any, w_any, b_md, dst,
                                           strides, pl, pr));
  dnnl_primitive_desc_t pd = NULL;
  const dnnl_status_t st = dnnl_primitive_desc_create(&pd, &cd, attr, eng, NULL);
  if (st != dnnl_success && !may_fail) CHECK(st);
  return st == dnnl_success ? pd : NULL;
}

/* 1 when oneDNN runs @p pd in its reference implementation (*impl: its name). */
static int is_ref(const_dnnl_primitive_desc_t pd, const char **impl) {
  *impl = NULL;
  CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, impl));
  return *impl && strncmp(*impl, "ref:", 4) == 0;
}

/* A residual layer's convolution when its output, tied to the residual's layout (the binary
 * post-op's), finds only oneDNN's reference kernel (oneDNN 2.6 on a Sapphire Rapids-class Xeon:
 * its brgemm 1x1 convolution takes no binary post-op, so V2's projections fell to the
 * reference): the layout the convolution picks with its output free, and the residual added
 * there, by a binary post-op (*sum = 0: *res is the residual, reordered into that layout when
 * it differs) or else by a sum post-op (*sum = 1: the caller copies the residual into the
 * output before the convolution).  The copies are steps of the network, timed with it.  NULL
 * when neither finds a JIT kernel. */
static dnnl_primitive_desc_t conv_pd_moved(struct dnet *d, const struct mbt_layer *l,
                                           const dnnl_memory_desc_t *w_any,
                                           const dnnl_memory_desc_t *b_md, dnnl_memory_t *res,
                                           int *sum) {
  dnnl_memory_desc_t any;
  dnnl_dims_t dims = {1, l->oc, l->oh, l->ow};
  CHECK(dnnl_memory_desc_init_by_tag(&any, 4, dims, dnnl_f32, dnnl_format_tag_any));
  dnnl_primitive_desc_t pd = NULL;
  dnnl_memory_desc_t dst;
  const char *impl;
  for (int k = -1; k < 2 && !pd; k++) { /* free, then with a binary add, then with a sum */
    dnnl_post_ops_t po;
    dnnl_primitive_attr_t at;
    CHECK(dnnl_post_ops_create(&po));
    CHECK(dnnl_primitive_attr_create(&at));
    act_post_op(po, l); /* the residual is added after the epilogue, as in mobitune */
    if (k == 0) CHECK(dnnl_post_ops_append_binary(po, dnnl_binary_add, &dst));
    if (k == 1) CHECK(dnnl_post_ops_append_sum(po, 1.0f));
    CHECK(dnnl_primitive_attr_set_post_ops(at, po));
    dnnl_primitive_desc_t p = conv_pd(d->eng, l, w_any, b_md, k < 0 ? &any : &dst, at, 0);
    const int ref = is_ref(p, &impl);
    if (k < 0) dst = *dnnl_primitive_desc_query_md(p, dnnl_query_dst_md, 0);
    if (k >= 0 && !ref) pd = p, *sum = k == 1;
    else dnnl_primitive_desc_destroy(p);
    dnnl_primitive_attr_destroy(at);
    dnnl_post_ops_destroy(po);
    if (k < 0 && ref) break; /* no JIT kernel even with the output free */
  }
  if (pd && !*sum) {
    const dnnl_memory_desc_t *res_md;
    CHECK(dnnl_memory_get_memory_desc(*res, &res_md));
    if (!dnnl_memory_desc_equal(res_md, &dst)) {
      dnnl_memory_t moved = mem(d, &dst, NULL);
      reorder_step(d, *res, moved);
      *res = moved;
    }
  }
  if (pd) d->nres_moved++;
  return pd;
}

/* The step of convolution layer @p i (with, when @p fused allows, the dw 3x3 after it as a
 * post-op: *fuse_dw = 1); t[] holds the outputs of the layers before it.  @return its output. */
static dnnl_memory_t conv_step(struct dnet *d, const struct mbt_model *m, mbt_engine_t eng, int i,
                               int fused, struct layer_in *li, const dnnl_memory_t *t,
                               int *fuse_dw) {
  const struct mbt_layer *l = li->l;
  dnnl_memory_desc_t w_any, w_user;
  dnnl_exec_arg_t args[MAX_ARGS];
  int na = 0;
  weights_md(l, &w_user);
  if (l->op == MBT_OP_DWCONV) {
    dnnl_dims_t wd = {l->ic, 1, 1, l->k, l->k};
    CHECK(dnnl_memory_desc_init_by_tag(&w_any, 5, wd, dnnl_f32, dnnl_format_tag_any));
  } else {
    dnnl_dims_t wd = {l->oc, l->ic, l->k, l->k};
    CHECK(dnnl_memory_desc_init_by_tag(&w_any, 4, wd, dnnl_f32, dnnl_format_tag_any));
  }
  act_post_op(li->po, l);
  *fuse_dw = 0;
  const struct mbt_layer *dw = l + 1;
  dnnl_primitive_desc_t pd = NULL;
  const char *impl = NULL;
  if (fused && l->op == MBT_OP_PWCONV && l->res < -1 && i + 1 < m->nlayers &&
      dw->op == MBT_OP_DWCONV && dw->k == 3 && dw->pad == 1 && dw->pad_end == 1 &&
      dw->src == i && dw->res < -1) {
    /* the dw 3x3 as a post-op, its epilogue after it; where oneDNN refuses the chain or finds
     * only its reference kernel for it, the two layers run apart */
    dnnl_post_ops_t po;
    CHECK(dnnl_post_ops_create(&po));
    act_post_op(po, l);
    CHECK(dnnl_post_ops_append_dw(po, dnnl_f32, dnnl_f32, dnnl_f32, 3, dw->stride, 1, 0, 0,
                                  NULL));
    act_post_op(po, dw);
    CHECK(dnnl_primitive_attr_set_post_ops(li->attr, po));
    pd = conv_pd(d->eng, l, &w_any, &li->b_md, &li->dst_any, li->attr, 1);
    if (pd && is_ref(pd, &impl)) dnnl_primitive_desc_destroy(pd), pd = NULL;
    *fuse_dw = pd != NULL;
    d->nfused_dw += *fuse_dw;
    dnnl_post_ops_destroy(po);
  }
  if (l->res >= 0) { /* the residual's layout is fixed: the producer's chosen one */
    const dnnl_memory_desc_t *res_md;
    CHECK(dnnl_memory_get_memory_desc(t[l->res], &res_md));
    CHECK(dnnl_post_ops_append_binary(li->po, dnnl_binary_add, res_md));
    li->dst_any = *res_md;
  }
  if (!pd) {
    CHECK(dnnl_primitive_attr_set_post_ops(li->attr, li->po));
    pd = conv_pd(d->eng, l, &w_any, &li->b_md, &li->dst_any, li->attr, 0);
  }
  dnnl_memory_t res = l->res >= 0 ? t[l->res] : NULL;
  int sum = 0;
  if (res && is_ref(pd, &impl)) {
    dnnl_primitive_desc_t moved = conv_pd_moved(d, l, &w_any, &li->b_md, &res, &sum);
    if (moved) dnnl_primitive_desc_destroy(pd), pd = moved;
  }
  const dnnl_memory_desc_t *src_md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
  dnnl_memory_t src = li->cur;
  if (!dnnl_memory_desc_equal(src_md, li->src_md)) {
    src = mem(d, src_md, NULL);
    reorder_step(d, li->cur, src);
  }
  d->nconv++;
  if (is_ref(pd, &impl) && d->nref++ == 0)
    snprintf(d->ref_first, sizeof d->ref_first, "%s (%s)", l->name, impl);
  const dnnl_memory_desc_t *w_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  const dnnl_memory_desc_t *dst_md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
  dnnl_memory_t wm = reorder_now(d, &w_user, li->w, w_md), bm = mem(d, &li->b_md, (void *)li->b);
  dnnl_memory_t out = mem(d, dst_md, NULL);
  args[na++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, src};
  args[na++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, wm};
  args[na++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, bm};
  args[na++] = (dnnl_exec_arg_t){DNNL_ARG_DST, out};
  if (*fuse_dw) {
    const float *dww, *dwb;
    mbt_engine_weights(eng, i + 1, &dww, &dwb);
    dnnl_memory_desc_t dw_user, dwb_md;
    weights_md(dw, &dw_user);
    dnnl_dims_t dbd = {dw->oc};
    CHECK(dnnl_memory_desc_init_by_tag(&dwb_md, 1, dbd, dnnl_f32, dnnl_x));
    const dnnl_memory_desc_t *dw_w_md = dnnl_primitive_desc_query_md(
        pd, dnnl_query_exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS);
    args[na++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS,
                                   reorder_now(d, &dw_user, dww, dw_w_md)};
    args[na++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS,
                                   mem(d, &dwb_md, (void *)dwb)};
  }
  if (res && sum)
    reorder_step(d, res, out); /* the sum post-op adds to what the output holds */
  else if (res)
    args[na++] = (dnnl_exec_arg_t){ /* the binary add, after the epilogue's post-op if any */
        DNNL_ARG_ATTR_MULTIPLE_POST_OP(dnnl_post_ops_len(li->po) - 1) | DNNL_ARG_SRC_1, res};
  add_step(d, pd, na, args);
  dnnl_primitive_desc_destroy(pd);
  return out;
}

/* The step of the global average pool.  @return its output. */
static dnnl_memory_t pool_step(struct dnet *d, struct layer_in *li) {
  const struct mbt_layer *l = li->l;
  dnnl_pooling_v2_desc_t pdsc;
  dnnl_dims_t strides = {1, 1}, kernel = {l->ih, l->iw}, dil = {0, 0}, pad = {0, 0};
  CHECK(dnnl_pooling_v2_forward_desc_init(&pdsc, dnnl_forward_inference, dnnl_pooling_avg,
                                          li->src_md, &li->dst_any, strides, kernel, dil, pad,
                                          pad));
  dnnl_primitive_desc_t pd;
  CHECK(dnnl_primitive_desc_create(&pd, &pdsc, li->attr, d->eng, NULL));
  dnnl_memory_t out = mem(d, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), NULL);
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, li->cur}, {DNNL_ARG_DST, out}};
  add_step(d, pd, 2, args);
  dnnl_primitive_desc_destroy(pd);
  return out;
}

/* The step of the fully connected layer over a pooled 1x1 map or another fully connected
 * layer's output, its epilogue as post-ops.  Its output is plain (nc), so that a scale can read
 * it as a gate.  @return its output. */
static dnnl_memory_t fc_step(struct dnet *d, struct layer_in *li) {
  const struct mbt_layer *l = li->l;
  const int nd = li->src_md->ndims; /* 4 after a pool, 2 after a fully connected layer */
  dnnl_memory_desc_t w_any, w_user;
  dnnl_inner_product_desc_t ipd;
  dnnl_dims_t wd = {l->oc, l->ic, 1, 1}, ws = {1, l->oc, 1, 1}, od = {1, l->oc};
  CHECK(dnnl_memory_desc_init_by_strides(&w_user, nd, wd, dnnl_f32, ws)); /* w[ic][oc] */
  CHECK(dnnl_memory_desc_init_by_tag(&w_any, nd, wd, dnnl_f32, dnnl_format_tag_any));
  dnnl_memory_desc_t o_md;
  CHECK(dnnl_memory_desc_init_by_tag(&o_md, 2, od, dnnl_f32, dnnl_nc));
  CHECK(dnnl_inner_product_forward_desc_init(&ipd, dnnl_forward_inference, li->src_md, &w_any,
                                             &li->b_md, &o_md));
  act_post_op(li->po, l);
  CHECK(dnnl_primitive_attr_set_post_ops(li->attr, li->po));
  dnnl_primitive_desc_t pd;
  CHECK(dnnl_primitive_desc_create(&pd, &ipd, li->attr, d->eng, NULL));
  dnnl_memory_t wm = reorder_now(d, &w_user, li->w,
                                 dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
  dnnl_memory_t out = mem(d, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), NULL);
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, li->cur}, {DNNL_ARG_WEIGHTS, wm},
                             {DNNL_ARG_BIAS, mem(d, &li->b_md, (void *)li->b)},
                             {DNNL_ARG_DST, out}};
  add_step(d, pd, 4, args);
  dnnl_primitive_desc_destroy(pd);
  return out;
}

/* The step of a squeeze-and-excitation scale: its source (in the layout its producer chose)
 * times the gate @p gate (a fully connected layer's plain output, read as 1 x C x 1 x 1 and
 * broadcast over the map), by oneDNN's binary multiply into a tensor of the source's layout.
 * @return its output. */
static dnnl_memory_t scale_step(struct dnet *d, struct layer_in *li, dnnl_memory_t gate) {
  const struct mbt_layer *l = li->l;
  void *h;
  CHECK(dnnl_memory_get_data_handle(gate, &h));
  dnnl_memory_desc_t g_md;
  dnnl_dims_t gd = {1, l->ic, 1, 1};
  CHECK(dnnl_memory_desc_init_by_tag(&g_md, 4, gd, dnnl_f32, dnnl_nchw));
  dnnl_memory_t g = mem(d, &g_md, h); /* the same floats, seen as 4-D */
  dnnl_binary_desc_t bd;
  CHECK(dnnl_binary_desc_init(&bd, dnnl_binary_mul, li->src_md, &g_md, li->src_md));
  dnnl_primitive_desc_t pd;
  CHECK(dnnl_primitive_desc_create(&pd, &bd, NULL, d->eng, NULL));
  const char *impl;
  d->nconv++;
  if (is_ref(pd, &impl) && d->nref++ == 0)
    snprintf(d->ref_first, sizeof d->ref_first, "%s (%s)", l->name, impl);
  dnnl_memory_t out = mem(d, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), NULL);
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC_0, li->cur}, {DNNL_ARG_SRC_1, g}, {DNNL_ARG_DST, out}};
  add_step(d, pd, 3, args);
  dnnl_primitive_desc_destroy(pd);
  return out;
}

/* Build the network; @p fused: fold each dw 3x3 that follows a 1x1 into it (post-op). */
static void build(struct dnet *d, const struct mbt_model *m, mbt_engine_t eng, int fused) {
  CHECK(dnnl_engine_create(&d->eng, dnnl_cpu, 0));
  CHECK(dnnl_stream_create(&d->st, d->eng, dnnl_stream_default_flags));
  dnnl_memory_t t[MBT_MAX_LAYERS] = {0}; /* each layer's output memory */
  dnnl_memory_desc_t in_md;
  dnnl_dims_t in_dims = {1, 3, m->res, m->res};
  CHECK(dnnl_memory_desc_init_by_tag(&in_md, 4, in_dims, dnnl_f32, dnnl_nhwc));
  d->in_user = mem(d, &in_md, NULL);
  dnnl_memory_t cur = d->in_user;
  for (int i = 0; i < m->nlayers; i++) {
    struct layer_in li = {.l = &m->layers[i], .cur = m->layers[i].src >= 0 ? t[m->layers[i].src]
                                                                          : d->in_user};
    const struct mbt_layer *l = li.l;
    mbt_engine_weights(eng, i, &li.w, &li.b);
    CHECK(dnnl_memory_get_memory_desc(li.cur, &li.src_md));
    dnnl_dims_t dst_dims = {1, l->oc, l->oh, l->ow}, b_dims = {l->oc};
    CHECK(dnnl_memory_desc_init_by_tag(&li.dst_any, 4, dst_dims, dnnl_f32, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&li.b_md, 1, b_dims, dnnl_f32, dnnl_x));
    CHECK(dnnl_primitive_attr_create(&li.attr));
    CHECK(dnnl_post_ops_create(&li.po));
    if (l->op == MBT_OP_CONV || l->op == MBT_OP_DWCONV || l->op == MBT_OP_PWCONV) {
      int fuse_dw;
      t[i] = cur = conv_step(d, m, eng, i, fused, &li, t, &fuse_dw);
      if (fuse_dw) t[++i] = cur; /* the depthwise layer is done inside this step */
    } else if (l->op == MBT_OP_GAVGPOOL) {
      t[i] = cur = pool_step(d, &li);
    } else if (l->op == MBT_OP_SCALE) {
      t[i] = cur = scale_step(d, &li, t[l->res]);
    } else {
      t[i] = cur = fc_step(d, &li);
    }
    dnnl_post_ops_destroy(li.po);
    dnnl_primitive_attr_destroy(li.attr);
  }
  /* logits back to a plain array */
  dnnl_memory_desc_t out_md;
  dnnl_dims_t od = {1, m->layers[m->nlayers - 1].oc};
  CHECK(dnnl_memory_desc_init_by_tag(&out_md, 2, od, dnnl_f32, dnnl_nc));
  d->out_user = mem(d, &out_md, NULL);
  reorder_step(d, cur, d->out_user);
}

/* One inference; the input was copied into d->in_user once (it is the same every run). */
static void run(struct dnet *d) {
  for (int s = 0; s < d->nsteps; s++)
    CHECK(dnnl_primitive_execute(d->steps[s].p, d->st, d->steps[s].nargs, d->steps[s].args));
  CHECK(dnnl_stream_wait(d->st));
}

static void destroy(struct dnet *d) {
  for (int s = 0; s < d->nsteps; s++) dnnl_primitive_destroy(d->steps[s].p);
  for (int k = 0; k < d->nmems; k++) dnnl_memory_destroy(d->mems[k]);
  dnnl_stream_destroy(d->st);
  dnnl_engine_destroy(d->eng);
}

/* Time one oneDNN primitive execution loop of @p iters calls, ns per call. */
static double time_prim(dnnl_primitive_t p, dnnl_stream_t st, int na, const dnnl_exec_arg_t *a,
                        long iters) {
  const double t0 = mbt_now_ns();
  for (long i = 0; i < iters; i++) CHECK(dnnl_primitive_execute(p, st, na, a));
  CHECK(dnnl_stream_wait(st));
  return (mbt_now_ns() - t0) / (double)iters;
}

/* oneDNN's convolution of one depthwise or pointwise layer (format any, its epilogue as
 * post-ops), ready to execute on memories filled with sane values. */
struct layer_prim {
  dnnl_primitive_attr_t attr;
  dnnl_post_ops_t po;
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t prim;
  dnnl_exec_arg_t args[4]; /* source, weights, bias, destination */
};

static void layer_prim_create(struct layer_prim *p, dnnl_engine_t eng, const struct mbt_layer *l) {
  dnnl_memory_desc_t wei, bia, dst;
  const int dw = l->op == MBT_OP_DWCONV;
  dnnl_dims_t bd = {l->oc}, dd = {1, l->oc, l->oh, l->ow};
  dnnl_dims_t wd_dw = {l->ic, 1, 1, l->k, l->k}, wd = {l->oc, l->ic, l->k, l->k};
  CHECK(dnnl_memory_desc_init_by_tag(&wei, dw ? 5 : 4, dw ? wd_dw : wd, dnnl_f32,
                                     dnnl_format_tag_any));
  CHECK(dnnl_memory_desc_init_by_tag(&bia, 1, bd, dnnl_f32, dnnl_x));
  CHECK(dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, dnnl_format_tag_any));
  CHECK(dnnl_primitive_attr_create(&p->attr));
  CHECK(dnnl_post_ops_create(&p->po));
  act_post_op(p->po, l);
  CHECK(dnnl_primitive_attr_set_post_ops(p->attr, p->po));
  p->pd = conv_pd(eng, l, &wei, &bia, &dst, p->attr, 0);
  dnnl_memory_t mem_s, mem_w, mem_b, mem_d;
  CHECK(dnnl_memory_create(&mem_s, dnnl_primitive_desc_query_md(p->pd, dnnl_query_src_md, 0), eng,
                           DNNL_MEMORY_ALLOCATE));
  CHECK(dnnl_memory_create(&mem_w, dnnl_primitive_desc_query_md(p->pd, dnnl_query_weights_md, 0),
                           eng, DNNL_MEMORY_ALLOCATE));
  CHECK(dnnl_memory_create(&mem_b, &bia, eng, DNNL_MEMORY_ALLOCATE));
  CHECK(dnnl_memory_create(&mem_d, dnnl_primitive_desc_query_md(p->pd, dnnl_query_dst_md, 0), eng,
                           DNNL_MEMORY_ALLOCATE));
  dnnl_memory_t ms[3] = {mem_s, mem_w, mem_b};
  for (int k = 0; k < 3; k++) { /* values do not change the time; fill with something sane */
    void *h;
    const dnnl_memory_desc_t *md;
    CHECK(dnnl_memory_get_data_handle(ms[k], &h));
    CHECK(dnnl_memory_get_memory_desc(ms[k], &md));
    const size_t n = dnnl_memory_desc_get_size(md) / sizeof(float);
    for (size_t q = 0; q < n; q++) ((float *)h)[q] = 0.25f + 0.001f * (float)(q % 97);
  }
  CHECK(dnnl_primitive_create(&p->prim, p->pd));
  const dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, mem_s}, {DNNL_ARG_WEIGHTS, mem_w},
                                   {DNNL_ARG_BIAS, mem_b}, {DNNL_ARG_DST, mem_d}};
  memcpy(p->args, args, sizeof args);
}

static void layer_prim_destroy(struct layer_prim *p) {
  dnnl_primitive_destroy(p->prim);
  for (int k = 0; k < 4; k++) dnnl_memory_destroy(p->args[k].memory);
  dnnl_primitive_desc_destroy(p->pd);
  dnnl_post_ops_destroy(p->po);
  dnnl_primitive_attr_destroy(p->attr);
}

/* Time the @p nc candidates of layer @p l on @p b against oneDNN's @p p (@p iters calls a
 * timing): the fastest candidate alone, picked in 3 rounds of its own (*best), then it, the
 * plan's candidate @p planned (-1: none) and oneDNN timed afresh in 7 interleaved rounds, so
 * picking the best of many noisy medians does not flatter the figure: ours[0] the fastest,
 * ours[1] the plan's, theirs oneDNN's. */
static void layer_rounds(const struct mbt_layer *l, const struct mbt_variant *const *cand,
                         int nc, int planned, const struct mbt_layer_bufs *b,
                         const struct layer_prim *p, dnnl_stream_t st, long iters, int *best,
                         double ours[2][7], double theirs[7]) {
  double pick[64][3];
  const struct mbt_kshape ks = mbt_layer_kshape(l);
  *best = 0;
  for (int r = 0; r < 3 + 7; r++) {
    const int last = r < 3 ? nc : 2;
    for (int q = 0; q < last; q++) {
      const int k = r < 3 ? q : q == 0 ? *best : planned;
      if (k < 0) continue;
      struct mbt_timing tm;
      struct mbt_exec x = b->x;
      float *packed = NULL;
      if (mbt_variant_pack(cand[k], &ks, b->w, &packed) != MBT_OK) exit(1);
      mbt_exec_bind(&x, cand[k], packed); /* its block sizes and packed weights */
      mbt_measure(cand[k], &x, 1, 1.0, 1, &tm);
      mbt_free(packed);
      if (r < 3) pick[k][r] = tm.median_ns;
      else ours[q][r - 3] = tm.median_ns;
    }
    if (r == 2) { /* the pick */
      double bm = INFINITY;
      for (int k = 0; k < nc; k++) {
        const double med = mbt_median(pick[k], 3);
        if (strncmp(cand[k]->name, "ref/", 4) && med < bm) bm = med, *best = k;
      }
    }
    if (r >= 3) theirs[r - 3] = time_prim(p->prim, st, 4, p->args, iters);
  }
}

/* Every distinct depthwise and pointwise shape alone, warm: oneDNN's convolution (format any,
 * the layer's epilogue) against the variant mobitune's plan chose for it, interleaved, median of 7
 * rounds. */
static void layer_compare(const struct mbt_model *m, const struct mbt_plan *pl) {
  dnnl_engine_t eng;
  dnnl_stream_t st;
  CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
  CHECK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
  printf("# depthwise and pointwise layers alone (warm caches), 1 call = one layer; median of 7 "
         "interleaved rounds; mobitune: the fastest of its variants alone (the plan's variant, "
         "chosen inside the network, is timed beside it)\n");
  printf("%-10s %-22s %10s %10s %8s  %-60s %s\n", "layer", "shape", "mobitune us", "oneDNN us",
         "speed-up", "mobitune variant (fastest alone)", "plan's variant us");
  for (int i = 0; i < m->nlayers; i++) {
    const struct mbt_layer *l = &m->layers[i];
    if (l->op != MBT_OP_DWCONV && l->op != MBT_OP_PWCONV) continue;
    if (mbt_layer_repeats(m, i)) continue;
    struct mbt_problem pr;
    mbt_problem_layer(l, 1, &pr);
    struct layer_prim p;
    layer_prim_create(&p, eng, l);
    /* mobitune: every variant (the plan's among them), interleaved with oneDNN round by round */
    const struct mbt_choice *c = mbt_plan_exact(pl, &pr);
    const struct mbt_variant *cand[64];
    const struct mbt_kshape ks = mbt_layer_kshape(l);
    int nc = mbt_registry_candidates(&ks, cand, 63), planned = -1, best;
    const struct mbt_variant *pv = c ? mbt_registry_find(c->variant, &ks) : NULL;
    for (int k = 0; k < nc; k++)
      if (cand[k] == pv) planned = k;
    if (pv && planned < 0) planned = nc, cand[nc++] = pv;
    struct mbt_layer_bufs b;
    if (nc == 0 || mbt_layer_bufs_alloc(l, 11, &b) != MBT_OK) exit(1);
    long iters = 1;
    while (time_prim(p.prim, st, 4, p.args, iters) * (double)iters < 2e6 && iters < (1L << 20))
      iters *= 2;
    double ours[2][7], theirs[7];
    layer_rounds(l, cand, nc, planned, &b, &p, st, iters, &best, ours, theirs);
    const struct mbt_variant *v = cand[best];
    const double a = mbt_median(ours[0], 7);
    const double d = mbt_median(theirs, 7), ap = planned >= 0 ? mbt_median(ours[1], 7) : NAN;
    char shape[32];
    if (l->op == MBT_OP_DWCONV)
      snprintf(shape, sizeof shape, "%dx%dx%d k%d s%d", l->ih, l->iw, l->ic, l->k, l->stride);
    else
      snprintf(shape, sizeof shape, "%dx%dx%d -> %d", l->ih, l->iw, l->ic, l->oc);
    printf("%-10s %-22s %10.1f %10.1f %8.2f  %-60s %.1f\n", l->name, shape, a / 1e3, d / 1e3, d / a,
           v->name, ap / 1e3);
    mbt_layer_bufs_free(&b);
    layer_prim_destroy(&p);
  }
  dnnl_stream_destroy(st);
  dnnl_engine_destroy(eng);
}

int main(int argc, char **argv) {
  struct mbt_cmp cmp;
  mbt_cmp_setup(&cmp, "bench-onednn", argc, argv);
  const struct mbt_model *m = &cmp.m;
  const int threads = cmp.threads, runs = cmp.runs, have_plan = cmp.have_plan;
  mbt_engine_t tuned = cmp.tuned, ref = cmp.ref;
  const float *in = cmp.in;
  if (!buildable(m)) return 1;
  struct dnet plain = {0}, fused = {0};
  build(&plain, m, tuned, 0);
  build(&fused, m, tuned, 1);
  const size_t nin = (size_t)m->res * m->res * 3;
  for (struct dnet *d = &plain; d; d = d == &plain ? &fused : NULL) {
    void *h;
    CHECK(dnnl_memory_get_data_handle(d->in_user, &h));
    memcpy(h, in, nin * sizeof *in);
  }
  /* Agreement with mobitune's reference path (same weights, same input). */
  run(&plain);
  run(&fused);
  const int classes = m->layers[m->nlayers - 1].oc;
  void *po, *fo;
  CHECK(dnnl_memory_get_data_handle(plain.out_user, &po));
  CHECK(dnnl_memory_get_data_handle(fused.out_user, &fo));
  const float *rl = mbt_engine_logits(ref);
  char title[64];
  mbt_model_title(m, title, sizeof title);
  printf("# %s %d/%d, %d thread(s), %d interleaved rounds, each timed run after %d untimed "
         "ones of the same library; oneDNN %d.%d.%d\n", title, m->res, m->res, threads, runs,
         MBT_WARM_RUNS, dnnl_version()->major, dnnl_version()->minor,
         dnnl_version()->patch);
  printf("# max |logit - mobitune reference|: mobitune tuned %.3g, oneDNN %.3g, oneDNN fused "
         "%.3g\n", mbt_cmp_max_err(mbt_engine_logits(tuned), rl, classes),
         mbt_cmp_max_err(po, rl, classes), mbt_cmp_max_err(fo, rl, classes));
  for (const struct dnet *d = &plain; d; d = d == &plain ? &fused : NULL)
    if (d->nref)
      printf("# note: oneDNN%s runs %d of its %d convolutions and scales in its reference code, "
             "first %s: its figure is not its best on this machine\n", d == &fused ? " fused" : "",
             d->nref, d->nconv, d->ref_first);
  for (const struct dnet *d = &plain; d; d = d == &plain ? &fused : NULL)
    if (d->nres_moved)
      printf("# note: oneDNN%s adds %d residuals in the layout its convolution picks (tied to "
             "the residual's own layout it found only its reference kernel): the copy of each "
             "residual into that layout is timed with it\n", d == &fused ? " fused" : "",
             d->nres_moved);
  printf("# oneDNN fused dw: %d depthwise 3x3 layers run as a post-op of the 1x1 convolution "
         "before them\n", fused.nfused_dw);
  double *t = malloc(3 * (size_t)runs * sizeof *t);
  for (int r = 0; r < 3; r++) { /* warm-up rounds */
    mbt_engine_run(tuned, in);
    run(&plain);
    run(&fused);
  }
  for (int r = 0; r < runs; r++) { /* each timed run after MBT_WARM_RUNS of its own */
    for (int w = 0; w < MBT_WARM_RUNS; w++) mbt_engine_run(tuned, in);
    double t0 = mbt_now_ns();
    mbt_engine_run(tuned, in);
    t[r] = mbt_now_ns() - t0;
    for (int w = 0; w < MBT_WARM_RUNS; w++) run(&plain);
    t0 = mbt_now_ns();
    run(&plain);
    t[runs + r] = mbt_now_ns() - t0;
    for (int w = 0; w < MBT_WARM_RUNS; w++) run(&fused);
    t0 = mbt_now_ns();
    run(&fused);
    t[2 * runs + r] = mbt_now_ns() - t0;
  }
  const double a = mbt_median(t, runs), b = mbt_median(t + runs, runs),
               c = mbt_median(t + 2 * runs, runs);
  const double best = b < c ? b : c;
  printf("%-22s %10s %12s\n", "configuration", "median ms", "oneDNN best / this");
  printf("%-22s %10.3f %12.3f\n", have_plan ? "mobitune tuned" : "mobitune default", a / 1e6, best / a);
  printf("%-22s %10.3f %12.3f\n", "oneDNN", b / 1e6, best / b);
  printf("%-22s %10.3f %12.3f\n", "oneDNN fused dw", c / 1e6, best / c);
  free(t);
  if (threads == 1) layer_compare(m, have_plan ? &cmp.pl : NULL);
  destroy(&plain);
  destroy(&fused);
  mbt_cmp_free(&cmp);
  return 0;
}
