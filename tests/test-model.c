/* tests/test-model.c -- the layer tables against the published figures and the formulas of
 * MODEL.md, recomputed here independently from each layer's shape. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "include/mobitune.h"
#include "tests/tap.h"

/* |got - want| within the published figure's rounding (half a unit of its last digit). */
static int near(double got, double want, double half_unit) { return fabs(got - want) <= half_unit; }

/* 1 when the layers of @p a and @p b agree in every field the engine and the model use. */
static int same_layers(const struct mbt_model *a, const struct mbt_model *b, char *why, size_t n) {
  if (a->nlayers != b->nlayers || a->res != b->res || a->classes != b->classes) {
    snprintf(why, n, "%d layers, res %d, %d classes against %d, %d, %d", a->nlayers, a->res,
             a->classes, b->nlayers, b->res, b->classes);
    return 0;
  }
  for (int i = 0; i < a->nlayers; i++) {
    const struct mbt_layer *x = &a->layers[i], *y = &b->layers[i];
    if (strcmp(x->name, y->name) || x->op != y->op || x->ih != y->ih || x->iw != y->iw ||
        x->ic != y->ic || x->oh != y->oh || x->ow != y->ow || x->oc != y->oc || x->k != y->k ||
        x->stride != y->stride || x->pad != y->pad || x->pad_end != y->pad_end ||
        x->act != y->act || x->src != y->src || x->res != y->res || x->macs != y->macs ||
        x->params != y->params || x->bias != y->bias || x->bytes != y->bytes || x->rf != y->rf) {
      snprintf(why, n, "layer %d (%s) differs", i, x->name);
      return 0;
    }
  }
  snprintf(why, n, "%d layers the same", a->nlayers);
  return a->macs == b->macs && a->params == b->params && a->bytes == b->bytes;
}

/* Networks as data: the built-in networks' descriptions give them back exactly; a hand-written
 * network with TensorFlow padding gets its shapes; every malformed description is refused
 * naming the layer and the field. */
static void descriptions(void) {
  static const struct {
    enum mbt_net_kind k;
    double alpha;
    int res;
  } nets[] = {{MBT_NET_V1, 1.0, 224}, {MBT_NET_V1, 0.25, 97}, {MBT_NET_V2, 0.35, 96},
              {MBT_NET_V2, 1.4, 224}, {MBT_NET_V3L, 1.0, 224}, {MBT_NET_V3S, 0.75, 161}};
  for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
    struct mbt_model a, b;
    char why[96] = "";
    mbt_model_build(nets[i].k, nets[i].alpha, nets[i].res, &a);
    char *d = mbt_model_describe(&a);
    const enum mbt_status st = d ? mbt_model_parse(d, strlen(d), "test", &b) : MBT_ENOMEM;
    ok(st == MBT_OK && same_layers(&a, &b, why, sizeof why) && b.kind == MBT_NET_CUSTOM &&
       !strcmp(b.name, a.name),
       "%s %.2f/%d: its description gives the same network back (%s)", a.name, nets[i].alpha,
       nets[i].res, st == MBT_OK ? why : mbt_last_error());
    if (st == MBT_OK) {
      char ia[64], ib[64];
      mbt_model_id(&a, ia, sizeof ia);
      mbt_model_id(&b, ib, sizeof ib);
      ok(!strcmp(ia, a.name) && strlen(ib) == strlen(a.name) + 9 && !strncmp(ib, a.name, strlen(a.name)),
         "%s: a built-in network's id is its name (%s), a described one's adds its hash (%s)",
         a.name, ia, ib);
      mbt_model_free(&b);
    }
    free(d);
    mbt_model_free(&a);
  }
  /* TensorFlow's SAME on an even map: 0 before, 1 after; VALID: none */
  static const char tf[] =
      "{\"format\":\"mobitune-net\",\"version\":1,\"name\":\"tf\",\"res\":96,\"layers\":["
      "{\"name\":\"stem\",\"op\":\"conv\",\"out\":8,\"k\":3,\"stride\":2,\"pad\":[0,1],\"act\":\"relu6\"},"
      "{\"name\":\"dw\",\"op\":\"dwconv\",\"k\":5,\"stride\":2,\"pad\":[1,2]},"
      "{\"name\":\"valid\",\"op\":\"dwconv\",\"k\":3,\"pad\":[0,0]},"
      "{\"name\":\"pw\",\"op\":\"pwconv\",\"out\":8,\"act\":\"relu\"},"
      "{\"name\":\"pw2\",\"op\":\"pwconv\",\"out\":8,\"res\":\"valid\"},"
      "{\"name\":\"pool\",\"op\":\"gavgpool\"},"
      "{\"name\":\"fc\",\"op\":\"fc\",\"out\":5}]}";
  struct mbt_model t;
  enum mbt_status st = mbt_model_parse(tf, strlen(tf), "tf", &t);
  ok(st == MBT_OK && t.layers[0].oh == 48 && t.layers[0].pad == 0 && t.layers[0].pad_end == 1 &&
     t.layers[1].oh == 24 && t.layers[2].oh == 22 && t.layers[4].res == 2 && t.classes == 5 &&
     t.layers[1].rf == 3 + 4 * 2 && t.layers[0].macs == 48.0 * 48 * 8 * 27,
     "TensorFlow padding: 96 -> 48 (3x3 s2, pads 0 and 1) -> 24 (5x5 s2, pads 1 and 2) -> 22 "
     "(3x3 valid) (%s)", st == MBT_OK ? "parsed" : mbt_last_error());
  if (st == MBT_OK) mbt_model_free(&t);
  /* malformed descriptions: each replaces one part of a good one */
  static const struct {
    const char *layers, *want;
  } bad[] = {
      {"{\"name\":\"a\",\"op\":\"conv3\",\"out\":8,\"k\":3}", "field 'op'"},
      {"{\"name\":\"a\",\"op\":\"conv\",\"out\":8,\"k\":3,\"act\":\"gelu\"}", "field 'act'"},
      {"{\"name\":\"a\",\"op\":\"conv\",\"out\":0,\"k\":3}", "field 'out'"},
      {"{\"name\":\"a\",\"op\":\"conv\",\"out\":8,\"k\":16}", "field 'k'"},
      {"{\"name\":\"a\",\"op\":\"conv\",\"out\":8,\"k\":3,\"stride\":3}", "'stride' 1 or 2"},
      {"{\"name\":\"a\",\"op\":\"conv\",\"out\":8,\"k\":3,\"pad\":[3,0]}", "field 'pad'"},
      {"{\"name\":\"a\",\"op\":\"conv\",\"out\":8,\"k\":3,\"pad\":[1]}", "field 'pad'"},
      {"{\"name\":\"a\",\"op\":\"conv\",\"out\":8,\"k\":3,\"size\":3}", "unknown field 'size'"},
      {"{\"name\":\"a b\",\"op\":\"conv\",\"out\":8,\"k\":3}", "field 'name'"},
      {"{\"name\":\"image\",\"op\":\"conv\",\"out\":8,\"k\":3}", "field 'name'"},
      {"{\"name\":\"a\",\"op\":\"conv\",\"out\":8,\"k\":3},{\"name\":\"a\",\"op\":\"dwconv\",\"k\":3}", "used twice"},
      {"{\"name\":\"a\",\"op\":\"conv\",\"out\":8,\"k\":3,\"src\":\"fc\"}", "field 'src'"},
      {"{\"name\":\"a\",\"op\":\"dwconv\",\"k\":3,\"out\":8}", "field 'out'"},
      {"{\"name\":\"a\",\"op\":\"pwconv\",\"out\":8,\"res\":\"image\"}", "output shape"},
      {"{\"name\":\"a\",\"op\":\"dwconv\",\"k\":3,\"res\":\"image\"}", "only a pwconv layer"},
      {"{\"name\":\"a\",\"op\":\"fc\",\"out\":8}", "reads a 64x64 map"},
      {"{\"name\":\"a\",\"op\":\"scale\"}", "needs its gate"},
      {"{\"name\":\"a\",\"op\":\"gavgpool\",\"act\":\"relu\"}", "no activation"},
      {"{\"name\":\"a\",\"op\":\"gavgpool\",\"k\":3}", "for conv and dwconv layers only"},
      {"{\"name\":\"a\",\"op\":\"conv\",\"out\":8,\"k\":3},{\"name\":\"b\",\"op\":\"conv\",\"out\":8,\"k\":3,\"src\":\"image\"}", "layer a: no later layer reads"},
      {"{\"name\":\"a\",\"op\":\"conv\",\"out\":8,\"k\":15,\"stride\":2,\"pad\":[0,0]},{\"name\":\"b\",\"op\":\"dwconv\",\"k\":15,\"pad\":[0,0]},{\"name\":\"c\",\"op\":\"dwconv\",\"k\":15,\"pad\":[0,0]}", "does not fit"},
      {"{\"name\":\"a\",\"op\":\"conv\",\"out\":65536,\"k\":1},{\"name\":\"b\",\"op\":\"pwconv\",\"out\":65536}", "too many"},
      {"7", "layer 0 is not an object"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[1024];
    snprintf(text, sizeof text, "{\"format\":\"mobitune-net\",\"version\":1,\"name\":\"x\","
             "\"res\":64,\"layers\":[%s,{\"name\":\"pool\",\"op\":\"gavgpool\"},"
             "{\"name\":\"fc\",\"op\":\"fc\",\"out\":4}]}", bad[i].layers);
    struct mbt_model x;
    st = mbt_model_parse(text, strlen(text), "bad.json", &x);
    ok(st == MBT_EPARSE && strstr(mbt_last_error(), bad[i].want) && x.layers == NULL,
       "refused, naming '%s': %s", bad[i].want, mbt_last_error());
    if (st == MBT_OK) mbt_model_free(&x);
  }
  static const struct {
    const char *text, *want;
  } whole[] = {
      {"{\"format\":\"mobitune-net\",\"version\":1,\"name\":\"x\",\"res\":64,\"layers\":[", "not valid JSON"},
      {"{\"format\":\"mobitune-plan\",\"version\":1}", "not a network description"},
      {"{\"format\":\"mobitune-net\",\"version\":2}", "field 'version'"},
      {"{\"format\":\"mobitune-net\",\"version\":1,\"name\":\"x\",\"res\":16,\"layers\":[]}", "field 'res'"},
      {"{\"format\":\"mobitune-net\",\"version\":1,\"name\":\"x\",\"res\":64,\"layers\":[]}", "field 'layers'"},
      {"{\"format\":\"mobitune-net\",\"version\":1,\"name\":\"x\",\"res\":64,\"layers\":["
       "{\"name\":\"a\",\"op\":\"conv\",\"out\":8,\"k\":3},{\"name\":\"p\",\"op\":\"gavgpool\"}]}",
       "must be the classifier"},
      {"{\"format\":\"mobitune-net\",\"version\":1,\"name\":\"x\",\"res\":64,\"layers\":[]} x", "text after"},
  };
  for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
    struct mbt_model x;
    st = mbt_model_parse(whole[i].text, strlen(whole[i].text), "bad.json", &x);
    ok(st == MBT_EPARSE && strstr(mbt_last_error(), whole[i].want),
       "refused, naming '%s': %s", whole[i].want, mbt_last_error());
    if (st == MBT_OK) mbt_model_free(&x);
  }
}

int main(void) {
  descriptions();
  struct mbt_model m;
  /* MobileNet V1 published totals (MODEL.md): MACs in millions, parameters in millions.  The
   * paper rounds inconsistently (568.7 -> 569 but 290.7 -> 290), so MACs get +-1 M. */
  static const struct {
    double alpha;
    int res;
    double macs, macs_unit, params, params_unit;
  } v1[] = {
      {1.0, 224, 569, 1, 4.2, 0.05},  {0.75, 224, 325, 1, 2.6, 0.05},
      {0.5, 224, 149, 1, 1.3, 0.05},  {0.25, 224, 41, 1, 0.5, 0.05},
      {1.0, 192, 418, 1, 4.2, 0.05},  {1.0, 160, 290, 1, 4.2, 0.05},
      {1.0, 128, 186, 1, 4.2, 0.05},
  };
  for (size_t i = 0; i < sizeof v1 / sizeof v1[0]; i++) {
    ok(mbt_model_build(MBT_NET_V1, v1[i].alpha, v1[i].res, &m) == MBT_OK, "build v1 %.2f/%d",
       v1[i].alpha, v1[i].res);
    /* Parameters in the paper include biases (BN folded). */
    ok(near(m.macs / 1e6, v1[i].macs, v1[i].macs_unit), "v1 %.2f/%d MACs %.2f M = %.0f M",
       v1[i].alpha, v1[i].res, m.macs / 1e6, v1[i].macs);
    ok(near((m.params + m.bias) / 1e6, v1[i].params, v1[i].params_unit),
       "v1 %.2f/%d params %.3f M = %.1f M", v1[i].alpha, v1[i].res, (m.params + m.bias) / 1e6,
       v1[i].params);
    mbt_model_free(&m);
  }
  /* V2 1.0/224: 300 M MACs, 3.4 M parameters. */
  /* MobileNetV3 (Howard et al. 2019, Table 3): Large 1.0 219 M multiply-adds, 5.4 M
   * parameters; Small 1.0 56 M, 2.5 M (the paper's counts include the SE products and
   * activations, ours MACs only: within 2%).  The weights equal torchvision 0.14's convolution
   * and linear weights exactly (5451272, 3353384 at 0.75; 2525832, 1640752 at 0.75). */
  static const struct {
    enum mbt_net_kind k;
    double alpha, macs, params;
    long weights;
  } v3[] = {{MBT_NET_V3L, 1.0, 219, 5.4, 5451272}, {MBT_NET_V3L, 0.75, 0, 0, 3353384},
            {MBT_NET_V3S, 1.0, 56, 2.5, 2525832}, {MBT_NET_V3S, 0.75, 0, 0, 1640752}};
  for (size_t i = 0; i < sizeof v3 / sizeof v3[0]; i++) {
    ok(mbt_model_build(v3[i].k, v3[i].alpha, 224, &m) == MBT_OK, "build %s %.2f/224",
       mbt_net_name(v3[i].k), v3[i].alpha);
    int se = 0, k5 = 0;
    for (int j = 0; j < m.nlayers; j++) {
      se += m.layers[j].op == MBT_OP_SCALE && m.layers[m.layers[j].res].op == MBT_OP_FC &&
            m.layers[m.layers[j].res].act == MBT_ACT_HSIGMOID;
      k5 += m.layers[j].op == MBT_OP_DWCONV && m.layers[j].k == 5;
    }
    ok((long)m.params == v3[i].weights, "%s %.2f: %.0f weights = torchvision's %ld",
       mbt_net_name(v3[i].k), v3[i].alpha, m.params, v3[i].weights);
    if (v3[i].macs > 0) {
      ok(fabs(m.macs / 1e6 / v3[i].macs - 1) < 0.02 && fabs(m.params / 1e6 / v3[i].params - 1) < 0.03,
         "%s 1.0: %.1f M MACs ~ %.0f M, %.3f M params ~ %.1f M", mbt_net_name(v3[i].k),
         m.macs / 1e6, v3[i].macs, m.params / 1e6, v3[i].params);
      ok(se == (v3[i].k == MBT_NET_V3L ? 8 : 9) && k5 == (v3[i].k == MBT_NET_V3L ? 6 : 8),
         "%s: %d squeeze-and-excitation gates (hard-sigmoid), %d 5x5 depthwise layers",
         mbt_net_name(v3[i].k), se, k5);
    }
    mbt_model_free(&m);
  }
  ok(mbt_model_build(MBT_NET_V2, 1.0, 224, &m) == MBT_OK, "build v2 1.0/224");
  ok(near(m.macs / 1e6, 300, 0.5 + 1.0), "v2 MACs %.2f M = 300 M (+-1.5: the paper rounds)", m.macs / 1e6);
  ok(near((m.params + m.bias) / 1e6, 3.4, 0.05 + 0.05), "v2 params %.3f M = 3.4 M",
     (m.params + m.bias) / 1e6);
  /* V2 block formula: MACs = H W Cin (t Cin) + (H W / s^2) t Cin K^2 + (H W / s^2) t Cin Cout. */
  int blocks = 0, formula_ok = 1, residuals = 0;
  for (int i = 0; i < m.nlayers; i++) {
    const struct mbt_layer *e = &m.layers[i];
    if (!strstr(e->name, ".expand")) continue;
    const struct mbt_layer *d = e + 1, *p = e + 2;
    const double H = e->ih, W = e->iw, cin = e->ic, t = e->oc / e->ic, s = d->stride, K = d->k;
    const double want = H * W * cin * t * cin + (H * W / (s * s)) * t * cin * K * K +
                        (H * W / (s * s)) * t * cin * p->oc;
    /* H W / s^2 is exact only for even sizes; our shapes use ceil(H/s) ceil(W/s). */
    const double got = e->macs + d->macs + p->macs;
    if (fabs(got - want) > 1e-9 * want && (int)H % (int)s == 0) formula_ok = 0;
    residuals += p->res >= -1;
    if (p->res >= -1 && !(s == 1 && p->oc == e->ic)) formula_ok = 0;
    blocks++;
  }
  ok(blocks == 16 && formula_ok, "v2: %d expanded blocks match the block MAC formula", blocks);
  ok(residuals == 10, "v2: %d residual adds (s = 1 and Cin = Cout)", residuals);
  mbt_model_free(&m);

  /* V1 per-layer formulas, the standard-convolution twin (4866 M MACs, 29.3 M params), the
   * 1x1 share, and the receptive field recurrence. */
  mbt_model_build(MBT_NET_V1, 1.0, 224, &m);
  double std_macs = 0, std_params = 0, pw_macs = 0, pw_params = 0;
  int per_layer_ok = 1, rf = 1, jump = 1, rf_ok = 1;
  for (int i = 0; i < m.nlayers; i++) {
    const struct mbt_layer *l = &m.layers[i];
    const double HW = (double)l->oh * l->ow, K2 = (double)l->k * l->k;
    double macs = 0, params = 0;
    switch (l->op) {
      case MBT_OP_CONV: macs = HW * l->oc * K2 * l->ic; params = K2 * l->ic * l->oc; break;
      case MBT_OP_DWCONV: macs = HW * l->ic * K2; params = K2 * l->ic; break;
      case MBT_OP_PWCONV: macs = HW * l->ic * l->oc; params = (double)l->ic * l->oc; break;
      case MBT_OP_FC: macs = params = (double)l->ic * l->oc; break;
      default: break;
    }
    const double bytes = 4.0 * ((double)l->ih * l->iw * l->ic + params + HW * l->oc);
    if (macs != l->macs || params != l->params || fabs(bytes - l->bytes) > 0.5 ||
        fabs(l->intensity - macs / bytes) > 1e-12)
      per_layer_ok = 0;
    if (l->op == MBT_OP_PWCONV) pw_macs += macs, pw_params += params;
    if (l->op == MBT_OP_DWCONV) { /* the standard conv this dw+pw pair replaces */
      const struct mbt_layer *p = l + 1;
      std_macs += HW * p->oc * K2 * l->ic;
      std_params += K2 * l->ic * p->oc;
    } else if (l->op != MBT_OP_PWCONV) {
      std_macs += macs, std_params += params;
    }
    const int k = l->op == MBT_OP_GAVGPOOL ? l->ih : l->op == MBT_OP_FC ? 1 : l->k;
    rf += (k - 1) * jump;
    jump *= l->stride;
    if (l->rf != rf) rf_ok = 0;
  }
  ok(per_layer_ok, "v1: every layer's MACs, params, bytes and intensity follow MODEL.md");
  ok(near(std_macs / 1e6, 4866, 0.5 + 1.0), "v1 as standard convolutions: %.1f M MACs = 4866 M",
     std_macs / 1e6);
  ok(near((std_params + m.bias) / 1e6, 29.3, 0.05 + 0.05), "v1 as standard convolutions: %.2f M params = 29.3 M",
     (std_params + m.bias) / 1e6);
  ok(pw_macs / m.macs > 0.94 && pw_macs / m.macs < 0.96, "v1: %.1f%% of MACs in 1x1 layers (~95%%)",
     100 * pw_macs / m.macs);
  ok(pw_params / m.params > 0.70 && pw_params / m.params < 0.80,
     "v1: %.1f%% of weights in 1x1 layers (~75%%)", 100 * pw_params / m.params);
  ok(rf_ok, "v1: receptive field follows R_L = 1 + sum (K_l - 1) prod s_i (dw13: %d px)",
     m.layers[m.nlayers - 4].rf);
  mbt_model_free(&m);

  /* The seed's worked example: dw 3x3 on 112x112, I = H W K^2 / (4 (2 H W + K^2)) ~ 1.125. */
  mbt_model_build(MBT_NET_V1, 1.0, 224, &m);
  const struct mbt_layer *dw1 = &m.layers[1];
  ok(dw1->op == MBT_OP_DWCONV && dw1->ih == 112 && fabs(dw1->intensity - 1.125) < 0.001,
     "dw1 112x112 K=3: I = %.4f MAC/byte ~ 1.125", dw1->intensity);
  mbt_model_free(&m);

  /* alpha^2 rho^2 scaling: alpha 0.75, rho = 0.5 gives about 0.14 of the cost. */
  struct mbt_model a, b;
  mbt_model_build(MBT_NET_V1, 1.0, 224, &a);
  mbt_model_build(MBT_NET_V1, 0.75, 112, &b);
  ok(fabs(b.macs / a.macs - 0.14) < 0.015, "v1 alpha 0.75 rho 0.5: %.3f of the MACs (~0.14)",
     b.macs / a.macs);
  mbt_model_free(&a);
  mbt_model_free(&b);

  /* Bad arguments are refused with a message. */
  ok(mbt_model_build(MBT_NET_V1, 0, 224, &m) == MBT_EINVAL && strstr(mbt_last_error(), "width"),
     "alpha 0 refused: %s", mbt_last_error());
  ok(mbt_model_build(MBT_NET_V2, 1.0, 20000, &m) == MBT_EINVAL, "res 20000 refused: %s",
     mbt_last_error());
  enum mbt_net_kind k;
  ok(mbt_net_parse("v3", &k) == MBT_EINVAL, "unknown network refused: %s", mbt_last_error());
  return done();
}
