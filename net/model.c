/* net/model.c -- MobileNet V1 and V2 as data: layer tables scaled by the width multiplier alpha
 * and the input resolution, with the analytic model of MODEL.md per layer (MACs, parameters,
 * compulsory bytes, operational intensity, receptive field). */
#include "config.h"

#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "net/net.h"

int mbt_layer_has_weights(const struct mbt_layer *l) {
  return l->op != MBT_OP_GAVGPOOL && l->op != MBT_OP_SCALE;
}

size_t mbt_layer_weight_count(const struct mbt_layer *l) {
  return l->op == MBT_OP_GAVGPOOL || l->op == MBT_OP_SCALE ? 0 : (size_t)l->params;
}

const char *mbt_act_name(enum mbt_act a) {
  static const char *const names[MBT_ACT_COUNT] = {"linear", "relu6",    "hswish", "relu",
                                                   "hsigmoid", "silu", "sigmoid"};
  return (unsigned)a < MBT_ACT_COUNT ? names[a] : "?";
}

const char *mbt_op_name(enum mbt_op op) {
  static const char *const names[MBT_OP_COUNT] = {"conv", "dwconv", "pwconv", "gavgpool", "fc",
                                                  "scale"};
  return (unsigned)op < MBT_OP_COUNT ? names[op] : "?";
}

static const char *const net_names[] = {"?", "v1", "v2", "v3-large", "v3-small", "custom"};

const char *mbt_net_name(enum mbt_net_kind k) {
  return k >= MBT_NET_V1 && k <= MBT_NET_CUSTOM ? net_names[k] : "?";
}

enum mbt_status mbt_net_parse(const char *s, enum mbt_net_kind *k) {
  if (s && strcmp(s, "v1") == 0) *k = MBT_NET_V1;
  else if (s && strcmp(s, "v2") == 0) *k = MBT_NET_V2;
  else if (s && strcmp(s, "v3-large") == 0) *k = MBT_NET_V3L;
  else if (s && strcmp(s, "v3-small") == 0) *k = MBT_NET_V3S;
  else
    return mbt_fail(MBT_EINVAL, "unknown network '%s' (expected v1, v2, v3-large or v3-small)",
                    s ? s : "");
  return MBT_OK;
}

/* Builder state: the shape of the current tensor and the receptive-field recurrence. */
struct builder {
  struct mbt_model *m;
  int h, w, c;    /* current tensor */
  int cur;        /* index of the layer producing it, -1 = image */
  int rf, jump;   /* receptive field so far, product of strides so far */
};

/* The analytic figures of layer @p l from its shapes (MODEL.md): MACs, parameters, biases,
 * compulsory bytes (a residual or gate read once more) and intensity. */
static void figures(struct mbt_layer *l) {
  const double opix = (double)l->oh * l->ow, ipix = (double)l->ih * l->iw, k = l->k;
  l->macs = l->params = 0;
  switch (l->op) {
    case MBT_OP_CONV: l->macs = opix * l->oc * k * k * l->ic; l->params = k * k * l->ic * l->oc; break;
    case MBT_OP_DWCONV: l->macs = opix * l->ic * k * k; l->params = k * k * l->ic; break;
    case MBT_OP_PWCONV:
    case MBT_OP_FC: l->macs = opix * l->ic * l->oc; l->params = (double)l->ic * l->oc; break;
    default: break; /* the average pool has adds only, no MACs or parameters */
  }
  l->bias = l->op == MBT_OP_GAVGPOOL || l->op == MBT_OP_SCALE ? 0 : l->oc;
  l->bytes = 4.0 * (ipix * l->ic + l->params + opix * l->oc);
  if (l->op == MBT_OP_SCALE) l->bytes = 4.0 * (2.0 * ipix * l->ic + l->ic);
  else if (l->res >= -1) l->bytes += 4.0 * opix * l->oc;
  l->intensity = l->macs / l->bytes;
}

/* Append a layer reading the builder's current tensor, with @p pad rows and columns of padding
 * before and @p pad_end after (a pool or fully connected layer has none). */
static struct mbt_layer *add_padded(struct builder *b, const char *name, enum mbt_op op, int oc,
                                    int k, int s, int pad, int pad_end, enum mbt_act act) {
  struct mbt_layer *l = &b->m->layers[b->m->nlayers];
  memset(l, 0, sizeof *l);
  snprintf(l->name, sizeof l->name, "%s", name);
  l->op = op;
  l->ih = b->h, l->iw = b->w, l->ic = b->c;
  l->k = k, l->stride = s, l->pad = pad, l->pad_end = pad_end;
  l->act = act;
  l->src = b->cur;
  l->res = -2;
  if (op == MBT_OP_GAVGPOOL || op == MBT_OP_FC) {
    l->oh = l->ow = 1;
    l->pad = l->pad_end = 0;
  } else {
    l->oh = (b->h + pad + pad_end - k) / s + 1;
    l->ow = (b->w + pad + pad_end - k) / s + 1;
  }
  l->oc = op == MBT_OP_DWCONV || op == MBT_OP_GAVGPOOL || op == MBT_OP_SCALE ? b->c : oc;
  figures(l);
  /* R_L = 1 + sum (K_l - 1) prod_{i<l} s_i; the pool acts as a kernel the size of its input. */
  int kk = op == MBT_OP_GAVGPOOL ? b->h : op == MBT_OP_FC ? 1 : k;
  b->rf += (kk - 1) * b->jump;
  b->jump *= s;
  l->rf = b->rf;
  b->h = l->oh, b->w = l->ow, b->c = l->oc;
  b->cur = b->m->nlayers++;
  return l;
}

/* The same with same padding, (k - 1) / 2 on every side: the output is ceil(H / s). */
static struct mbt_layer *add(struct builder *b, const char *name, enum mbt_op op, int oc, int k,
                             int s, enum mbt_act act) {
  return add_padded(b, name, op, oc, k, s, (k - 1) / 2, (k - 1) / 2, act);
}

/* Layer @p l adds tensor @p res (-1: the image) after its epilogue. */
static void add_residual(struct mbt_layer *l, int res) {
  l->res = res;
  figures(l);
}

/* TF-slim V1 rounding: int(d * alpha), at least 8 channels. */
static int v1_depth(int d, double alpha) {
  int c = (int)(d * alpha + 1e-9);
  return c < 8 ? 8 : c;
}

/* V2 rounding (_make_divisible): nearest multiple of 8, never below 90% of the target. */
static int v2_depth(double v) {
  int c = (int)(v + 4) / 8 * 8;
  if (c < 8) c = 8;
  if (c < 0.9 * v) c += 8;
  return c;
}

static void build_v1(struct builder *b, double a) {
  static const int co[13] = {64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024};
  static const int st[13] = {1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1};
  add(b, "conv0", MBT_OP_CONV, v1_depth(32, a), 3, 2, MBT_ACT_RELU6);
  for (int i = 0; i < 13; i++) {
    char n[24];
    snprintf(n, sizeof n, "dw%d", i + 1);
    add(b, n, MBT_OP_DWCONV, 0, 3, st[i], MBT_ACT_RELU6);
    snprintf(n, sizeof n, "pw%d", i + 1);
    add(b, n, MBT_OP_PWCONV, v1_depth(co[i], a), 1, 1, MBT_ACT_RELU6);
  }
  add(b, "pool", MBT_OP_GAVGPOOL, 0, 1, 1, MBT_ACT_NONE);
  add(b, "fc", MBT_OP_FC, b->m->classes, 1, 1, MBT_ACT_NONE);
}

static void build_v2(struct builder *b, double a) {
  static const int cfg[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  add(b, "conv0", MBT_OP_CONV, v2_depth(32 * a), 3, 2, MBT_ACT_RELU6);
  int blk = 0;
  for (int g = 0; g < 7; g++)
    for (int r = 0; r < cfg[g][2]; r++) {
      const int t = cfg[g][0], cout = v2_depth(cfg[g][1] * a), s = r == 0 ? cfg[g][3] : 1;
      const int cin = b->c, in = b->cur;
      char n[24];
      blk++;
      if (t != 1) {
        snprintf(n, sizeof n, "b%d.expand", blk);
        add(b, n, MBT_OP_PWCONV, cin * t, 1, 1, MBT_ACT_RELU6);
      }
      snprintf(n, sizeof n, "b%d.dw", blk);
      add(b, n, MBT_OP_DWCONV, 0, 3, s, MBT_ACT_RELU6);
      snprintf(n, sizeof n, "b%d.project", blk);
      struct mbt_layer *l = add(b, n, MBT_OP_PWCONV, cout, 1, 1, MBT_ACT_NONE);
      if (s == 1 && cin == cout) add_residual(l, in); /* the residual input is read once more */
    }
  add(b, "conv_last", MBT_OP_PWCONV, a > 1.0 ? v2_depth(1280 * a) : 1280, 1, 1, MBT_ACT_RELU6);
  add(b, "pool", MBT_OP_GAVGPOOL, 0, 1, 1, MBT_ACT_NONE);
  add(b, "fc", MBT_OP_FC, b->m->classes, 1, 1, MBT_ACT_NONE);
}

/* Squeeze-and-excitation on the current tensor (H x W x C, made by layer x): pool, fc (C -> S,
 * ReLU), fc (S -> C, hard-sigmoid), then x times the gate.  The receptive field follows the
 * convolution path (the gate's global pool is not counted into it). */
static void squeeze_excite(struct builder *b, int blk, int squeeze) {
  const struct builder keep = *b;
  char n[24];
  snprintf(n, sizeof n, "b%d.se.pool", blk);
  add(b, n, MBT_OP_GAVGPOOL, 0, 1, 1, MBT_ACT_NONE);
  snprintf(n, sizeof n, "b%d.se.fc1", blk);
  add(b, n, MBT_OP_FC, squeeze, 1, 1, MBT_ACT_RELU);
  snprintf(n, sizeof n, "b%d.se.fc2", blk);
  add(b, n, MBT_OP_FC, keep.c, 1, 1, MBT_ACT_HSIGMOID);
  const int gate = b->cur;
  b->h = keep.h, b->w = keep.w, b->c = keep.c, b->cur = keep.cur, b->rf = keep.rf, b->jump = keep.jump;
  snprintf(n, sizeof n, "b%d.se.scale", blk);
  add_residual(add(b, n, MBT_OP_SCALE, 0, 1, 1, MBT_ACT_NONE), gate);
}

/* MobileNetV3 (Howard et al. 2019) as torchvision builds it: per block the kernel, expanded
 * and output channels, squeeze-and-excitation, hard-swish (else ReLU) and stride. */
static void build_v3(struct builder *b, double a, int large) {
  static const int cfg_l[15][6] = {
      {3, 16, 16, 0, 0, 1},   {3, 64, 24, 0, 0, 2},   {3, 72, 24, 0, 0, 1},
      {5, 72, 40, 1, 0, 2},   {5, 120, 40, 1, 0, 1},  {5, 120, 40, 1, 0, 1},
      {3, 240, 80, 0, 1, 2},  {3, 200, 80, 0, 1, 1},  {3, 184, 80, 0, 1, 1},
      {3, 184, 80, 0, 1, 1},  {3, 480, 112, 1, 1, 1}, {3, 672, 112, 1, 1, 1},
      {5, 672, 160, 1, 1, 2}, {5, 960, 160, 1, 1, 1}, {5, 960, 160, 1, 1, 1}};
  static const int cfg_s[11][6] = {
      {3, 16, 16, 1, 0, 2},  {3, 72, 24, 0, 0, 2},  {3, 88, 24, 0, 0, 1},  {5, 96, 40, 1, 1, 2},
      {5, 240, 40, 1, 1, 1}, {5, 240, 40, 1, 1, 1}, {5, 120, 48, 1, 1, 1}, {5, 144, 48, 1, 1, 1},
      {5, 288, 96, 1, 1, 2}, {5, 576, 96, 1, 1, 1}, {5, 576, 96, 1, 1, 1}};
  const int (*cfg)[6] = large ? cfg_l : cfg_s;
  const int nblk = large ? 15 : 11;
  add(b, "conv0", MBT_OP_CONV, v2_depth(16 * a), 3, 2, MBT_ACT_HSWISH);
  for (int i = 0; i < nblk; i++) {
    const int k = cfg[i][0], exp = v2_depth(cfg[i][1] * a), cout = v2_depth(cfg[i][2] * a);
    const enum mbt_act act = cfg[i][4] ? MBT_ACT_HSWISH : MBT_ACT_RELU;
    const int cin = b->c, in = b->cur;
    char n[24];
    if (exp != cin) {
      snprintf(n, sizeof n, "b%d.expand", i + 1);
      add(b, n, MBT_OP_PWCONV, exp, 1, 1, act);
    }
    snprintf(n, sizeof n, "b%d.dw", i + 1);
    add(b, n, MBT_OP_DWCONV, 0, k, cfg[i][5], act);
    if (cfg[i][3]) squeeze_excite(b, i + 1, v2_depth((double)(exp / 4)));
    snprintf(n, sizeof n, "b%d.project", i + 1);
    struct mbt_layer *l = add(b, n, MBT_OP_PWCONV, cout, 1, 1, MBT_ACT_NONE);
    if (cfg[i][5] == 1 && cin == cout) add_residual(l, in);
  }
  add(b, "conv_last", MBT_OP_PWCONV, 6 * b->c, 1, 1, MBT_ACT_HSWISH);
  add(b, "pool", MBT_OP_GAVGPOOL, 0, 1, 1, MBT_ACT_NONE);
  add(b, "fc1", MBT_OP_FC, v2_depth((large ? 1280 : 1024) * a), 1, 1, MBT_ACT_HSWISH);
  add(b, "fc", MBT_OP_FC, b->m->classes, 1, 1, MBT_ACT_NONE);
}

/* The network's totals from its layers'. */
static void totals(struct mbt_model *m) {
  m->macs = m->params = m->bias = m->bytes = 0;
  for (int i = 0; i < m->nlayers; i++) {
    m->macs += m->layers[i].macs;
    m->params += m->layers[i].params;
    m->bias += m->layers[i].bias;
    m->bytes += m->layers[i].bytes;
  }
}

enum mbt_status mbt_model_build(enum mbt_net_kind kind, double alpha, int res,
                                struct mbt_model *out) {
  return mbt_model_build_ex(kind, alpha, res, 1000, out);
}

enum mbt_status mbt_model_build_ex(enum mbt_net_kind kind, double alpha, int res, int classes,
                                   struct mbt_model *out) {
  memset(out, 0, sizeof *out);
  if (classes < 1 || classes > 100000)
    return mbt_fail(MBT_EINVAL, "%d classes is outside [1, 100000]", classes);
  if (kind < MBT_NET_V1 || kind > MBT_NET_V3S)
    return mbt_fail(MBT_EINVAL, "unknown network kind %d", (int)kind);
  if (!(alpha > 0 && alpha <= 1.5))
    return mbt_fail(MBT_EINVAL, "width multiplier %g is outside (0, 1.5]", alpha);
  if (res < 32 || res > 1024)
    return mbt_fail(MBT_EINVAL, "resolution %d is outside [32, 1024]", res);
  out->layers = calloc(MBT_MAX_LAYERS, sizeof *out->layers);
  if (!out->layers) return mbt_fail(MBT_ENOMEM, "cannot allocate the layer table");
  out->kind = kind, out->alpha = alpha, out->res = res, out->classes = classes;
  snprintf(out->name, sizeof out->name, "%s", mbt_net_name(kind));
  struct builder b = {out, res, res, 3, -1, 1, 1};
  if (kind == MBT_NET_V1) build_v1(&b, alpha);
  else if (kind == MBT_NET_V2) build_v2(&b, alpha);
  else build_v3(&b, alpha, kind == MBT_NET_V3L);
  totals(out);
  return MBT_OK;
}

void mbt_model_free(struct mbt_model *m) {
  free(m->layers);
  m->layers = NULL;
  m->nlayers = 0;
}

void mbt_model_print(const struct mbt_model *m, FILE *out, int json) {
  if (json) {
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    json_object_object_add(o, "net", json_object_new_string(m->name));
    json_object_object_add(o, "alpha", json_object_new_double(m->alpha));
    json_object_object_add(o, "res", json_object_new_int(m->res));
    for (int i = 0; i < m->nlayers; i++) {
      const struct mbt_layer *l = &m->layers[i];
      json_object *j = json_object_new_object();
      json_object_object_add(j, "name", json_object_new_string(l->name));
      json_object_object_add(j, "kind", json_object_new_string(mbt_op_name(l->op)));
      int sh[6] = {l->ih, l->iw, l->ic, l->oh, l->ow, l->oc};
      json_object *in = json_object_new_array(), *ou = json_object_new_array();
      for (int d = 0; d < 3; d++) {
        json_object_array_add(in, json_object_new_int(sh[d]));
        json_object_array_add(ou, json_object_new_int(sh[3 + d]));
      }
      json_object_object_add(j, "input", in);
      json_object_object_add(j, "output", ou);
      json_object_object_add(j, "k", json_object_new_int(l->k));
      json_object_object_add(j, "stride", json_object_new_int(l->stride));
      json_object_object_add(j, "macs", json_object_new_int64((int64_t)l->macs));
      json_object_object_add(j, "params", json_object_new_int64((int64_t)l->params));
      json_object_object_add(j, "bytes", json_object_new_int64((int64_t)l->bytes));
      json_object_object_add(j, "intensity_mac_per_byte", json_object_new_double(l->intensity));
      json_object_object_add(j, "receptive_field", json_object_new_int(l->rf));
      json_object_object_add(j, "residual", json_object_new_boolean(l->res >= -1));
      json_object_array_add(arr, j);
    }
    json_object_object_add(o, "layers", arr);
    json_object_object_add(o, "macs", json_object_new_int64((int64_t)m->macs));
    json_object_object_add(o, "params", json_object_new_int64((int64_t)m->params));
    json_object_object_add(o, "bias", json_object_new_int64((int64_t)m->bias));
    json_object_object_add(o, "bytes", json_object_new_int64((int64_t)m->bytes));
    fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
    json_object_put(o);
    return;
  }
  if (m->kind == MBT_NET_CUSTOM)
    fprintf(out, "network %s (described)  %dx%d input  %d classes\n", m->name, m->res, m->res,
            m->classes);
  else
    fprintf(out, "MobileNet %s  alpha %.3g  %dx%d input\n", m->name, m->alpha, m->res, m->res);
  fprintf(out, "%-12s %-8s %-15s %-15s %2s %11s %10s %10s %8s %5s\n", "layer", "kind", "input",
          "output", "s", "MACs", "params", "bytes", "MAC/B", "RF");
  for (int i = 0; i < m->nlayers; i++) {
    const struct mbt_layer *l = &m->layers[i];
    char in[24], ou[24];
    snprintf(in, sizeof in, "%dx%dx%d", l->ih, l->iw, l->ic);
    snprintf(ou, sizeof ou, "%dx%dx%d", l->oh, l->ow, l->oc);
    fprintf(out, "%-12s %-8s %-15s %-15s %2d %11.0f %10.0f %10.0f %8.3f %5d%s\n", l->name,
            mbt_op_name(l->op), in, ou, l->stride, l->macs, l->params, l->bytes, l->intensity,
            l->rf, l->res >= -1 ? "  +res" : "");
  }
  fprintf(out, "total: %.1f M MACs, %.3f M parameters (+%.3f M biases), %.1f MB compulsory "
               "traffic layer by layer\n",
          m->macs / 1e6, m->params / 1e6, m->bias / 1e6, m->bytes / 1e6);
}

/* ------------------------------------------------------------------ network descriptions */

#define NACTS MBT_ACT_COUNT
#define DESC_FORMAT "mobitune-net"
#define MAX_CHANNELS 65536
#define MAX_K 15

char *mbt_model_describe(const struct mbt_model *m) {
  json_object *o = json_object_new_object(), *arr = json_object_new_array();
  json_object_object_add(o, "format", json_object_new_string(DESC_FORMAT));
  json_object_object_add(o, "version", json_object_new_int(1));
  json_object_object_add(o, "name", json_object_new_string(m->name));
  json_object_object_add(o, "res", json_object_new_int(m->res));
  for (int i = 0; i < m->nlayers; i++) {
    const struct mbt_layer *l = &m->layers[i];
    json_object *j = json_object_new_object();
    json_object_object_add(j, "name", json_object_new_string(l->name));
    json_object_object_add(j, "op", json_object_new_string(mbt_op_name(l->op)));
    if (l->op == MBT_OP_CONV || l->op == MBT_OP_PWCONV || l->op == MBT_OP_FC)
      json_object_object_add(j, "out", json_object_new_int(l->oc));
    if (l->op == MBT_OP_CONV || l->op == MBT_OP_DWCONV) {
      json_object *pad = json_object_new_array();
      json_object_array_add(pad, json_object_new_int(l->pad));
      json_object_array_add(pad, json_object_new_int(l->pad_end));
      json_object_object_add(j, "k", json_object_new_int(l->k));
      json_object_object_add(j, "stride", json_object_new_int(l->stride));
      json_object_object_add(j, "pad", pad);
    }
    if (l->act != MBT_ACT_NONE)
      json_object_object_add(j, "act", json_object_new_string(mbt_act_name(l->act)));
    if (l->src != i - 1)
      json_object_object_add(j, "src", json_object_new_string(l->src < 0 ? "image" : m->layers[l->src].name));
    if (l->res >= -1)
      json_object_object_add(j, "res", json_object_new_string(l->res < 0 ? "image" : m->layers[l->res].name));
    json_object_array_add(arr, j);
  }
  json_object_object_add(o, "layers", arr);
  const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  char *out = text ? malloc(strlen(text) + 1) : NULL;
  if (out) memcpy(out, text, strlen(text) + 1);
  json_object_put(o);
  return out;
}

void mbt_model_title(const struct mbt_model *m, char *buf, size_t n) {
  if (m->kind == MBT_NET_CUSTOM) snprintf(buf, n, "network %s", m->name);
  else snprintf(buf, n, "MobileNet %s alpha %.3g", m->name, m->alpha);
}

void mbt_model_id(const struct mbt_model *m, char *buf, size_t n) {
  if (m->kind != MBT_NET_CUSTOM) {
    snprintf(buf, n, "%s", m->name);
    return;
  }
  char *d = mbt_model_describe(m);
  const uint64_t h = d ? mbt_fnv(0xcbf29ce484222325ull, d, strlen(d)) : 0;
  free(d);
  snprintf(buf, n, "%s-%08x", m->name, (unsigned)(h ^ h >> 32));
}

/* A layer or network name: 1 to @p max - 1 characters of [A-Za-z0-9._-], not "image". */
static int good_name(const char *s, size_t max) {
  const size_t n = strlen(s);
  if (n == 0 || n >= max || !strcmp(s, "image")) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i])) return 0;
  return 1;
}

/* Integer field @p key of @p j into @p v (@p dflt when absent): 1, or 0 when it is there and is
 * not an integer in [@p lo, @p hi]. */
static int int_field(json_object *j, const char *key, int dflt, int lo, int hi, int *v) {
  json_object *x;
  *v = dflt;
  if (!json_object_object_get_ex(j, key, &x)) return 1;
  if (!json_object_is_type(x, json_type_int)) return 0;
  const int64_t y = json_object_get_int64(x);
  if (y < lo || y > hi) return 0;
  *v = (int)y;
  return 1;
}

/* The layer that string field @p key of @p j names, among the @p i before it: -1 for "image",
 * @p dflt when absent, -3 when it names no earlier layer. */
static int ref_field(const struct mbt_model *m, int i, json_object *j, const char *key, int dflt) {
  json_object *x;
  if (!json_object_object_get_ex(j, key, &x)) return dflt;
  if (!json_object_is_type(x, json_type_string)) return -3;
  const char *s = json_object_get_string(x);
  if (!strcmp(s, "image")) return -1;
  for (int k = 0; k < i; k++)
    if (!strcmp(m->layers[k].name, s)) return k;
  return -3;
}

#define BAD(...) (st = mbt_fail(MBT_EPARSE, __VA_ARGS__))

/* The residual (a pwconv layer's) or gate (a scale layer's) @p res of layer @p l, checked and
 * added (-2: none). */
static enum mbt_status parse_res(const char *what, struct mbt_model *out, struct mbt_layer *l,
                                 int res) {
  enum mbt_status st = MBT_OK;
  const enum mbt_op op = l->op;
  if (res == -2)
    return op == MBT_OP_SCALE
               ? BAD("%s: layer %s: a scale layer needs its gate (field 'res')", what, l->name)
               : MBT_OK;
  const int rh = res < 0 ? out->res : out->layers[res].oh, rc = res < 0 ? 3 : out->layers[res].oc;
  if (op == MBT_OP_PWCONV ? rh != l->oh || rc != l->oc
      : op == MBT_OP_SCALE ? res < 0 || rh != 1 || rc != l->ic || out->layers[res].op != MBT_OP_FC
                           : 1)
    return BAD("%s: layer %s: field 'res' (%s): %s", what, l->name,
               res < 0 ? "image" : out->layers[res].name,
               op == MBT_OP_PWCONV  ? "the residual must have the layer's output shape"
               : op == MBT_OP_SCALE ? "the gate must be a fully connected layer's 1 x 1 x C "
                                      "output, C the input channels"
                                    : "only a pwconv layer adds a residual and a scale layer a gate");
  add_residual(l, res);
  return MBT_OK;
}

/* Layer @p i of the description, element @p j of its list, into out->layers[i]; @p jump holds
 * each layer's product of strides along its input path. */
static enum mbt_status parse_layer(const char *what, json_object *j, int i, int *jump,
                                   struct mbt_model *out) {
  enum mbt_status st = MBT_OK;
  json_object *x;
  char lname[32];
  snprintf(lname, sizeof lname, "%d", i);
  if (!json_object_is_type(j, json_type_object))
    return BAD("%s: layer %d is not an object", what, i);
  const char *name = json_object_object_get_ex(j, "name", &x) && json_object_is_type(x, json_type_string)
                         ? json_object_get_string(x) : NULL;
  if (!name || !good_name(name, sizeof out->layers[i].name))
    return BAD("%s: layer %d: field 'name' must be 1 to %zu characters of letters, digits, '.', "
               "'_' and '-' (not 'image')", what, i, sizeof out->layers[i].name - 1);
  snprintf(lname, sizeof lname, "%s", name);
  for (int k = 0; k < i; k++)
    if (!strcmp(out->layers[k].name, name)) return BAD("%s: layer %s: its name is used twice", what, name);
  json_object_object_foreach(j, key, val) {
    (void)val;
    static const char *const keys[] = {"name", "op", "out", "k", "stride", "pad", "act", "src", "res"};
    int known = 0;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) known |= !strcmp(key, keys[k]);
    if (!known) return BAD("%s: layer %s: unknown field '%s'", what, lname, key);
  }
  enum mbt_op op = MBT_OP_COUNT;
  if (json_object_object_get_ex(j, "op", &x) && json_object_is_type(x, json_type_string))
    for (int k = 0; k < MBT_OP_COUNT; k++)
      if (!strcmp(json_object_get_string(x), mbt_op_name((enum mbt_op)k))) op = (enum mbt_op)k;
  if (op == MBT_OP_COUNT)
    return BAD("%s: layer %s: field 'op' must be conv, dwconv, pwconv, gavgpool, fc or scale",
               what, lname);
  enum mbt_act act = MBT_ACT_NONE;
  if (json_object_object_get_ex(j, "act", &x)) {
    int a = -1;
    for (int k = 0; json_object_is_type(x, json_type_string) && k < NACTS; k++)
      if (!strcmp(json_object_get_string(x), mbt_act_name((enum mbt_act)k))) a = k;
    if (a < 0)
      return BAD("%s: layer %s: field 'act' must be linear, relu6, hswish, relu, hsigmoid, silu "
                 "or sigmoid",
                 what, lname);
    act = (enum mbt_act)a;
    if ((op == MBT_OP_GAVGPOOL || op == MBT_OP_SCALE) && act != MBT_ACT_NONE)
      return BAD("%s: layer %s: a %s layer has no activation", what, lname, mbt_op_name(op));
  }
  const int src = ref_field(out, i, j, "src", i - 1), res = ref_field(out, i, j, "res", -2);
  if (src == -3 || src == -2)
    return BAD("%s: layer %s: field 'src' names no earlier layer (nor 'image')", what, lname);
  if (res == -3) return BAD("%s: layer %s: field 'res' names no earlier layer (nor 'image')", what, lname);
  const int spatial = op == MBT_OP_CONV || op == MBT_OP_DWCONV;
  const int has_out = op == MBT_OP_CONV || op == MBT_OP_PWCONV || op == MBT_OP_FC;
  int oc = 0, k = 1, s = 1;
  if (has_out ? !json_object_object_get_ex(j, "out", &x) || !int_field(j, "out", 0, 1, MAX_CHANNELS, &oc)
              : json_object_object_get_ex(j, "out", &x))
    return BAD("%s: layer %s: field 'out' %s", what, lname,
               has_out ? "(output channels) must be an integer in [1, 65536]"
                       : "is for conv, pwconv and fc layers only (the others keep their channels)");
  if (spatial ? !json_object_object_get_ex(j, "k", &x) || !int_field(j, "k", 0, 1, MAX_K, &k) ||
                    !int_field(j, "stride", 1, 1, 2, &s)
              : json_object_object_get_ex(j, "k", &x) || json_object_object_get_ex(j, "stride", &x) ||
                    json_object_object_get_ex(j, "pad", &x))
    return BAD("%s: layer %s: %s", what, lname,
               spatial ? "field 'k' must be an integer in [1, 15] and 'stride' 1 or 2"
                       : "fields 'k', 'stride' and 'pad' are for conv and dwconv layers only");
  int pad = (k - 1) / 2, pad_end = (k - 1) / 2;
  if (json_object_object_get_ex(j, "pad", &x)) {
    json_object *p0 = json_object_is_type(x, json_type_array) && json_object_array_length(x) == 2
                          ? json_object_array_get_idx(x, 0) : NULL;
    json_object *p1 = p0 ? json_object_array_get_idx(x, 1) : NULL;
    if (!p0 || !json_object_is_type(p0, json_type_int) || !json_object_is_type(p1, json_type_int) ||
        json_object_get_int64(p0) < 0 || json_object_get_int64(p0) >= k ||
        json_object_get_int64(p1) < 0 || json_object_get_int64(p1) >= k)
      return BAD("%s: layer %s: field 'pad' must be [before, after], each in [0, k - 1 = %d]",
                 what, lname, k - 1);
    pad = (int)json_object_get_int64(p0), pad_end = (int)json_object_get_int64(p1);
  }
  struct builder b = {out, out->res, out->res, 3, src, 1, 1};
  if (src >= 0) {
    const struct mbt_layer *p = &out->layers[src];
    b.h = p->oh, b.w = p->ow, b.c = p->oc, b.rf = p->rf, b.jump = jump[src];
  }
  if (op == MBT_OP_FC && (b.h != 1 || b.w != 1))
    return BAD("%s: layer %s: a fully connected layer reads a %dx%d map (pool it first)", what,
               lname, b.h, b.w);
  if (spatial && b.h + pad + pad_end < k)
    return BAD("%s: layer %s: a %dx%d kernel does not fit its %dx%d input and padding", what,
               lname, k, k, b.h, b.w);
  out->nlayers = i;
  struct mbt_layer *l = add_padded(&b, name, op, oc, k, s, pad, pad_end, act);
  jump[i] = b.jump;
  if ((st = parse_res(what, out, l, res)) != MBT_OK) return st;
  if ((double)l->oh * l->ow * l->oc > 1e9 || l->params > 1e9)
    return BAD("%s: layer %s: %dx%dx%d outputs or %.0f weights are too many", what, lname, l->oh,
               l->ow, l->oc, l->params);
  return MBT_OK;
}

enum mbt_status mbt_model_parse(const char *text, size_t len, const char *what,
                                struct mbt_model *out) {
  memset(out, 0, sizeof *out);
  enum mbt_status st;
  json_object *o = mbt_json_parse(what, text, len, "a network description", &st), *x, *arr;
  if (!o) return st;
  int version = 0, res = 0, jump[MBT_MAX_LAYERS];
  const char *name = json_object_object_get_ex(o, "name", &x) && json_object_is_type(x, json_type_string)
                         ? json_object_get_string(x) : NULL;
  if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "format", &x) ||
      strcmp(json_object_get_string(x), DESC_FORMAT))
    BAD("%s: not a network description (field 'format' is not \"%s\")", what, DESC_FORMAT);
  else if (!int_field(o, "version", 0, 1, 1, &version) || version != 1)
    BAD("%s: field 'version': this build reads network descriptions of version 1", what);
  else if (!name || !good_name(name, sizeof out->name))
    BAD("%s: field 'name' must be 1 to %zu characters of letters, digits, '.', '_' and '-'",
        what, sizeof out->name - 1);
  else if (!int_field(o, "res", 0, 32, 1024, &res) || res == 0)
    BAD("%s: field 'res' (the input resolution) must be an integer in [32, 1024]", what);
  else if (!json_object_object_get_ex(o, "layers", &arr) || !json_object_is_type(arr, json_type_array) ||
           json_object_array_length(arr) < 2 || json_object_array_length(arr) > MBT_MAX_LAYERS)
    BAD("%s: field 'layers' must be a list of 2 to %d layers", what, MBT_MAX_LAYERS);
  else if (!(out->layers = calloc(MBT_MAX_LAYERS, sizeof *out->layers)))
    st = mbt_fail(MBT_ENOMEM, "cannot allocate the layer table");
  if (st == MBT_OK) {
    out->kind = MBT_NET_CUSTOM, out->alpha = 1.0, out->res = res;
    snprintf(out->name, sizeof out->name, "%s", name);
    const int n = (int)json_object_array_length(arr);
    for (int i = 0; i < n && st == MBT_OK; i++)
      st = parse_layer(what, json_object_array_get_idx(arr, (size_t)i), i, jump, out);
    out->nlayers = st == MBT_OK ? n : out->nlayers;
  }
  if (st == MBT_OK) {
    const struct mbt_layer *last = &out->layers[out->nlayers - 1];
    if (last->op != MBT_OP_FC || last->oc > 100000)
      BAD("%s: the last layer (%s) must be the classifier: a fully connected layer of 1 to 100000 "
          "outputs", what, last->name);
    for (int i = 0; i + 1 < out->nlayers && st == MBT_OK; i++) {
      int read = 0;
      for (int k = i + 1; k < out->nlayers; k++)
        read |= out->layers[k].src == i || out->layers[k].res == i;
      if (!read) BAD("%s: layer %s: no later layer reads its output", what, out->layers[i].name);
    }
    out->classes = last->oc;
  }
  json_object_put(o);
  if (st != MBT_OK) {
    mbt_model_free(out);
    memset(out, 0, sizeof *out);
    return st;
  }
  totals(out);
  return MBT_OK;
}

enum mbt_status mbt_model_load(const char *path, struct mbt_model *out) {
  memset(out, 0, sizeof *out);
  enum mbt_status st;
  size_t len = 0;
  char *text = mbt_read_file_max(path, (size_t)16 << 20, &len, &st);
  if (!text) return st;
  st = mbt_model_parse(text, len, path, out);
  free(text);
  return st;
}

int mbt_layer_foldable(const struct mbt_model *m, int i) {
  if (i < 0 || i + 1 >= m->nlayers) return 0;
  const struct mbt_layer *l = &m->layers[i], *p = &m->layers[i + 1];
  if (l->op != MBT_OP_SCALE || p->op != MBT_OP_PWCONV || p->src != i) return 0;
  for (int j = 0; j < m->nlayers; j++)
    if (j != i + 1 && (m->layers[j].src == i || m->layers[j].res == i)) return 0;
  return 1;
}

void mbt_layer_as_fold(const struct mbt_model *m, int i, struct mbt_layer *out) {
  *out = m->layers[i];
  if (!mbt_layer_foldable(m, i)) return;
  const struct mbt_layer *p = &m->layers[i + 1];
  const double kn = (double)p->ic * p->oc;
  out->macs = kn / 2; /* a multiply per weight: 2 macs are its FLOPs */
  out->bytes = 4.0 * (2 * kn + p->ic);
}

int mbt_variant_folds(const char *name) { return name && strncmp(name, "fold/", 5) == 0; }

void mbt_place_as_run(const struct mbt_profile *p, const struct mbt_model *m, int i, int threads,
                      const char *variant, struct mbt_place *out) {
  if (!mbt_variant_folds(variant) || !mbt_layer_foldable(m, i)) {
    mbt_roofline_place(p, m, i, threads, out);
    return;
  }
  struct mbt_layer f;
  mbt_layer_as_fold(m, i, &f);
  mbt_roofline_place_layer(p, m, &f, threads, out);
}
