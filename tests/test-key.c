/* tests/test-key.c -- problem keys: the struct prints the very keys plans have always stored
 * (the formats below are the ones written before keys were a struct, and the stem blocks'
 * cdwpw, which came after), parses back to the same
 * problem, and refuses what it does not print; the fusion group walk visits what the fusability
 * checks allow; fused[rows=N] names round-trip. */
#include <stdio.h>
#include <string.h>

#include "net/net.h"
#include "plan/plan.h"
#include "tests/tap.h"

/* The key strings as plans stored them before (the oracle). */
static void old_layer_key(const struct mbt_layer *l, char *buf, size_t n) {
  switch (l->op) {
    case MBT_OP_CONV:
      snprintf(buf, n, "conv h=%d w=%d ic=%d oc=%d k=%d s=%d act=%s", l->ih, l->iw, l->ic, l->oc,
               l->k, l->stride, mbt_act_name(l->act));
      break;
    case MBT_OP_DWCONV:
      snprintf(buf, n, "dwconv h=%d w=%d c=%d k=%d s=%d act=%s", l->ih, l->iw, l->ic, l->k,
               l->stride, mbt_act_name(l->act));
      break;
    case MBT_OP_PWCONV:
      snprintf(buf, n, "pwconv h=%d w=%d ic=%d oc=%d act=%s res=%d", l->ih, l->iw, l->ic, l->oc,
               mbt_act_name(l->act), l->res >= -1);
      break;
    case MBT_OP_GAVGPOOL: snprintf(buf, n, "gavgpool h=%d w=%d c=%d", l->ih, l->iw, l->ic); break;
    case MBT_OP_SCALE: snprintf(buf, n, "scale h=%d w=%d c=%d", l->ih, l->iw, l->ic); break;
    default: snprintf(buf, n, "fc ic=%d oc=%d act=%s", l->ic, l->oc, mbt_act_name(l->act)); break;
  }
}

static void old_group_key(const struct mbt_layer *l, int len, char *buf, size_t n) {
  const struct mbt_layer *dw = &l[len - 2], *pw = &l[len - 1];
  if (len == 2)
    snprintf(buf, n, "dwpw h=%d w=%d c=%d k=%d s=%d act=%s oc=%d act2=%s res=%d", dw->ih, dw->iw,
             dw->ic, dw->k, dw->stride, mbt_act_name(dw->act), pw->oc, mbt_act_name(pw->act),
             pw->res >= -1);
  else if (l->op == MBT_OP_CONV) /* the stem blocks' form, new with them */
    snprintf(buf, n, "cdwpw h=%d w=%d ic=%d k0=%d s0=%d c=%d k=%d s=%d oc=%d act=%s,%s,%s res=%d",
             l->ih, l->iw, l->ic, l->k, l->stride, dw->ic, dw->k, dw->stride, pw->oc,
             mbt_act_name(l->act), mbt_act_name(dw->act), mbt_act_name(pw->act), pw->res >= -1);
  else
    snprintf(buf, n, "pwdwpw h=%d w=%d ic=%d c=%d k=%d s=%d oc=%d act=%s,%s,%s res=%d", l->ih,
             l->iw, l->ic, dw->ic, dw->k, dw->stride, pw->oc, mbt_act_name(l->act),
             mbt_act_name(dw->act), mbt_act_name(pw->act), pw->res >= -1);
}

static void old_threads(const char *key, int threads, char *buf, size_t n) {
  if (threads > 1) snprintf(buf, n, "%.85s t=%d", key, threads);
  else snprintf(buf, n, "%s", key);
}

/* Group @p g's key is the old one, and parses back to its problem. */
static int group_ok(const struct mbt_model *m, const struct mbt_group *g, int threads) {
  char old[96], want[96];
  if (g->len == 1) old_layer_key(&m->layers[g->first], old, sizeof old);
  else old_group_key(&m->layers[g->first], g->len, old, sizeof old);
  old_threads(old, threads, want, sizeof want);
  struct mbt_problem q;
  return !strcmp(g->key, want) && mbt_problem_parse(g->key, &q) == MBT_OK &&
         mbt_problem_same(&q, &g->p);
}

/* Every group of every network at three thread counts; the walk visits exactly the layers and
 * the fusable pairs and blocks. */
static void networks(void) {
  static const double alphas[] = {1.0, 0.35};
  int keys = 0, bad = 0, walk = 0, repeats = 0;
  for (int kind = MBT_NET_V1; kind <= MBT_NET_V3S; kind++)
    for (int a = 0; a < 2; a++) {
      struct mbt_model m;
      if (mbt_model_build((enum mbt_net_kind)kind, alphas[a], 160, &m) != MBT_OK) continue;
      for (int threads = 1; threads <= 4; threads += 3) {
        int want = 0, got = 0;
        for (int i = 0; i < m.nlayers; i++)
          want += 1 + mbt_pair_fusable(&m, i) + mbt_block_fusable(&m, i);
        struct mbt_groups it;
        struct mbt_group g;
        for (mbt_groups_begin(&it, &m, MBT_GROUP_ALL, threads); mbt_groups_next(&it, &g); got++)
          keys++, bad += !group_ok(&m, &g, threads);
        walk += got != want;
        char ck[96], old[96], want2[96];
        snprintf(old, sizeof old, "net %s alpha=%g res=%d", mbt_net_name(m.kind), m.alpha, m.res);
        old_threads(old, threads, want2, sizeof want2);
        mbt_check_key(&m, threads, ck, sizeof ck);
        struct mbt_problem p, q;
        mbt_problem_net(&m, threads, &p);
        bad += strcmp(ck, want2) || mbt_problem_parse(ck, &q) != MBT_OK ||
               !mbt_problem_same(&p, &q);
      }
      for (int i = 0; i < m.nlayers; i++) { /* the struct tells repeats as the strings did */
        char a1[96], a2[96];
        int rep = 0;
        old_layer_key(&m.layers[i], a1, sizeof a1);
        for (int j = 0; j < i && !rep; j++) {
          old_layer_key(&m.layers[j], a2, sizeof a2);
          rep = !strcmp(a1, a2);
        }
        repeats += rep != mbt_layer_repeats(&m, i);
      }
      mbt_model_free(&m);
    }
  ok(keys > 1000 && bad == 0, "every layer, pair, block and network key is the old one and parses "
     "back to its problem (%d keys, %d wrong)", keys, bad);
  ok(walk == 0, "the walk visits every layer, fusable pair and fusable block once");
  ok(repeats == 0, "mbt_layer_repeats agrees with the keys (%d differ)", repeats);
}

static void refusals(void) {
  static const char *const bad[] = {
      "dwconv h=112 w=112 c=32 k=3 s=1",
      "dwconv h=112 w=112 c=32 k=3 s=1 act=relu7",
      "dwconv h=112 w=112 c=32 k=3 s=1 act=relu6 t=1",
      "dwconv h=112 w=112 c=32 k=3 s=1 act=relu6 x",
      "dwconv h=0112 w=112 c=32 k=3 s=1 act=relu6",
      "dwconv  h=112 w=112 c=32 k=3 s=1 act=relu6",
      "pwconv h=7 w=7 ic=8 oc=8 act=linear res=2",
      "pwdwpw h=7 w=7 ic=8 c=8 k=3 s=1 oc=8 act=relu6,relu6 res=0",
      "cdwpw h=224 w=224 ic=3 k0=3 c=32 k=3 s=1 oc=16 act=relu6,relu6,linear res=0",
      "cdwpw h=224 w=224 ic=3 s0=2 k0=3 c=32 k=3 s=1 oc=16 act=relu6,relu6,linear res=0",
      "net v9 alpha=1 res=224",
      "net v1 alpha=1.0 res=224",
      "conv2d h=1 w=1 ic=1 oc=1 k=1 s=1 act=linear",
      "",
  };
  int refused = 0;
  struct mbt_problem p;
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    refused += mbt_problem_parse(bad[k], &p) == MBT_EPARSE;
  ok(refused == (int)(sizeof bad / sizeof bad[0]),
     "keys mobitune does not write are refused (%d of %zu)", refused, sizeof bad / sizeof bad[0]);
  const char *block =
      "pwdwpw h=56 w=56 ic=24 c=144 k=3 s=1 oc=24 act=relu6,relu6,linear res=1 t=16";
  ok(mbt_problem_parse(block, &p) == MBT_OK && p.kind == MBT_PROBLEM_BLOCK && p.threads == 16 &&
         p.c == 144 && p.act[2] == MBT_ACT_NONE && p.residual == 1,
     "a block key parses to its fields");
  const char *stem = "cdwpw h=224 w=224 ic=3 k0=3 s0=2 c=32 k=3 s=1 oc=16 act=relu6,relu6,linear "
                     "res=0 t=2";
  ok(mbt_problem_parse(stem, &p) == MBT_OK && p.kind == MBT_PROBLEM_BLOCK && p.op == MBT_OP_CONV &&
         p.k0 == 3 && p.stride0 == 2 && p.c == 32 && p.k == 3 && p.stride == 1 && p.oc == 16 &&
         p.threads == 2,
     "a stem block key parses to its fields");
}

static void rows(void) {
  char name[32];
  int r, good = 1;
  for (int n = 0; n <= MBT_FUSE_ROWS_MAX; n++) {
    mbt_rows_name(n, name, sizeof name);
    good &= n ? mbt_rows_parse(name, &r) == 1 && r == n : mbt_rows_parse(name, &r) == 0 && r == 0;
  }
  ok(good, "fused[rows=N] names round-trip, unfused is 0 rows");
  ok(mbt_rows_parse("fused[rows=65]", &r) < 0 && mbt_rows_parse("fused[rows=4", &r) < 0 &&
         mbt_rows_parse("fused[rows= 4]", &r) < 0 && mbt_rows_parse("tiled/x", &r) == 0,
     "malformed fused names are refused, variant names are not fused");
}

int main(void) {
  networks();
  refusals();
  rows();
  return done();
}
