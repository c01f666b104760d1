/* plan/key.c -- problem keys.  A problem is a plain struct (plan/plan.h); the forms below are
 * the one place the words of its key are spelled, in the order the key lists them, and one
 * printer and one parser read them.  The keys are those plans have always stored:
 *
 *   conv h=224 w=224 ic=3 oc=32 k=3 s=2 act=relu6
 *   dwconv h=112 w=112 c=32 k=3 s=1 act=relu6
 *   pwconv h=112 w=112 ic=32 oc=64 act=relu6 res=0
 *   gavgpool h=7 w=7 c=1024          scale h=28 w=28 c=72          fc ic=1024 oc=1000 act=linear
 *   dwpw h=112 w=112 c=32 k=3 s=1 act=relu6 oc=64 act2=relu6 res=0           (a fused pair)
 *   pwdwpw h=56 w=56 ic=24 c=144 k=3 s=1 oc=24 act=relu6,relu6,linear res=1  (a fused block)
 *   cdwpw h=224 w=224 ic=3 k0=3 s0=2 c=32 k=3 s=1 oc=16 act=relu6,relu6,linear res=0
 *                                        (a fused block whose first layer is a full convolution)
 *   net v2 alpha=1 res=224                                       (the check of a network)
 *
 * each with " t=N" after it when tuned at N > 1 threads. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "net/net.h"
#include "plan/plan.h"

#define MAXF 11

enum ftype {
  F_INT,  /* an int >= 0 */
  F_BOOL, /* 0 or 1 */
  F_ACT,  /* an activation name */
  F_ACTS, /* three activation names, comma-separated (act[0..2]) */
  F_NET,  /* a network name, a bare word */
  F_REAL, /* a double, %g */
};

struct field {
  const char *name; /* "" for a bare word */
  enum ftype type;
  size_t off;       /* in struct mbt_problem */
};

struct form {
  const char *word;
  enum mbt_problem_kind kind;
  enum mbt_op op; /* LAYER forms: the layer's; BLOCK forms: the first layer's; 0 for others */
  struct field f[MAXF];
};

#define P(member) offsetof(struct mbt_problem, member)
#define H {"h", F_INT, P(h)}
#define W {"w", F_INT, P(w)}
#define IC {"ic", F_INT, P(ic)}
#define C {"c", F_INT, P(c)}
#define OC {"oc", F_INT, P(oc)}
#define K {"k", F_INT, P(k)}
#define S {"s", F_INT, P(stride)}
#define ACT {"act", F_ACT, P(act[0])}
#define RES {"res", F_BOOL, P(residual)}
#define K0 {"k0", F_INT, P(k0)}
#define S0 {"s0", F_INT, P(stride0)}
#define ACTS {"act", F_ACTS, P(act)}

/* clang-format off */
static const struct form forms[] = {
  {"conv", MBT_PROBLEM_LAYER, MBT_OP_CONV, {H, W, IC, OC, K, S, ACT}},
  {"dwconv", MBT_PROBLEM_LAYER, MBT_OP_DWCONV, {H, W, C, K, S, ACT}},
  {"pwconv", MBT_PROBLEM_LAYER, MBT_OP_PWCONV, {H, W, IC, OC, ACT, RES}},
  {"gavgpool", MBT_PROBLEM_LAYER, MBT_OP_GAVGPOOL, {H, W, C}},
  {"scale", MBT_PROBLEM_LAYER, MBT_OP_SCALE, {H, W, C}},
  {"fc", MBT_PROBLEM_LAYER, MBT_OP_FC, {IC, OC, ACT}},
  {"dwpw", MBT_PROBLEM_PAIR, 0, {H, W, C, K, S, ACT, OC, {"act2", F_ACT, P(act[1])}, RES}},
  {"pwdwpw", MBT_PROBLEM_BLOCK, MBT_OP_PWCONV, {H, W, IC, C, K, S, OC, ACTS, RES}},
  {"cdwpw", MBT_PROBLEM_BLOCK, MBT_OP_CONV, {H, W, IC, K0, S0, C, K, S, OC, ACTS, RES}},
  {"net", MBT_PROBLEM_NET, 0, {{"", F_NET, P(net)}, {"alpha", F_REAL, P(alpha)},
                               {"res", F_INT, P(res)}}},
};
/* clang-format on */
#define NFORMS (sizeof forms / sizeof forms[0])

static const struct form *form_of(const struct mbt_problem *p) {
  for (size_t k = 0; k < NFORMS; k++)
    if (forms[k].kind == p->kind &&
        ((p->kind != MBT_PROBLEM_LAYER && p->kind != MBT_PROBLEM_BLOCK) || forms[k].op == p->op))
      return &forms[k];
  for (size_t k = 0; k < NFORMS; k++) /* a layer whose op has no form of its own: "fc", as ever */
    if (forms[k].op == MBT_OP_FC) return &forms[k];
  return &forms[0];
}

/* Keep of @p all only what its form's key holds, with the kind, op and threads. */
static void keep(const struct mbt_problem *all, struct mbt_problem *p) {
  const struct form *f = form_of(all);
  memset(p, 0, sizeof *p);
  p->kind = f->kind, p->op = f->op;
  p->threads = all->threads > 1 ? all->threads : 1;
  for (int j = 0; j < MAXF && f->f[j].name; j++) {
    const size_t sz = f->f[j].type == F_ACTS ? sizeof p->act
                      : f->f[j].type == F_NET  ? sizeof p->net
                      : f->f[j].type == F_REAL ? sizeof(double) : sizeof(int);
    memcpy((char *)p + f->f[j].off, (const char *)all + f->f[j].off, sz);
  }
}

void mbt_problem_layer(const struct mbt_layer *l, int threads, struct mbt_problem *p) {
  struct mbt_problem all;
  memset(&all, 0, sizeof all);
  all.kind = MBT_PROBLEM_LAYER, all.op = l->op, all.threads = threads;
  all.h = l->ih, all.w = l->iw, all.ic = l->ic, all.c = l->ic, all.oc = l->oc;
  all.k = l->k, all.stride = l->stride, all.act[0] = l->act, all.residual = l->res >= -1;
  keep(&all, p);
}

void mbt_problem_group(const struct mbt_model *m, int i, int len, int threads,
                       struct mbt_problem *p) {
  const struct mbt_layer *l = &m->layers[i];
  if (len < 2) {
    mbt_problem_layer(l, threads, p);
    return;
  }
  const struct mbt_layer *dw = &l[len - 2], *pw = &l[len - 1];
  struct mbt_problem all;
  memset(&all, 0, sizeof all);
  all.kind = len == 2 ? MBT_PROBLEM_PAIR : MBT_PROBLEM_BLOCK, all.threads = threads;
  all.op = l->op; /* a block's form: pwdwpw or cdwpw */
  all.k0 = l->k, all.stride0 = l->stride;
  all.h = l->ih, all.w = l->iw, all.ic = l->ic, all.c = dw->ic, all.oc = pw->oc;
  all.k = dw->k, all.stride = dw->stride, all.residual = pw->res >= -1;
  for (int j = 0; j < len; j++) all.act[j] = l[j].act;
  keep(&all, p);
}

void mbt_problem_net(const struct mbt_model *m, int threads, struct mbt_problem *p) {
  struct mbt_problem all;
  memset(&all, 0, sizeof all);
  all.kind = MBT_PROBLEM_NET, all.threads = threads;
  mbt_model_id(m, all.net, sizeof all.net);
  all.alpha = m->alpha, all.res = m->res;
  keep(&all, p);
}

/* One field's text (after "name=" when it has a name). */
static void field_text(const struct mbt_problem *p, const struct field *f, char *buf, size_t n) {
  const char *at = (const char *)p + f->off;
  int v;
  memcpy(&v, at, sizeof v);
  switch (f->type) {
    case F_ACT: snprintf(buf, n, "%s", mbt_act_name((enum mbt_act)v)); break;
    case F_ACTS:
      snprintf(buf, n, "%s,%s,%s", mbt_act_name(p->act[0]), mbt_act_name(p->act[1]),
               mbt_act_name(p->act[2]));
      break;
    case F_NET: snprintf(buf, n, "%s", p->net); break;
    case F_REAL: snprintf(buf, n, "%g", p->alpha); break;
    default: snprintf(buf, n, "%d", v); break;
  }
}

void mbt_problem_key(const struct mbt_problem *p, char *buf, size_t n) {
  const struct form *f = form_of(p);
  char body[96], v[48];
  size_t len = (size_t)snprintf(body, sizeof body, "%s", f->word);
  for (int j = 0; j < MAXF && f->f[j].name && len < sizeof body; j++) {
    field_text(p, &f->f[j], v, sizeof v);
    len += (size_t)snprintf(body + len, sizeof body - len, " %s%s%s", f->f[j].name,
                            f->f[j].name[0] ? "=" : "", v);
  }
  mbt_key_threads(body, p->threads, buf, n);
}

void mbt_key_threads(const char *key, int threads, char *buf, size_t n) {
  if (threads > 1) snprintf(buf, n, "%.85s t=%d", key, threads);
  else snprintf(buf, n, "%s", key);
}

int mbt_plan_int(const char *v, long long lo, long long hi, long long *out) {
  char *end = NULL;
  errno = 0;
  const long long x = *v && !isspace((unsigned char)*v) ? strtoll(v, &end, 10) : 0;
  if (!end || end == v || *end || errno == ERANGE || x < lo || x > hi) return 0;
  *out = x;
  return 1;
}

static int act_parse(const char *s, enum mbt_act *a) {
  for (int k = 0; k < MBT_ACT_COUNT; k++)
    if (!strcmp(s, mbt_act_name((enum mbt_act)k))) {
      *a = (enum mbt_act)k;
      return 1;
    }
  return 0;
}

/* One field's value @p v into @p p: 1, or 0 when it is not one. */
static int field_parse(const struct field *f, char *v, struct mbt_problem *p) {
  char *at = (char *)p + f->off;
  long long x;
  switch (f->type) {
    case F_ACT: return act_parse(v, (enum mbt_act *)(void *)at);
    case F_ACTS: {
      char *save = NULL, *a = strtok_r(v, ",", &save);
      for (int j = 0; j < 3; j++, a = strtok_r(NULL, ",", &save))
        if (!a || !act_parse(a, &p->act[j])) return 0;
      return a == NULL;
    }
    case F_NET: { /* what mbt_model_id writes: a built-in name, or NAME-XXXXXXXX (8 hex) */
      const size_t n = strlen(v);
      int ok = 0;
      for (int j = MBT_NET_V1; j <= MBT_NET_V3S; j++) ok |= !strcmp(v, mbt_net_name((enum mbt_net_kind)j));
      if (!ok && n > 9 && n < sizeof p->net && v[n - 9] == '-') {
        ok = 1;
        for (size_t c = 0; c < n; c++)
          ok &= c >= n - 8 ? isxdigit((unsigned char)v[c]) && !isupper((unsigned char)v[c])
                           : isalnum((unsigned char)v[c]) || strchr("._-", v[c]) != NULL;
      }
      if (ok) snprintf(p->net, sizeof p->net, "%s", v);
      return ok;
    }
    case F_REAL: {
      char *end = NULL;
      p->alpha = strtod(v, &end);
      return end != v && !*end && isfinite(p->alpha);
    }
    default:
      if (!mbt_plan_int(v, 0, f->type == F_BOOL ? 1 : 2147483647, &x)) return 0;
      memcpy(at, &(int){(int)x}, sizeof(int));
      return 1;
  }
}

/* The fields after the form's word, then " t=N" (N > 1) or nothing; NULL or what is wrong. */
static const char *parse_fields(const struct form *f, char **save, struct mbt_problem *p) {
  for (int j = 0; j < MAXF && f->f[j].name; j++) {
    char *tok = strtok_r(NULL, " ", save);
    const size_t n = strlen(f->f[j].name);
    if (!tok) return "it ends early";
    if (n && (strncmp(tok, f->f[j].name, n) || tok[n] != '=')) return "a field is not the next";
    if (!field_parse(&f->f[j], tok + (n ? n + 1 : 0), p)) return "a value is not one";
  }
  char *tok = strtok_r(NULL, " ", save);
  long long t = 1;
  if (tok && (strncmp(tok, "t=", 2) || !mbt_plan_int(tok + 2, 2, 2147483647, &t)))
    return "t=N (N > 1) or the end is expected";
  p->threads = (int)t;
  return tok && strtok_r(NULL, " ", save) ? "text after t=N" : NULL;
}

enum mbt_status mbt_problem_parse(const char *key, struct mbt_problem *p) {
  char text[128], again[128];
  memset(p, 0, sizeof *p);
  if (strlen(key) >= sizeof text)
    return mbt_fail(MBT_EPARSE, "problem key too long: '%.40s...'", key);
  memcpy(text, key, strlen(key) + 1);
  char *save = NULL, *word = strtok_r(text, " ", &save);
  const struct form *f = NULL;
  for (size_t k = 0; word && k < NFORMS; k++)
    if (!strcmp(word, forms[k].word)) f = &forms[k];
  const char *why = f ? NULL : "an unknown first word";
  if (f) {
    p->kind = f->kind, p->op = f->op;
    why = parse_fields(f, &save, p);
  }
  if (!why) {
    mbt_problem_key(p, again, sizeof again);
    if (strcmp(again, key)) why = "it is not written as mobitune writes it";
  }
  if (!why) return MBT_OK;
  memset(p, 0, sizeof *p);
  return mbt_fail(MBT_EPARSE, "'%.100s' is not a problem key: %s", key, why);
}

int mbt_problem_same(const struct mbt_problem *a, const struct mbt_problem *b) {
  return memcmp(a, b, sizeof *a) == 0;
}

void mbt_layer_key(const struct mbt_layer *l, char *buf, size_t n) {
  struct mbt_problem p;
  mbt_problem_layer(l, 1, &p);
  mbt_problem_key(&p, buf, n);
}

/* A group of consecutive layers: @p l points at the first of them in its model's table. */
static void group_key(const struct mbt_layer *l, int len, char *buf, size_t n) {
  const struct mbt_model m = {.layers = (struct mbt_layer *)l, .nlayers = len};
  struct mbt_problem p;
  mbt_problem_group(&m, 0, len, 1, &p);
  mbt_problem_key(&p, buf, n);
}

void mbt_pair_key(const struct mbt_layer *dw, const struct mbt_layer *pw, char *buf, size_t n) {
  const struct mbt_layer l[2] = {*dw, *pw};
  group_key(l, 2, buf, n);
}

void mbt_block_key(const struct mbt_layer *ex, const struct mbt_layer *dw,
                   const struct mbt_layer *pw, char *buf, size_t n) {
  const struct mbt_layer l[3] = {*ex, *dw, *pw};
  group_key(l, 3, buf, n);
}

void mbt_check_key(const struct mbt_model *m, int threads, char *buf, size_t n) {
  struct mbt_problem p;
  mbt_problem_net(m, threads, &p);
  mbt_problem_key(&p, buf, n);
}

int mbt_layer_repeats(const struct mbt_model *m, int i) {
  struct mbt_problem p, q;
  mbt_problem_layer(&m->layers[i], 1, &p);
  for (int j = 0; j < i; j++) {
    mbt_problem_layer(&m->layers[j], 1, &q);
    if (mbt_problem_same(&p, &q)) return 1;
  }
  return 0;
}

void mbt_rows_name(int rows, char *buf, size_t n) {
  if (rows) snprintf(buf, n, "fused[rows=%d]", rows);
  else snprintf(buf, n, "unfused");
}

int mbt_rows_parse(const char *v, int *rows) {
  long long r = -1;
  const size_t n = strlen(v);
  char num[24] = "";
  *rows = 0;
  if (strncmp(v, "fused[", 6)) return 0;
  if (n > 12 && n - 12 < sizeof num && !strncmp(v, "fused[rows=", 11) && v[n - 1] == ']')
    memcpy(num, v + 11, n - 12);
  if (!mbt_plan_int(num, 0, MBT_FUSE_ROWS_MAX, &r)) return -1;
  *rows = (int)r;
  return 1;
}
