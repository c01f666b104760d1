/* tests/test-tune.c -- the planner's candidate records and its roofline pruning, on a small
 * network with a made-up machine profile: a candidate is run only while its roofline bound can
 * still beat the fastest time found; every candidate tried is recorded with its outcome; the
 * winner is always a candidate timed to the end. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "machine/machine.h"
#include "net/net.h"
#include "tests/tap.h"
#include "tuner/tuner.h"

static void peak(struct mbt_profile *p, const char *isa, double gflops) {
  struct mbt_peak *k = &p->peaks[p->npeaks++];
  snprintf(k->isa, sizeof k->isa, "%s", isa);
  snprintf(k->kernel, sizeof k->kernel, "fma");
  k->threads = 1;
  k->gflops.best = k->gflops.median = k->gflops.min = k->gflops.max = gflops;
}

int main(void) {
  if (getenv("MBT_RUNNER") && *getenv("MBT_RUNNER"))
    skip_all("tuning a network under an emulator takes minutes");
  struct mbt_machine m;
  mbt_machine_detect(&m);
  struct mbt_model model;
  if (mbt_model_build(MBT_NET_V1, 0.25, 32, &model) != MBT_OK) skip_all("cannot build the model");
  /* A profile that says plain C can reach 10^-6 GFLOP/s and SIMD code 10^6: the bound of every
   * plain C variant (seconds at least, for the smallest layer) exceeds any SIMD time by a factor
   * no load reaches, so where SIMD variants exist it is never run. */
  static struct mbt_profile prof;
  prof.threads = 1;
  peak(&prof, "scalar", 1e-6), peak(&prof, "sse", 1e-6), peak(&prof, "neon", 1e-6);
  peak(&prof, "avx2", 1e6), peak(&prof, "avx512f", 1e6);
  struct mbt_plan pl;
  mbt_plan_init(&pl, &m);
  struct mbt_tune_opts o;
  memset(&o, 0, sizeof o);
  /* force: a busy machine (this test beside others) must not refuse the tune */
  o.reps = 3, o.quick = 1, o.effort = MBT_MEASURE, o.profile = &prof, o.force = 1;
  enum mbt_status st = mbt_tune(&m, &model, &o, &pl);
  ok(st == MBT_OK, "tune with a made-up profile: %s", st == MBT_OK ? "ok" : mbt_last_error());
  char ckey[96];
  mbt_check_key(&model, 1, ckey, sizeof ckey);
  const struct mbt_check *ck = mbt_plan_check(&pl, ckey);
  ok(ck && ck->rounds == 5 && ck->tuned_ns > 0 && ck->default_ns > 0 && ck->outcome >= 0 &&
     ck->outcome <= MBT_CHECK_SLOWER && (!ck->fixed[0] || ck->fixed_ns > 0) &&
     ck->passes > 0 && ck->busy_passes <= ck->passes,
     "the tune ends with an end-to-end check (%s: tuned %.3f ms, default %.3f ms, %s)", ckey,
     ck ? ck->tuned_ns / 1e6 : 0, ck ? ck->default_ns / 1e6 : 0,
     ck ? mbt_check_out_name(ck->outcome) : "none");
  /* Its outcome agrees with its own medians: "faster" only when the tuned plan is within the
   * noise (2%) of the fastest untuned plan, the default or the best fixed family, or faster;
   * the retakes stay within their budget (one a round). */
  if (ck) {
    const double untuned = ck->fixed_ns > 0 && ck->fixed_ns < ck->default_ns ? ck->fixed_ns
                                                                              : ck->default_ns;
    ok((ck->outcome != MBT_CHECK_FASTER || ck->tuned_ns <= untuned * 1.02) &&
       (ck->outcome == MBT_CHECK_FASTER || ck->tuned_ns > untuned * 1.02 || ck->fallbacks > 0) &&
       ck->retaken <= ck->rounds && ck->disturbed >= 0,
       "the check's outcome (%s) agrees with its medians: tuned %.3f ms, fastest untuned %.3f "
       "ms; %d runs retaken, %d disturbed", mbt_check_out_name(ck->outcome), ck->tuned_ns / 1e6,
       untuned / 1e6, ck->retaken, ck->disturbed);
  } else {
    ok(0, "the check's outcome agrees with its medians (no check)");
  }
  /* A block that a fused pair before it overlaps never runs (the engine takes the pair): with
   * every pair fused beforehand, every block of V1 is overlapped.  The tune times each against
   * what stands in its way and keeps a displacement only when the whole network confirms it,
   * so whatever it keeps, no entry it leaves fused is dead: every fused block key runs
   * somewhere, and every fused pair key runs somewhere or lies inside a block that runs. */
  {
    struct mbt_plan pp;
    mbt_plan_init(&pp, &m);
    struct mbt_groups it;
    struct mbt_group g;
    for (mbt_groups_begin(&it, &model, MBT_GROUP_PAIR, 1); mbt_groups_next(&it, &g);) {
      struct mbt_choice c = {0};
      snprintf(c.key, sizeof c.key, "%s", g.key);
      mbt_rows_name(2, c.variant, sizeof c.variant);
      c.ns = 1, c.effort = MBT_MEASURE;
      mbt_plan_put(&pp, &c);
    }
    struct mbt_tune_opts q = o;
    q.check = -1; /* the check may put pairs back; what is asked here is the block phase's */
    st = mbt_tune(&m, &model, &q, &pp);
    int fuse[MBT_MAX_LAYERS], block[MBT_MAX_LAYERS], runs[MBT_MAX_LAYERS], blocks = 0, dead = 0;
    if (st == MBT_OK) st = mbt_plan_fusion(&pp, &model, 1, fuse, block);
    mbt_fusion_runs(model.nlayers, fuse, block, runs);
    for (mbt_groups_begin(&it, &model, MBT_GROUP_FUSED, 1); mbt_groups_next(&it, &g);) {
      const struct mbt_choice *c = mbt_plan_entry(&pp, &g.p);
      int rows = -1, live = 0;
      blocks += g.len == 3 && c != NULL;
      if (!c || mbt_rows_parse(c->variant, &rows) != 0 || rows == 0) continue;
      struct mbt_groups it2;
      struct mbt_group h;
      for (mbt_groups_begin(&it2, &model, MBT_GROUP_FUSED, 1); mbt_groups_next(&it2, &h);)
        if (!strcmp(h.key, g.key))
          live |= runs[h.first] == h.len ||
                  (h.len == 2 && h.first >= 1 && runs[h.first - 1] == 3); /* inside a block */
      dead += !live;
    }
    ok(st == MBT_OK && blocks > 3 && dead == 0,
       "behind fused pairs, the tune leaves no fused entry that never runs: %d dead of %d "
       "blocks' entries", dead, blocks);
    mbt_plan_free(&pp);
  }
  /* The check puts back choices that run slower than the default: every pointwise layer on
   * its plain C variant is found and given the default variant again, marked as a fallback.
   * All of them, not one: under the sanitizers, which make the SIMD kernels about 8x slower,
   * the plain C variant of the largest layer alone cost less than the check's noise, and the
   * check rightly kept the plan; together they are most of the network's work. */
  if ((m.isa & (MBT_ISA_AVX2 | MBT_ISA_AVX512F)) != 0) {
    int big = -1, forced = 0;
    for (int i = 0; i < model.nlayers; i++)
      if (model.layers[i].op == MBT_OP_PWCONV && (big < 0 || model.layers[i].macs > model.layers[big].macs))
        big = i;
    for (int i = 0; i < pl.n; i++) {
      struct mbt_choice *c = &pl.v[i];
      if (strncmp(c->key, "pwconv", 6)) continue;
      for (int j = 0; j < c->ncand; j++)
        if (strstr(c->cand[j].variant, "scalar")) {
          snprintf(c->variant, sizeof c->variant, "%s", c->cand[j].variant);
          forced++;
          break;
        }
    }
    char k[96];
    mbt_layer_key(&model.layers[big], k, sizeof k);
    const struct mbt_choice *c = mbt_plan_find(&pl, k);
    if (c && forced > 0 && strstr(c->variant, "scalar")) {
      char was[96];
      snprintf(was, sizeof was, "%s", c->variant);
      struct mbt_check out;
      st = mbt_tune_check(&model, &pl, 1, 5, 0, &out);
      const struct mbt_choice *after = mbt_plan_find(&pl, k);
      ok(st == MBT_OK && out.fallbacks >= 1 && after && after->fallback &&
         strcmp(after->variant, was) != 0 && out.outcome != MBT_CHECK_FASTER,
         "slower choices (%d pointwise entries on plain C) are put back to the default by the "
         "check: %d fallback(s), %s on %s now %s, outcome %s (timed again: tuned %.3f ms, default "
         "%.3f ms)",
         forced, out.fallbacks, was, model.layers[big].name, after ? after->variant : "-",
         mbt_check_out_name(out.outcome), out.tuned_ns / 1e6, out.default_ns / 1e6);
    } else {
      ok(0, "the largest pointwise layer has an entry with a plain C candidate");
    }
  } else {
    skip("a slower choice is put back by the check", "no AVX2 or AVX-512 on this machine");
  }
  const int simd = (m.isa & (MBT_ISA_AVX2 | MBT_ISA_AVX512F)) != 0;
  int layers = 0, recorded = 0, roof = 0, roof_simd = 0, roof_plain = 0, plain_run = 0;
  int winner_timed = 0, bound_ok = 1, outcome_ok = 1;
  for (int i = 0; i < pl.n; i++) {
    const struct mbt_choice *c = &pl.v[i];
    if (strncmp(c->key, "conv", 4) && strncmp(c->key, "dwconv", 6) && strncmp(c->key, "pwconv", 6))
      continue; /* pairs, blocks, pool and fc */
    layers++;
    recorded += c->ncand > 0;
    double fastest_alone = 0;
    for (int j = 0; j < c->ncand; j++)
      if (c->cand[j].alone_ns > 0 && (fastest_alone == 0 || c->cand[j].alone_ns < fastest_alone))
        fastest_alone = c->cand[j].alone_ns;
    /* (a choice the end-to-end check put back is the default, whatever was timed) */
    int timed = c->fallback;
    for (int j = 0; j < c->ncand; j++)
      timed |= !strcmp(c->cand[j].variant, c->variant) && c->cand[j].out == MBT_CAND_TIMED &&
               c->cand[j].ns > 0;
    winner_timed += timed;
    for (int j = 0; j < c->ncand; j++) {
      const struct mbt_cand *d = &c->cand[j];
      const int plain = strstr(d->variant, "scalar") != NULL;
      if (d->out == MBT_CAND_ROOFLINE) {
        roof++;
        roof_simd += !plain, roof_plain += plain;
        /* pruned only when its bound (here at 1 thread, as the screen) exceeds a time found */
        bound_ok &= d->alone_ns == 0 && d->bound_ns > fastest_alone && fastest_alone > 0;
      } else if (plain && d->alone_ns > 0) {
        plain_run++;
      }
      outcome_ok &= d->out == MBT_CAND_TIMED ? d->ns > 0 : d->out != MBT_CAND_ROOFLINE || d->ns == 0;
    }
  }
  ok(layers > 5 && recorded == layers, "every tuned layer records its candidates (%d of %d)",
     recorded, layers);
  ok(winner_timed == layers, "every winner is a candidate timed to the end (%d of %d)",
     winner_timed, layers);
  ok(bound_ok && outcome_ok, "a candidate is pruned by the roofline only when its bound exceeds "
     "the fastest time found, and a pruned one is never timed");
  if (simd)
    ok(roof_plain > 0 && roof_simd == 0 && plain_run == 0,
       "plain C variants are not run when their bound cannot win (%d pruned, %d run); SIMD ones "
       "are (%d pruned)", roof_plain, plain_run, roof_simd);
  else
    skip("plain C variants pruned by the roofline", "no AVX2 or AVX-512 on this machine");
  mbt_plan_free(&pl);

  /* A generous profile prunes nothing by the roofline: bounds far below every time. */
  for (int k = 0; k < prof.npeaks; k++) prof.peaks[k].gflops.best = 1e9;
  mbt_plan_init(&pl, &m);
  st = mbt_tune(&m, &model, &o, &pl);
  roof = 0;
  for (int i = 0; i < pl.n; i++)
    for (int j = 0; j < pl.v[i].ncand; j++) roof += pl.v[i].cand[j].out == MBT_CAND_ROOFLINE;
  ok(st == MBT_OK && roof == 0, "with bounds below every time nothing is pruned by the roofline (%d)",
     roof);
  mbt_plan_free(&pl);
  /* Squeeze-and-excitation folds (V3-Small): every foldable scale is timed folded inside the
   * network, the fold recorded among its candidates; a scale that folds keeps the kernel it
   * displaced as its runner-up; none is a layer candidate of its own (the layer phase never
   * times it: the next layer's time decides it too). */
  {
    struct mbt_model v3;
    mbt_model_build(MBT_NET_V3S, 0.5, 64, &v3);
    mbt_plan_init(&pl, &m);
    struct mbt_tune_opts q = o;
    q.check = -1;
    st = mbt_tune(&m, &v3, &q, &pl);
    int scales = 0, tried = 0, folded = 0, runner_ok = 0;
    for (int i = 0; i < v3.nlayers; i++) {
      if (!mbt_layer_foldable(&v3, i)) continue;
      struct mbt_problem p;
      mbt_problem_layer(&v3.layers[i], 1, &p);
      const struct mbt_choice *c = mbt_plan_exact(&pl, &p);
      if (!c) continue;
      scales++;
      int fold_cands = 0;
      for (int j = 0; j < c->ncand; j++)
        fold_cands += mbt_variant_folds(c->cand[j].variant) && c->cand[j].ns > 0 &&
                      c->cand[j].out == MBT_CAND_TIMED;
      tried += fold_cands == 1;
      if (mbt_variant_folds(c->variant)) {
        folded++;
        runner_ok += c->runner_up[0] && !mbt_variant_folds(c->runner_up);
      }
    }
    ok(st == MBT_OK && scales > 3 && tried == scales && runner_ok == folded,
       "every foldable scale is timed folded once (%d of %d); the %d that fold keep the kernel "
       "they displaced as the runner-up (%d)", tried, scales, folded, runner_ok);
    mbt_plan_free(&pl);
    mbt_model_free(&v3);
  }
  mbt_model_free(&model);
  return done();
}
