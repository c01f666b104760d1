/* net/model.c -- MobileNet V1 and V2 as data: layer tables scaled by the width multiplier alpha
 * and the input resolution, with the analytic model of MODEL.md per layer (MACs, parameters,
 * compulsory bytes, operational intensity, receptive field). */
#include "config.h"

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

const char *mbt_op_name(enum mbt_op op) {
  static const char *const names[MBT_OP_COUNT] = {"conv", "dwconv", "pwconv", "gavgpool", "fc",
                                                  "scale"};
  return (unsigned)op < MBT_OP_COUNT ? names[op] : "?";
}

static const char *const net_names[] = {"?", "v1", "v2", "v3-large", "v3-small"};

const char *mbt_net_name(enum mbt_net_kind k) {
  return k >= MBT_NET_V1 && k <= MBT_NET_V3S ? net_names[k] : "?";
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

static struct mbt_layer *add(struct builder *b, const char *name, enum mbt_op op, int oc, int k,
                             int s, enum mbt_act act) {
  struct mbt_layer *l = &b->m->layers[b->m->nlayers];
  memset(l, 0, sizeof *l);
  snprintf(l->name, sizeof l->name, "%s", name);
  l->op = op;
  l->ih = b->h, l->iw = b->w, l->ic = b->c;
  l->k = k, l->stride = s, l->pad = (k - 1) / 2;
  l->act = act;
  l->src = b->cur;
  l->res = -2;
  if (op == MBT_OP_GAVGPOOL || op == MBT_OP_FC) {
    l->oh = l->ow = 1;
    l->pad = 0;
  } else {
    l->oh = (b->h + s - 1) / s; /* same padding: ceil(H / s) */
    l->ow = (b->w + s - 1) / s;
  }
  l->oc = op == MBT_OP_DWCONV || op == MBT_OP_GAVGPOOL || op == MBT_OP_SCALE ? b->c : oc;
  const double opix = (double)l->oh * l->ow, ipix = (double)l->ih * l->iw;
  switch (op) {
    case MBT_OP_CONV: l->macs = opix * l->oc * k * k * l->ic; l->params = (double)k * k * l->ic * l->oc; break;
    case MBT_OP_DWCONV: l->macs = opix * l->ic * k * k; l->params = (double)k * k * l->ic; break;
    case MBT_OP_PWCONV:
    case MBT_OP_FC: l->macs = opix * l->ic * l->oc; l->params = (double)l->ic * l->oc; break;
    default: break; /* the average pool has adds only, no MACs or parameters */
  }
  l->bias = op == MBT_OP_GAVGPOOL || op == MBT_OP_SCALE ? 0 : l->oc;
  l->bytes = 4.0 * (ipix * l->ic + l->params + opix * l->oc);
  l->intensity = l->macs / l->bytes;
  /* R_L = 1 + sum (K_l - 1) prod_{i<l} s_i; the pool acts as a kernel the size of its input. */
  int kk = op == MBT_OP_GAVGPOOL ? b->h : op == MBT_OP_FC ? 1 : k;
  b->rf += (kk - 1) * b->jump;
  b->jump *= s;
  l->rf = b->rf;
  b->h = l->oh, b->w = l->ow, b->c = l->oc;
  b->cur = b->m->nlayers++;
  return l;
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
      if (s == 1 && cin == cout) { /* the residual input is read once more */
        l->res = in;
        l->bytes += 4.0 * l->oh * l->ow * l->oc;
        l->intensity = l->macs / l->bytes;
      }
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
  struct mbt_layer *l = add(b, n, MBT_OP_SCALE, 0, 1, 1, MBT_ACT_NONE);
  l->res = gate;
  l->bytes = 4.0 * (2.0 * l->ih * l->iw * l->ic + l->ic);
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
    if (cfg[i][5] == 1 && cin == cout) {
      l->res = in;
      l->bytes += 4.0 * l->oh * l->ow * l->oc;
      l->intensity = l->macs / l->bytes;
    }
  }
  add(b, "conv_last", MBT_OP_PWCONV, 6 * b->c, 1, 1, MBT_ACT_HSWISH);
  add(b, "pool", MBT_OP_GAVGPOOL, 0, 1, 1, MBT_ACT_NONE);
  add(b, "fc1", MBT_OP_FC, v2_depth((large ? 1280 : 1024) * a), 1, 1, MBT_ACT_HSWISH);
  add(b, "fc", MBT_OP_FC, b->m->classes, 1, 1, MBT_ACT_NONE);
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
  struct builder b = {out, res, res, 3, -1, 1, 1};
  if (kind == MBT_NET_V1) build_v1(&b, alpha);
  else if (kind == MBT_NET_V2) build_v2(&b, alpha);
  else build_v3(&b, alpha, kind == MBT_NET_V3L);
  for (int i = 0; i < out->nlayers; i++) {
    out->macs += out->layers[i].macs;
    out->params += out->layers[i].params;
    out->bias += out->layers[i].bias;
    out->bytes += out->layers[i].bytes;
  }
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
    json_object_object_add(o, "net", json_object_new_string(mbt_net_name(m->kind)));
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
  fprintf(out, "MobileNet %s  alpha %.3g  %dx%d input\n", m->kind == MBT_NET_V1 ? "V1" : "V2",
          m->alpha, m->res, m->res);
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
