/* apps/mobitune.c -- the one CLI: parses options and calls libmobitune.  Exit status: 0 success,
 * 1 a failure while working, 2 bad usage. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "include/mobitune.h"
#include "common/common.h" /* mbt_read_file_max: the size-limited reader of every loader */

enum cmd { C_INFO = 1, C_MODEL = 2, C_ROOF = 4, C_TUNE = 8, C_REPORT = 16, C_RUN = 32, C_BENCH = 64,
           C_PLAN = 128, C_WEIGHTS = 256 };
#define C_NET (C_MODEL | C_TUNE | C_REPORT | C_RUN | C_BENCH | C_WEIGHTS)

struct opts {
  int json, quick, show, redo, verify, strict, quiet, runs, threads, layers, force;
  enum mbt_net_kind net;
  double alpha;
  int res;
  unsigned long long seed;
  const char *data, *plan, *profile, *out, *variant;
  char **args; /* plan: the action and its files */
  int nargs;
  int effort;    /* enum mbt_effort */
  double budget; /* seconds, 0 = none */
  const char *compare[2]; /* bench: other plans to time beside the plan */
  int ncompare, e2e, cold, cands;
  const char *weights, *image, *labels, *input, *nets, *other_profile, *point;
  int classes, batch, fuse; /* fuse: -1 = the plan's */
  const struct mbt_weights *wts; /* loaded from --weights by main */
};

static const struct optdef {
  const char *name;
  int has_arg;
  int cmds;
  const char *help;
} optdefs[] = {
    {"json", 0, C_INFO | C_MODEL | C_RUN, "machine-readable JSON output"},
    {"net", 1, C_NET, "v1, v2, v3-large or v3-small (default v1)"},
    {"alpha", 1, C_NET, "width multiplier in (0, 1.5] (default 1.0)"},
    {"res", 1, C_NET, "input resolution in [32, 1024] (default 224)"},
    {"data", 1, C_MODEL | C_ROOF | C_TUNE | C_REPORT | C_RUN | C_BENCH | C_PLAN,
     "directory for profile.json, plan.txt, report.html (default ./mobitune-data)"},
    {"plan", 1, C_TUNE | C_REPORT | C_RUN | C_BENCH | C_PLAN, "plan file (default DATA/plan.txt)"},
    {"profile", 1, C_MODEL | C_ROOF | C_TUNE | C_REPORT | C_BENCH, "machine profile (default DATA/profile.json)"},
    {"nets", 1, C_REPORT, "several networks in one report: NET[:ALPHA[:RES]],... (e.g. "
     "v1,v2,v2:0.5:160)"},
    {"compare-profile", 1, C_REPORT, "a second machine profile shown side by side (another "
     "machine, or before and after)"},
    {"out", 1, C_REPORT | C_WEIGHTS, "report: the report file (default DATA/report.html); weights: "
     "the weight file to write"},
    {"weights", 1, C_NET, "a weight file (scripts/onnx2mobitune, or 'mobitune weights --out'): the "
     "network, its weights and its input normalization come from it"},
    {"classes", 1, C_NET, "classifier outputs of the built-in network (default 1000)"},
    {"image", 1, C_RUN, "classify this JPEG, PNG or binary PPM image"},
    {"input", 1, C_RUN, "a raw input tensor instead: res x res x 3 little-endian float32 (NHWC, "
     "already normalized), e.g. to compare with another framework"},
    {"labels", 1, C_RUN, "class names, one line per class, shown with the top-5"},
    {"batch", 1, C_RUN, "inputs per timed run (default 1)"},
    {"fuse", 1, C_RUN, "run every fusable pair and block fused, in strips of N rows (overrides "
     "the plan's fusion; 0 = none)"},
    {"threads", 1, C_MODEL | C_ROOF | C_TUNE | C_RUN | C_BENCH,
     "threads (default: roofline all, others 1; tune keeps a plan per thread count)"},
    {"quick", 0, C_ROOF | C_TUNE | C_BENCH, "fewer and shorter repetitions (for tests)"},
    {"compare", 1, C_BENCH, "another plan file to time end to end beside the plan (up to 2)"},
    {"cold", 0, C_TUNE, "time with cold caches (a buffer of 2x the LLC streamed before each run)"},
    {"candidates", 0, C_PLAN, "plan show: every candidate tried, with its time, roofline bound, "
     "counts and why it stopped being timed"},
    {"e2e", 0, C_BENCH, "only the end-to-end comparison (no per-variant table)"},
    {"effort", 1, C_TUNE, "estimate (runs nothing), measure (default), patient or exhaustive"},
    {"budget", 1, C_TUNE, "seconds of measuring, e.g. 60 or 60s (what is decided is kept)"},
    {"show", 0, C_ROOF, "print the saved profile instead of measuring"},
    {"point", 1, C_ROOF, "measure one bandwidth point instead (nothing saved): KERNEL:BYTES, "
     "KERNEL read, write, copy or triad, BYTES per thread (all arrays), with --threads; for "
     "interleaved A/B runs beside another tool"},
    {"redo", 0, C_ROOF | C_TUNE, "measure again even when saved results exist"},
    {"force", 0, C_ROOF | C_TUNE, "measure even while another process holds a CPU (figures and "
     "plan entries are marked as measured under load); without it a busy machine is refused"},
    {"runs", 1, C_RUN | C_BENCH, "timed runs after one warm-up (default 20)"},
    {"verify", 0, C_RUN, "compare the output with the reference path; fail beyond tolerance"},
    {"strict", 0, C_RUN, "refuse to run without a valid plan for this machine"},
    {"variant", 1, C_RUN, "use variants whose name contains this text where they apply (e.g. ref; "
     "refused when no layer has one)"},
    {"seed", 1, C_RUN | C_WEIGHTS, "seed of the random weights and input, 0 to 2^64 - 1 (default 1)"},
    {"quiet", 0, C_TUNE | C_ROOF, "no progress lines"},
    {"layers", 0, C_RUN, "print each layer's median time inside the network and its variant"},
    {"help", 0, ~0, "this help"},
};
#define NOPTS ((int)(sizeof optdefs / sizeof optdefs[0]))
#define OPT_BASE 256 /* getopt_long's values of the long options: OPT_BASE + index, past any char */

static const struct cmddef {
  const char *name;
  int bit;
  const char *what;
} cmds[] = {
    {"info", C_INFO, "machine identity: CPU, ISA, cores, caches, counters, fingerprint"},
    {"model", C_MODEL, "per-layer table of a MobileNet: shapes, MACs, params, bytes, intensity, RF"},
    {"roofline", C_ROOF, "measure (or --show) the FMA peaks and memory bandwidths of this machine"},
    {"tune", C_TUNE, "time every kernel variant for every layer and save the fastest as the plan"},
    {"report", C_REPORT, "write the self-contained HTML roofline report from saved data"},
    {"run", C_RUN, "run the network with the plan: latency, GFLOP/s, top-5"},
    {"bench", C_BENCH, "time every variant on every layer, and the whole network per plan"},
    {"weights", C_WEIGHTS, "write the seeded weights of a network as a weight file (--out), or "
                           "check one (--weights)"},
    {"plan", C_PLAN, "the plan store: 'plan show', 'plan export FILE', 'plan import FILE...' "
                     "(their entries replace the store's), 'plan merge FILE...' (the faster "
                     "entry of a problem wins)"},
};

static void usage(FILE *f, const struct cmddef *c) {
  if (!c) {
    fprintf(f, "usage: mobitune [--version] [--help] <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
      fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].what);
    fprintf(f, "\n'mobitune <command> --help' lists a command's options.\n"
               "Environment: MBT_ISA=scalar|sse2|avx2|avx512f caps the kernels used; "
               "MBT_VERBOSE=1 logs the kernel registry; MBT_FORCE=1 is --force for roofline and "
               "tune (measure on a busy machine, marking what was measured under load).\n");
    return;
  }
  fprintf(f, "usage: mobitune %s [options]\n%s\n\noptions:\n", c->name, c->what);
  for (int i = 0; i < NOPTS; i++)
    if (optdefs[i].cmds & c->bit)
      fprintf(f, "  --%-10s%s %s\n", optdefs[i].name, optdefs[i].has_arg ? " X" : "  ",
              optdefs[i].help);
}

static int bad(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "mobitune: ");
  fprintf(stderr, fmt, a, b);
  fprintf(stderr, "\n");
  return 2;
}

static int parse_long(const char *opt, const char *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) {
    fprintf(stderr, "mobitune: --%s '%s' is not an integer in [%ld, %ld]\n", opt, s, lo, hi);
    return 2;
  }
  *out = v;
  return 0;
}

/* The integer options: each with its bounds and its field in struct opts. */
struct int_opt {
  const char *name;
  long lo, hi;
  size_t field;
};
static const struct int_opt *int_option(const struct opts *o, const char *name) {
  static const struct int_opt t[] = {
      {"res", 32, 1024, offsetof(struct opts, res)},
      {"threads", 1, 256, offsetof(struct opts, threads)},
      {"runs", 1, 100000, offsetof(struct opts, runs)},
      {"classes", 1, 100000, offsetof(struct opts, classes)},
      {"fuse", 0, 64, offsetof(struct opts, fuse)},
      {"batch", 1, 1024, offsetof(struct opts, batch)},
  };
  (void)o;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (!strcmp(t[i].name, name)) return &t[i];
  return NULL;
}

static int parse(int argc, char **argv, const struct cmddef *c, struct opts *o) {
  struct option lo[NOPTS + 1];
  for (int i = 0; i < NOPTS; i++)
    lo[i] = (struct option){optdefs[i].name, optdefs[i].has_arg ? required_argument : no_argument,
                            NULL, OPT_BASE + i};
  lo[NOPTS] = (struct option){0, 0, 0, 0};
  opterr = 0;
  optind = 1;
  const char *force = getenv("MBT_FORCE"); /* as --force: test suites beside other work */
  o->force = force && !strcmp(force, "1");
  for (;;) {
    int idx = getopt_long(argc, argv, ":", lo, NULL); /* ':' first: a missing value is ':' */
    if (idx == -1) break;
    if (idx == ':') return bad("%s: option '%s' needs a value (see --help)", c->name, argv[optind - 1]);
    if (idx == '?' && optopt >= OPT_BASE) /* --json=1 */
      return bad("%s: option '--%s' takes no value (see --help)", c->name, optdefs[optopt - OPT_BASE].name);
    if (idx == '?' && optopt > 0) { /* a short option: none exists */
      char opt[3] = {'-', (char)optopt, 0};
      return bad("%s: unknown option '%s' (see --help)", c->name, opt);
    }
    if (idx == '?' || idx < OPT_BASE || idx >= OPT_BASE + NOPTS)
      return bad("%s: unknown option '%s' (see --help)", c->name, argv[optind - 1]);
    const struct optdef *d = &optdefs[idx - OPT_BASE];
    if (!(d->cmds & c->bit)) return bad("option --%s does not apply to '%s'", d->name, c->name);
    const char *n = d->name, *v = optarg;
    long x;
    if (!strcmp(n, "help")) {
      usage(stdout, c);
      exit(0);
    } else if (!strcmp(n, "json")) o->json = 1;
    else if (!strcmp(n, "quick")) o->quick = 1;
    else if (!strcmp(n, "show")) o->show = 1;
    else if (!strcmp(n, "redo")) o->redo = 1;
    else if (!strcmp(n, "force")) o->force = 1;
    else if (!strcmp(n, "verify")) o->verify = 1;
    else if (!strcmp(n, "strict")) o->strict = 1;
    else if (!strcmp(n, "quiet")) o->quiet = 1;
    else if (!strcmp(n, "layers")) o->layers = 1;
    else if (!strcmp(n, "e2e")) o->e2e = 1;
    else if (!strcmp(n, "cold")) o->cold = 1;
    else if (!strcmp(n, "candidates")) o->cands = 1;
    else if (!strcmp(n, "compare")) {
      if (o->ncompare == 2) return bad("bench: at most 2 --compare plans%s%s", "", "");
      o->compare[o->ncompare++] = v;
    }
    else if (!strcmp(n, "data")) o->data = v;
    else if (!strcmp(n, "plan")) o->plan = v;
    else if (!strcmp(n, "profile")) o->profile = v;
    else if (!strcmp(n, "out")) o->out = v;
    else if (!strcmp(n, "variant")) o->variant = v;
    else if (!strcmp(n, "weights")) o->weights = v;
    else if (!strcmp(n, "image")) o->image = v;
    else if (!strcmp(n, "input")) o->input = v;
    else if (!strcmp(n, "nets")) o->nets = v;
    else if (!strcmp(n, "compare-profile")) o->other_profile = v;
    else if (!strcmp(n, "labels")) o->labels = v;
    else if (!strcmp(n, "point")) o->point = v;
    else if (!strcmp(n, "net")) {
      if (mbt_net_parse(v, &o->net) != MBT_OK)
        return bad("--net '%s' is not a known network (expected v1, v2, v3-large or v3-small)%s", v, "");
    } else if (!strcmp(n, "alpha")) {
      char *end;
      errno = 0;
      o->alpha = strtod(v, &end);
      if (errno || end == v || *end || !(o->alpha > 0 && o->alpha <= 1.5))
        return bad("--alpha '%s' is not a number in (0, 1.5]%s", v, "");
    } else if (int_option(o, n)) {
      const struct int_opt *io = int_option(o, n);
      if (parse_long(n, v, io->lo, io->hi, &x)) return 2;
      *(int *)((char *)o + io->field) = (int)x;
    } else if (!strcmp(n, "effort")) {
      enum mbt_effort ef;
      if (mbt_effort_parse(v, &ef) != MBT_OK)
        return bad("--effort '%s' is not estimate, measure, patient or exhaustive%s", v, "");
      o->effort = ef;
    } else if (!strcmp(n, "budget")) {
      char *end;
      errno = 0;
      o->budget = strtod(v, &end);
      if (*end == 's') end++;
      if (errno || end == v || *end || !(o->budget > 0 && o->budget <= 86400))
        return bad("--budget '%s' is not a number of seconds in (0, 86400]%s", v, "");
    } else if (!strcmp(n, "seed")) {
      char *end;
      errno = 0;
      o->seed = strtoull(v, &end, 0); /* which would take "-1" as 2^64 - 1: a digit first */
      if (!(*v >= '0' && *v <= '9') || errno || end == v || *end)
        return bad("--seed '%s' is not an integer in [0, 18446744073709551615]%s", v, "");
    }
  }
  if (c->bit == C_PLAN) { /* an action and its files */
    o->args = argv + optind, o->nargs = argc - optind;
    return 0;
  }
  if (optind < argc) return bad("%s: unexpected argument '%s'", c->name, argv[optind]);
  return 0;
}

/* DATA/name unless the option gave a path; creates DATA when asked to. */
static const char *data_path(const struct opts *o, const char *given, const char *name,
                             char *buf, size_t n, int create) {
  if (given) return given;
  const char *dir = o->data ? o->data : "mobitune-data";
  if (create && mkdir(dir, 0755) != 0 && errno != EEXIST)
    fprintf(stderr, "mobitune: cannot create %s: %s\n", dir, strerror(errno));
  snprintf(buf, n, "%s/%s", dir, name);
  return buf;
}

static int fail(enum mbt_status st) {
  fprintf(stderr, "mobitune: %s: %s\n", mbt_status_str(st), mbt_last_error());
  return st == MBT_EBUSY ? 75 : 1; /* EX_TEMPFAIL: try again when the machine is quiet */
}

static int cmd_info(const struct opts *o, const struct mbt_machine *m) {
  mbt_machine_print(m, stdout, o->json);
  return 0;
}

/* With a machine profile, where each layer sits on this machine's roofline. */
static void model_placement(const struct opts *o, const struct mbt_model *model) {
  char pb[4096];
  const char *path = data_path(o, o->profile, "profile.json", pb, sizeof pb, 0);
  struct mbt_profile p;
  if (mbt_profile_load(path, &p) != MBT_OK) {
    printf("\n(no machine profile at %s: 'mobitune roofline' measures one, and then this table "
           "says where every layer sits on it)\n", path);
    return;
  }
  const int t = o->threads > 1 ? o->threads : 1;
  printf("\non this machine (%s, %d thread%s): %s peak %.1f GFLOP/s; ridge points", path, t,
         t > 1 ? "s" : "", p.simd_isa, t > 1 ? p.peak_simdn.best : p.peak_simd1.best);
  struct mbt_place pc;
  mbt_roofline_place(&p, model, 0, t, &pc);
  for (int l = 0; l < p.nlevels; l++)
    printf(" %s %.2f%s", p.levels[l].name, pc.ridges[l], l + 1 < p.nlevels ? "," : " FLOP/B\n");
  printf("%-12s %-8s %9s  %-22s %10s  %-22s %10s\n", "layer", "kind", "FLOP/B", "alone",
         "GFLOP/s", "in the network", "GFLOP/s");
  int mem = 0;
  for (int i = 0; i < model->nlayers; i++) {
    const struct mbt_layer *l = &model->layers[i];
    mbt_roofline_place(&p, model, i, t, &pc);
    char a[32], b[32];
    snprintf(a, sizeof a, "%s-bound at %s", pc.memory_bound ? "memory" : "compute",
             p.levels[pc.level].name);
    snprintf(b, sizeof b, "%s-bound at %s", pc.net_memory_bound ? "memory" : "compute",
             p.levels[pc.net_level].name);
    mem += pc.net_memory_bound;
    printf("%-12s %-8s %9.3f  %-22s %10.1f  %-22s %10.1f\n", l->name, mbt_op_name(l->op),
           pc.intensity, a, pc.attainable, b, pc.net_attainable);
  }
  printf("%d of %d layers memory-bound in the network\n", mem, model->nlayers);
  const double bound = mbt_roofline_net_bound_ns(&p, model, t);
  if (bound > 0)
    printf("roofline bound of the network: %.3f ms, %.1f GFLOP/s (every layer at its ceiling in "
           "the network: no plan runs faster here)\n", bound / 1e6, 2 * model->macs / bound);
}

static int cmd_model(const struct opts *o, const struct mbt_model *model) {
  mbt_model_print(model, stdout, o->json);
  if (!o->json) model_placement(o, model);
  return 0;
}

/* roofline --point KERNEL:BYTES: one bandwidth point, printed as one line. */
static int roofline_point(const struct opts *o, const struct mbt_machine *m) {
  static const char *const names[MBT_BW_KERNELS] = {"read", "write", "copy", "triad"};
  const char *colon = strchr(o->point, ':');
  int k = -1;
  for (int i = 0; i < MBT_BW_KERNELS && colon; i++)
    if ((size_t)(colon - o->point) == strlen(names[i]) && !strncmp(o->point, names[i], strlen(names[i])))
      k = i;
  char *end = NULL;
  errno = 0;
  const double bytes = colon ? strtod(colon + 1, &end) : 0;
  if (k < 0 || errno || end == colon + 1 || *end || !(bytes > 0)) {
    fprintf(stderr, "mobitune: --point '%s' is not KERNEL:BYTES with KERNEL read, write, copy or "
            "triad and BYTES a positive number\n", o->point);
    return 2;
  }
  struct mbt_figure f;
  const enum mbt_status st = mbt_roofline_point(m, k, bytes, o->threads, &f);
  if (st != MBT_OK) return fail(st);
  printf("point %s %.0f bytes/thread %d threads: best %.1f median %.1f min %.1f GB/s%s\n",
         names[k], bytes, o->threads > 0 ? o->threads : m->threads, f.best, f.median, f.min,
         f.flagged ? " FLAGGED: repetitions disagree >10%" : "");
  return 0;
}

/* Measure the profile into @p path (the ceilings a kernel beat in @p old, when given, are
 * marked as measured again: beaten once more, they are not measured a third time). */
static enum mbt_status measure_profile(const struct opts *o, const struct mbt_machine *m,
                                       const char *path, const struct mbt_profile *old,
                                       struct mbt_profile *p) {
  /* measured again for a suspect ceiling: on the thread counts the old profile had */
  struct mbt_roofline_opts ro = {old && old->threads > 0 ? old->threads : o->threads, o->quick,
                                 !o->quiet, o->force};
  enum mbt_status st = mbt_roofline_measure(m, &ro, p);
  if (st == MBT_OK && old) mbt_profile_carry_suspects(old, p);
  if (st == MBT_OK) st = mbt_profile_save(p, path);
  return st;
}

static void profile_brief(const struct mbt_profile *p, FILE *out) {
  fprintf(out, "roofline: %d thread%s, clock %.2f GHz%s, FMA %.1f GFLOP/s on 1 thread", p->threads,
          p->threads > 1 ? "s" : "", p->clock_ghz, p->clock_flagged ? " (not trusted)" : "",
          mbt_profile_best_peak(p, 1));
  if (p->threads > 1) fprintf(out, ", %.1f on %d", mbt_profile_best_peak(p, p->threads), p->threads);
  for (int l = 0; l < p->nlevels; l++)
    fprintf(out, "%s %s %.0f", l ? "," : "; read GB/s", p->levels[l].name, p->levels[l].read1.best);
  fprintf(out, "\n");
  mbt_profile_print_warnings(p, out);
}

static int cmd_roofline(const struct opts *o, const struct mbt_machine *m) {
  if (o->point) return roofline_point(o, m);
  char pb[4096];
  const char *path = data_path(o, o->profile, "profile.json", pb, sizeof pb, !o->show);
  struct mbt_profile p, old;
  enum mbt_status st;
  int have_old = 0;
  if (o->show || !o->redo) {
    st = mbt_profile_load(path, &p);
    if (st == MBT_OK && strcmp(p.fingerprint, m->fingerprint) != 0 && !o->show) {
      fprintf(stderr, "roofline: %s was measured on another machine (%s); measuring again\n",
              path, p.fingerprint);
      st = MBT_EMISMATCH;
    }
    if (st == MBT_OK && o->show) {
      mbt_profile_print(&p, stdout);
      return 0;
    }
    if (st == MBT_OK && mbt_profile_suspects(&p, 1) > 0) {
      fprintf(stderr, "roofline: %d ceiling%s of %s %s beaten by a timed kernel: measuring again\n",
              mbt_profile_suspects(&p, 1), mbt_profile_suspects(&p, 1) > 1 ? "s" : "", path,
              mbt_profile_suspects(&p, 1) > 1 ? "were" : "was");
      old = p, have_old = 1;
      st = MBT_EMISMATCH;
    }
    if (st == MBT_OK) {
      printf("roofline: reusing %s, measured %s (--show prints it, --redo measures again)\n", path,
             p.date);
      profile_brief(&p, stdout);
      return 0;
    }
    if (o->show) return fail(st);
  }
  st = measure_profile(o, m, path, have_old ? &old : NULL, &p);
  if (st != MBT_OK) return fail(st);
  mbt_profile_print(&p, stdout);
  printf("profile: %s\n", path);
  return 0;
}

/* Load the plan; on trouble say which and why.  Returns 1 when a usable plan was loaded. */
static int load_plan(const char *path, const struct mbt_machine *m, struct mbt_plan *pl,
                     const char *who) {
  enum mbt_status st = mbt_plan_load(path, m, pl);
  if (st == MBT_OK) return 1;
  if (st == MBT_ENOTFOUND)
    fprintf(stderr, "%s: no plan at %s (run 'mobitune tune' or 'make tune' first)\n", who, path);
  else
    fprintf(stderr, "%s: plan rejected: %s\n", who, mbt_last_error());
  return 0;
}

static void on_sigint(int sig) {
  (void)sig;
  mbt_tune_interrupt();
}

/* "achieved X (P%)" of a layer against its bound, never more than 100% as a fact: within the
 * noise above it, "at the ceiling"; beyond it, the ceiling is suspect. */
static void achieved(double gflops, double bound, char *buf, size_t n) {
  const double pct = bound > 0 ? 100 * gflops / bound : 0;
  if (pct <= 100) snprintf(buf, n, "%6.1f (%3.0f%%)", gflops, pct);
  else if (pct <= 105) snprintf(buf, n, "%6.1f (100%%, at the ceiling within noise)", gflops);
  else snprintf(buf, n, "%6.1f (above the ceiling by %.0f%%: SUSPECT)", gflops, pct - 100);
}

/* Place every layer on the measured roofline (printed when @p print); a layer that beats its
 * ceiling beyond the noise marks that ceiling suspect.  @return the ceilings newly marked. */
static int place_layers(const struct opts *o, const struct mbt_model *model,
                        const struct mbt_plan *pl, struct mbt_profile *p, int print) {
  int mem = 0, marked = 0;
  double sum = 0;
  for (int i = 0; i < model->nlayers; i++) {
    const struct mbt_layer *l = &model->layers[i];
    struct mbt_place pc;
    char key[96], tkey[96], ach[96];
    mbt_roofline_place(p, model, i, o->threads, &pc);
    mbt_layer_key(l, key, sizeof key);
    mbt_key_threads(key, o->threads, tkey, sizeof tkey); /* this thread count's entry */
    const struct mbt_choice *c = mbt_plan_find(pl, tkey);
    mem += pc.net_memory_bound;
    sum += c ? c->ns : 0;
    const double gf = c ? pc.flops / c->ns : 0;
    achieved(gf, pc.net_attainable, ach, sizeof ach);
    if (c && pc.net_attainable > 0 && gf > 1.05 * pc.net_attainable)
      marked += mbt_profile_beaten(p, mbt_profile_binding(p, &pc, o->threads, 0));
    if (print)
      printf("  %-12s %-8s I=%7.2f FLOP/B  alone %-7s-bound at %-4s %6.1f GFLOP/s; in the "
             "network %-7s-bound at %-4s %6.1f; achieved %s  %s%s\n", l->name,
             mbt_op_name(l->op), pc.intensity, pc.memory_bound ? "memory" : "compute",
             p->levels[pc.level].name, pc.attainable, pc.net_memory_bound ? "memory" : "compute",
             p->levels[pc.net_level].name, pc.net_attainable, ach, c ? c->variant : "-",
             c && c->busy ? " [busy]" : c && c->fallback ? " [fallback]" : "");
  }
  if (print)
    printf("tune: %d of %d layers memory-bound in the network; sum of per-layer medians %.3f ms\n",
           mem, model->nlayers, sum / 1e6);
  return marked;
}

/* 0 when the plan store @p path is a regular file or does not exist; otherwise (a symbolic
 * link, a FIFO, a device, a directory) it is named and left as it is: only regular files are
 * replaced or moved aside. */
static int store_regular(const char *who, const char *path) {
  struct stat sb;
  if (lstat(path, &sb) != 0 || S_ISREG(sb.st_mode)) return 0;
  fprintf(stderr, "%s: %s is %s, not a regular file: it is left as it is and nothing is "
          "written (a plan store must be a regular file)\n", who, path,
          S_ISLNK(sb.st_mode) ? "a symbolic link" : S_ISDIR(sb.st_mode) ? "a directory"
          : S_ISFIFO(sb.st_mode) ? "a FIFO" : S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode)
          ? "a device node" : "a special file");
  return 1;
}

/* Never destroy what we cannot read: the store @p path, which failed to load, is kept aside as
 * PATH.rejected (a regular file only, over no special file).  0 on success. */
static int keep_aside(const char *who, const char *path) {
  char keep[4200];
  snprintf(keep, sizeof keep, "%s.rejected", path);
  fprintf(stderr, "%s: %s\n", who, mbt_last_error());
  if (store_regular(who, path) || store_regular(who, keep)) return 1;
  fprintf(stderr, "%s: keeping the old file as %s and starting a new plan\n", who, keep);
  if (rename(path, keep) != 0) {
    fprintf(stderr, "%s: cannot move %s aside: %s\n", who, path, strerror(errno));
    return 1;
  }
  return 0;
}

/* The plan store for tune: an unreadable one is kept aside as PATH.rejected.  0 on success. */
static int tune_load_plan(const char *path, const struct mbt_machine *m, struct mbt_plan *pl) {
  mbt_plan_init(pl, m);
  if (store_regular("tune", path)) return 1; /* not even read: a FIFO would block */
  enum mbt_status st = mbt_plan_load(path, m, pl);
  if (st == MBT_EPARSE || st == MBT_EMISMATCH) return keep_aside("tune", path);
  if (st != MBT_OK && st != MBT_ENOTFOUND) return fail(st);
  return 0;
}

/* The profile for tune: measured again first when a kernel beat one of its ceilings. */
static int tune_profile(const struct opts *o, const struct mbt_machine *m, const char *ppath,
                        struct mbt_profile *p) {
  if (mbt_profile_load(ppath, p) != MBT_OK) return 0;
  const int sus = mbt_profile_suspects(p, 1);
  if (!sus) return 1;
  fprintf(stderr, "tune: %d ceiling%s of %s %s beaten by a timed kernel: measuring the roofline "
          "again first\n", sus, sus > 1 ? "s" : "", ppath, sus > 1 ? "were" : "was");
  struct mbt_profile old = *p;
  const enum mbt_status st = measure_profile(o, m, ppath, &old, p);
  if (st != MBT_OK) {
    fail(st);
    return mbt_profile_load(ppath, p) == MBT_OK; /* the old one, marks and all */
  }
  return 1;
}

/* How many entries of @p pl are new or changed against the @p before first ones of @p old. */
static int changed(const struct mbt_plan *pl, const struct mbt_choice *old, int before) {
  int measured = 0;
  for (int i = 0; i < pl->n; i++) {
    int same = 0;
    for (int k = 0; old && k < before && !same; k++)
      same = !strcmp(old[k].key, pl->v[i].key) && old[k].ns == pl->v[i].ns &&
             old[k].effort == pl->v[i].effort && !strcmp(old[k].variant, pl->v[i].variant);
    measured += !same;
  }
  return measured;
}

static int cmd_tune(const struct opts *o, const struct mbt_machine *m,
                    const struct mbt_model *model) {
  char pb[4096], fb[4096];
  const char *path = data_path(o, o->plan, "plan.txt", pb, sizeof pb, 1);
  const char *ppath = data_path(o, o->profile, "profile.json", fb, sizeof fb, 0);
  struct mbt_plan pl;
  int rc = tune_load_plan(path, m, &pl);
  if (rc) return rc;
  const int before = pl.n;
  /* what the plan held, to count the problems this tune measured (new or measured again) */
  struct mbt_choice *old_v = before ? malloc((size_t)before * sizeof *old_v) : NULL;
  if (old_v) memcpy(old_v, pl.v, (size_t)before * sizeof *old_v);
  struct mbt_profile prof;
  const int have_prof = tune_profile(o, m, ppath, &prof);
  struct mbt_tune_opts to = {o->redo, !o->quiet, 1.0, o->quick ? 3 : 0, path, o->quick,
                             o->threads, o->effort, o->budget, have_prof ? &prof : NULL,
                             o->cold, o->force, 0};
  printf("tune: MobileNet %s alpha %.3g res %d, %d thread%s, plan %s (%d entries already "
         "measured)\n", mbt_net_name(model->kind), model->alpha, model->res,
         o->threads > 1 ? o->threads : 1, o->threads > 1 ? "s" : "", path, before);
  fflush(stdout);
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint; /* Ctrl-C: stop measuring, keep what is measured */
  sigaction(SIGINT, &sa, &old);
  enum mbt_status st = mbt_tune(m, model, &to, &pl);
  sigaction(SIGINT, &old, NULL);
  char why[256];
  snprintf(why, sizeof why, "%s", mbt_last_error());
  if (st == MBT_OK || st == MBT_EINTR) {
    const enum mbt_status st2 = mbt_plan_store(&pl, m, path, 0); /* other tuners' entries kept */
    if (st == MBT_EINTR && st2 == MBT_OK) {
      fprintf(stderr, "tune: %s (%s)\n", why, path);
      mbt_plan_free(&pl);
      free(old_v);
      return 130;
    }
    st = st2;
  }
  const int measured = st == MBT_OK ? changed(&pl, old_v, before) : 0;
  free(old_v);
  char ck[96];
  mbt_check_key(model, o->threads, ck, sizeof ck);
  struct mbt_check chk;
  if (st == MBT_OK && !mbt_plan_check(&pl, ck) && o->effort != MBT_ESTIMATE) {
    /* a plan from before the checks, or another network's entries: check it now */
    st = mbt_tune_check(model, &pl, o->threads, o->quick ? 5 : 0, !o->quiet, &chk);
    if (st == MBT_OK) st = mbt_plan_put_check(&pl, &chk);
    if (st == MBT_OK) st = mbt_plan_store(&pl, m, path, 0);
  }
  if (st != MBT_OK) {
    mbt_plan_free(&pl);
    return fail(st);
  }
  if (have_prof) {
    if (place_layers(o, model, &pl, &prof, measured > 0) && mbt_profile_save(&prof, ppath) == MBT_OK)
      fprintf(stderr, "tune: warning: a layer beat its roofline ceiling beyond the noise: the "
              "ceiling is marked SUSPECT in %s and the next 'roofline' or 'tune' measures it "
              "again\n", ppath);
    mbt_profile_print_warnings(&prof, stderr);
  } else {
    printf("tune: no machine profile at %s, so no roofline placement (run 'mobitune roofline')\n",
           ppath);
  }
  const struct mbt_check *c = mbt_plan_check(&pl, ck);
  if (c) {
    FILE *f = c->outcome == MBT_CHECK_SLOWER ? stderr : stdout; /* a warning: --quiet shows it */
    fputs("tune: ", f);
    mbt_check_print(c, f);
  }
  printf("tune: measured %d new problems; plan: %s%s\n", measured, path,
         measured ? "" : " (it held every problem of this network already: --redo measures "
                         "again, 'mobitune plan show' prints it)");
  mbt_plan_free(&pl);
  return 0;
}

/* DATA/e2e-NET-ALPHA-RES-tTHREADS.json: where bench saves end-to-end results for the report. */
static void e2e_path(const struct opts *o, const struct mbt_model *m, int threads, char *buf,
                     size_t n) {
  char name[128];
  snprintf(name, sizeof name, "e2e-%s-%g-%d-t%d.json", mbt_net_name(m->kind), m->alpha, m->res,
           threads);
  data_path(o, NULL, name, buf, n, 1);
}

/* e2e_path for the report's sections at other thread counts (ctx: the options). */
static void report_e2e(const void *ctx, const struct mbt_model *m, int threads, char *buf,
                       size_t n) {
  e2e_path(ctx, m, threads, buf, n);
}

/* One network of --nets: NET[:ALPHA[:RES]]. */
static int parse_net(const char *spec, const struct opts *o, struct mbt_model *m) {
  char name[32] = "";
  double alpha = o->alpha;
  int res = o->res;
  const char *c1 = strchr(spec, ':');
  snprintf(name, sizeof name, "%.*s", c1 ? (int)(c1 - spec) : (int)strlen(spec), spec);
  enum mbt_net_kind k;
  if (mbt_net_parse(name, &k) != MBT_OK) return bad("--nets: %s%s", mbt_last_error(), "");
  if (c1) {
    char *end;
    alpha = strtod(c1 + 1, &end);
    if (end == c1 + 1 || (*end && *end != ':') || !(alpha > 0 && alpha <= 1.5))
      return bad("--nets '%s': the width multiplier is not a number in (0, 1.5]%s", spec, "");
    if (*end == ':') {
      const char *r = end + 1;
      res = (int)strtol(r, &end, 10);
      if (end == r || *end || res < 32 || res > 1024)
        return bad("--nets '%s': the resolution is not an integer in [32, 1024]%s", spec, "");
    }
  }
  if (mbt_model_build_ex(k, alpha, res, o->classes, m) != MBT_OK) return fail(MBT_EINVAL);
  return 0;
}

/* The report's networks: --nets NET[:ALPHA[:RES]],... (every item given) or the one of
 * --net/--alpha/--res/--weights, borrowed.  0 or the exit status (nothing left to free). */
static int report_nets(const struct opts *o, const struct mbt_model *model,
                       struct mbt_model *models, int *n) {
  int rc = 0;
  *n = 0;
  if (!o->nets) {
    models[(*n)++] = *model; /* borrowed: not freed here */
    return 0;
  }
  char list[512];
  if (snprintf(list, sizeof list, "%s", o->nets) >= (int)sizeof list)
    return bad("--nets: longer than %s characters%s", "511", "");
  for (char *t = list, *comma; t && !rc; t = comma ? comma + 1 : NULL) {
    if ((comma = strchr(t, ','))) *comma = 0;
    if (!*t) rc = bad("--nets '%s': an empty item (NET[:ALPHA[:RES]],... expected)%s", o->nets, "");
    else if (*n == 8) rc = bad("--nets: at most 8 networks%s%s", "", "");
    else if (!(rc = parse_net(t, o, &models[*n]))) (*n)++;
  }
  for (int k = 0; rc && k < *n; k++) mbt_model_free(&models[k]);
  return rc;
}

static int cmd_report(const struct opts *o, const struct mbt_machine *m,
                      const struct mbt_model *model) {
  char pb[4096], fb[4096], ob[4096], cmdline[1024];
  struct mbt_model models[8];
  int n = 0, rc = report_nets(o, model, models, &n);
  if (rc) return rc;
  const char *path = data_path(o, o->plan, "plan.txt", pb, sizeof pb, 0);
  const char *ppath = data_path(o, o->profile, "profile.json", fb, sizeof fb, 0);
  static struct mbt_profile p, other;
  enum mbt_status st = mbt_profile_load(ppath, &p);
  if (st != MBT_OK) fprintf(stderr, "report: needs a machine profile (run 'mobitune roofline' first)\n");
  else if (o->other_profile && (st = mbt_profile_load(o->other_profile, &other)) != MBT_OK)
    fprintf(stderr, "report: --compare-profile %s: ", o->other_profile);
  if (st != MBT_OK) {
    for (int k = 0; o->nets && k < n; k++) mbt_model_free(&models[k]);
    return fail(st);
  }
  const char *out = data_path(o, o->out, "report.html", ob, sizeof ob, 1);
  struct mbt_plan pl;
  if (!load_plan(path, m, &pl, "report")) fprintf(stderr, "report: the layer tables will have no timings\n");
  static char e2e[8][4200];
  const char *e2ep[8];
  size_t len = (size_t)snprintf(cmdline, sizeof cmdline, "mobitune roofline;");
  for (int k = 0; k < n; k++) {
    const struct mbt_model *mk = &models[k];
    e2e_path(o, mk, 1, e2e[k], sizeof e2e[k]);
    e2ep[k] = e2e[k];
    if (len < sizeof cmdline)
      len += (size_t)snprintf(cmdline + len, sizeof cmdline - len,
                              " mobitune tune --net %s --alpha %g --res %d; mobitune bench --e2e "
                              "--net %s --alpha %g --res %d;", mbt_net_name(mk->kind), mk->alpha,
                              mk->res, mbt_net_name(mk->kind), mk->alpha, mk->res);
  }
  if (len < sizeof cmdline) snprintf(cmdline + len, sizeof cmdline - len, " mobitune report");
  struct mbt_report_in in = {m, &p, o->other_profile ? &other : NULL, o->other_profile, &pl,
                             models, n, e2ep, cmdline, report_e2e, o};
  st = mbt_report_write(out, &in);
  mbt_plan_free(&pl);
  for (int k = 0; o->nets && k < n; k++) mbt_model_free(&models[k]);
  if (st != MBT_OK) return fail(st);
  printf("report: %s (tables also as .csv and .json beside it)\n", out);
  return 0;
}

struct stats {
  double median, min, p90;
};

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* 1 when layer @p i, timed at @p ms inside the network, beat its roofline ceiling in the
 * network beyond the noise; the ceiling is then marked suspect in @p p. */
static int above_roof(struct mbt_profile *p, const struct mbt_model *m, int i, int threads,
                      double ms) {
  struct mbt_place pc;
  mbt_roofline_place(p, m, i, threads, &pc);
  if (!(pc.net_attainable > 0 && ms > 0 && pc.flops / (ms * 1e6) > 1.05 * pc.net_attainable))
    return 0;
  mbt_profile_beaten(p, mbt_profile_binding(p, &pc, threads, 0));
  return 1;
}

/* Warm up once, then time runs; fills median, min, p90 (ms) and, when @p layer_ms is given,
 * each layer's median time (ms) over the runs. */
static enum mbt_status time_runs(mbt_engine_t e, const float *in, int batch, size_t nin,
                                 int runs, int nlayers, struct stats *s, double *layer_ms) {
  double *t = malloc((size_t)runs * sizeof *t);
  double *lt = layer_ms ? malloc((size_t)runs * (size_t)nlayers * sizeof *lt) : NULL;
  if (!t || (layer_ms && !lt)) {
    free(t);
    free(lt);
    return MBT_ENOMEM;
  }
  mbt_engine_run(e, in);
  for (int r = 0; r < runs; r++) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int k = 0; k < batch; k++) mbt_engine_run(e, in + nin * (size_t)k);
    clock_gettime(CLOCK_MONOTONIC, &b);
    t[r] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    for (int i = 0; lt && i < nlayers; i++) lt[(size_t)i * runs + r] = mbt_engine_layer_ns(e, i) / 1e6;
  }
  for (int i = 0; lt && i < nlayers; i++) {
    qsort(lt + (size_t)i * runs, (size_t)runs, sizeof *lt, cmp_d);
    layer_ms[i] = lt[(size_t)i * runs + runs / 2];
  }
  free(lt);
  qsort(t, (size_t)runs, sizeof *t, cmp_d);
  s->median = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
  s->min = t[0];
  s->p90 = t[(int)(0.9 * (runs - 1))];
  free(t);
  return MBT_OK;
}

/* Class names, one per line; exactly one per class of the network; no NUL byte. */
static char **read_labels(const char *path, int classes) {
  enum mbt_status st;
  size_t len;
  char *text = mbt_read_file_max(path, (size_t)64 << 20, &len, &st);
  if (!text) {
    fprintf(stderr, "run: --labels: %s\n", mbt_last_error());
    return NULL;
  }
  const char *nul = memchr(text, 0, len);
  if (nul) {
    int line = 1;
    for (const char *q = text; q < nul; q++) line += *q == '\n';
    fprintf(stderr, "run: --labels %s: line %d holds a NUL byte (not a text file?)\n", path, line);
    free(text);
    return NULL;
  }
  char **lab = calloc((size_t)classes + 1, sizeof *lab);
  int n = 0;
  for (char *s = text; lab && *s;) {
    char *nl = strchr(s, '\n');
    if (nl) *nl = 0;
    if (n < classes) lab[n] = s;
    n++;
    size_t l = strlen(s);
    if (l && s[l - 1] == '\r') s[l - 1] = 0;
    if (!nl) break;
    s = nl + 1;
  }
  if (!lab || n != classes) {
    fprintf(stderr, "run: --labels %s: %d lines for a network of %d classes\n", path, n, classes);
    free(lab);
    free(text);
    return NULL;
  }
  lab[classes] = text; /* the owner of the strings, freed with the array */
  return lab;
}

static void free_labels(char **lab, int classes) {
  if (!lab) return;
  free(lab[classes]);
  free(lab);
}

/* The indices of the 5 largest of @p p[0..n). */
static void top5(const float *p, int n, int *top) {
  for (int k = 0; k < 5; k++) {
    top[k] = -1;
    for (int c = 0; c < n && k < n; c++) {
      int used = 0;
      for (int j = 0; j < k; j++) used |= top[j] == c;
      if (!used && (top[k] < 0 || p[c] > p[top[k]])) top[k] = c;
    }
  }
}

/* The length of the valid UTF-8 sequence at @p s (1 to 4), 0 when it is not one (overlong
 * forms, surrogates and code points past U+10FFFF are not). */
static int utf8_len(const unsigned char *s) {
  int n;
  uint32_t cp;
  if (s[0] < 0x80) return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf) n = 2, cp = s[0] & 0x1f;
  else if (s[0] >= 0xe0 && s[0] <= 0xef) n = 3, cp = s[0] & 0x0f;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4) n = 4, cp = s[0] & 0x07;
  else return 0;
  for (int k = 1; k < n; k++) {
    if ((s[k] & 0xc0) != 0x80) return 0; /* also stops at the NUL */
    cp = cp << 6 | (s[k] & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return n;
}

/* A JSON string: valid UTF-8 as it is; a byte that is not part of valid UTF-8 becomes U+FFFD
 * (the replacement character, as \ufffd); control characters and DEL as \u00XX. */
static void json_str(const char *str) {
  const unsigned char *s = (const unsigned char *)str;
  putchar('"');
  while (*s) {
    const int n = utf8_len(s);
    if (*s == '"' || *s == '\\') printf("\\%c", *s);
    else if (*s < 0x20 || *s == 0x7f) printf("\\u%04x", *s);
    else if (n == 0) printf("\\ufffd");
    else fwrite(s, 1, (size_t)n, stdout);
    s += n ? n : 1;
  }
  putchar('"');
}

/* A label in the text output: control characters (an escape sequence to the terminal) as \xNN. */
static void text_str(const char *str) {
  for (const unsigned char *s = (const unsigned char *)str; *s; s++)
    if (*s < 0x20 || *s == 0x7f) printf("\\x%02x", *s);
    else putchar(*s);
}

/* 1 when some layer of @p e runs a variant whose name contains @p text: the engine picks one
 * wherever one applies, so 0 says that no layer of the network has one. */
static int variant_used(mbt_engine_t e, const struct mbt_model *model, const char *text) {
  for (int i = 0; i < model->nlayers; i++)
    if (strstr(mbt_engine_variant(e, i), text)) return 1;
  return 0;
}

/* --input: exactly @p nin little-endian float32 values, every one finite.  0 or the exit status. */
static int read_input(const char *path, float *in, size_t nin) {
  enum mbt_status st;
  size_t len;
  char *raw = mbt_read_file_max(path, nin * sizeof *in, &len, &st);
  if (!raw && st == MBT_EINVAL) { /* too large: the same words as too small */
    fprintf(stderr, "run: --input %s: more than %zu bytes, not res x res x 3 float32 values\n",
            path, nin * sizeof *in);
    return 1;
  }
  if (!raw) return fail(st);
  if (len != nin * sizeof *in) {
    fprintf(stderr, "run: --input %s: %zu bytes, not res x res x 3 float32 values (%zu bytes)\n",
            path, len, nin * sizeof *in);
    free(raw);
    return 1;
  }
  memcpy(in, raw, len);
  free(raw);
  for (size_t i = 0; i < nin; i++)
    if (!isfinite(in[i])) {
      fprintf(stderr, "run: --input %s: value %zu (byte %zu) is %s, not a finite number\n", path,
              i, i * sizeof *in, isnan(in[i]) ? "NaN" : "infinite");
      return 1;
    }
  return 0;
}

static int cmd_run(const struct opts *o, const struct mbt_machine *m,
                   const struct mbt_model *model) {
  char pb[4096];
  const char *path = data_path(o, o->plan, "plan.txt", pb, sizeof pb, 0);
  struct mbt_plan pl;
  int have = load_plan(path, m, &pl, "run");
  if (!have && o->strict) {
    fprintf(stderr, "run: --strict: refusing to run without a valid plan for this machine\n");
    return 1;
  }
  if (!have) fprintf(stderr, "run: using the default plan (best static rank per layer)\n");
  const int classes = model->classes;
  char **labels = NULL;
  if (o->labels && !(labels = read_labels(o->labels, classes))) {
    mbt_plan_free(&pl);
    return 1;
  }
  mbt_engine_t e = NULL, ref = NULL;
  enum mbt_status st = mbt_engine_create(model, have ? &pl : NULL, o->variant, o->seed, &e);
  if (st == MBT_OK) {
    mbt_engine_set_threads(e, o->threads);
    /* entries tuned at this thread count, where the plan has them */
    if (have && !o->variant && o->threads > 1) st = mbt_engine_apply_plan(e, &pl);
  }
  if (st == MBT_OK && o->variant && !variant_used(e, model, o->variant)) {
    fprintf(stderr, "mobitune: run: --variant '%s': no layer of this network has a variant whose "
            "name contains it (MBT_VERBOSE=1 lists the registry)\n", o->variant);
    mbt_plan_free(&pl);
    free_labels(labels, classes);
    mbt_engine_destroy(e);
    return 2;
  }
  if (st == MBT_OK && o->wts) st = mbt_engine_set_weights(e, o->wts);
  for (int i = 0; st == MBT_OK && o->fuse >= 0 && i + 1 < model->nlayers; i++) {
    const int rows = o->fuse;
    st = mbt_engine_fuse(e, i, mbt_pair_fusable(model, i) ? rows : 0);
    if (st == MBT_OK) st = mbt_engine_block(e, i, mbt_block_fusable(model, i) ? rows : 0);
  }
  mbt_plan_free(&pl);
  float *in = NULL, *logits = NULL;
  const size_t nin = (size_t)model->res * model->res * 3;
  int rc = 0;
  if (st != MBT_OK) {
    rc = fail(st);
    goto done;
  }
  if (mbt_pin_threads(o->threads) != MBT_OK)
    fprintf(stderr, "run: %s; timings may be noisier\n", mbt_last_error());
  /* batch: one input per item (the image each time, or a seeded random input per item) */
  in = malloc(nin * (size_t)o->batch * sizeof *in);
  logits = malloc((size_t)classes * (size_t)o->batch * sizeof *logits);
  if (!in || !logits) {
    fprintf(stderr, "run: cannot allocate %d inputs\n", o->batch);
    rc = 1;
    goto done;
  }
  if (o->image && o->input) {
    fprintf(stderr, "run: --image and --input: give one\n");
    rc = 2;
    goto done;
  }
  if (o->input) {
    if ((rc = read_input(o->input, in, nin)) != 0) goto done;
    for (int b = 1; b < o->batch; b++) memcpy(in + nin * b, in, nin * sizeof *in);
  } else if (o->image) {
    static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f}, imagenet_std[3] = {0.229f, 0.224f, 0.225f};
    struct mbt_image im;
    if ((st = mbt_image_load(o->image, &im)) == MBT_OK) {
      st = mbt_image_input(&im, model->res, o->wts ? o->wts->mean : imagenet_mean,
                           o->wts ? o->wts->std : imagenet_std, in);
      mbt_image_free(&im);
    }
    if (st != MBT_OK) {
      rc = fail(st);
      goto done;
    }
    for (int b = 1; b < o->batch; b++) memcpy(in + nin * b, in, nin * sizeof *in);
  } else {
    for (int b = 0; b < o->batch; b++) mbt_engine_fill_input(e, in + nin * b, o->seed + 1 + (uint64_t)b);
  }
  struct stats s = {0, 0, 0};
  double layer_ms[MBT_MAX_LAYERS];
  if ((st = time_runs(e, in, o->batch, nin, o->runs, model->nlayers, &s, o->layers ? layer_ms : NULL)) != MBT_OK) {
    rc = fail(st);
    goto done;
  }
  for (int b = 0; b < o->batch; b++) { /* every item's logits, one more run each */
    mbt_engine_run(e, in + nin * b);
    memcpy(logits + (size_t)classes * b, mbt_engine_logits(e), (size_t)classes * sizeof *logits);
  }
  int cls;
  const float *prob = mbt_engine_output(e, &cls); /* the last item's */
  int top[5];
  top5(prob, classes, top);
  double max_err = -1, max_logit = 0;
  int top1_ok = 1;
  if (o->verify) {
    st = mbt_engine_create(model, NULL, "ref/", o->seed, &ref);
    if (st == MBT_OK && o->wts) st = mbt_engine_set_weights(ref, o->wts);
    if (st != MBT_OK) {
      rc = fail(st);
      goto done;
    }
    max_err = 0;
    for (int b = 0; b < o->batch; b++) {
      mbt_engine_run(ref, in + nin * b);
      const float *a = logits + (size_t)classes * b, *r = mbt_engine_logits(ref);
      int rtop = 0, top1 = 0;
      for (int c = 0; c < classes; c++) {
        max_err = fmax(max_err, fabs((double)a[c] - r[c]));
        max_logit = fmax(max_logit, fabs((double)r[c]));
        if (r[c] > r[rtop]) rtop = c;
        if (a[c] > a[top1]) top1 = c;
      }
      top1_ok &= rtop == top1;
    }
  }
  const double gflops = 2.0 * model->macs * o->batch / (s.median * 1e6);
  /* Tolerance: 1e-4 of the largest reference logit (fp32 sums of up to 1280 terms per layer,
   * chained over the network), plus an absolute 1e-5. */
  const double tol = 1e-5 + 1e-4 * max_logit;
  if (o->json) {
    printf("{\"net\":\"%s\",\"alpha\":%g,\"res\":%d,\"classes\":%d,\"batch\":%d,\"threads\":%d,"
           "\"runs\":%d,\"median_ms\":%.4f,\"min_ms\":%.4f,\"p90_ms\":%.4f,\"gflops\":%.2f,"
           "\"weights\":", mbt_net_name(model->kind), model->alpha, model->res, classes, o->batch,
           o->threads, o->runs, s.median, s.min, s.p90, gflops);
    if (o->weights) json_str(o->weights);
    else printf("null");
    printf(",\"image\":");
    if (o->image) json_str(o->image);
    else printf("null");
    printf(",\"top5\":[");
    for (int k = 0; k < 5 && top[k] >= 0; k++) {
      printf("%s{\"class\":%d,\"prob\":%.6f", k ? "," : "", top[k], prob[top[k]]);
      if (labels) printf(",\"label\":"), json_str(labels[top[k]]);
      printf("}");
    }
    printf("],\"logits\":[");
    for (int c = 0; c < classes; c++) printf("%s%.7g", c ? "," : "", logits[c]);
    printf("]");
    if (o->verify) printf(",\"max_abs_err\":%.3g,\"tolerance\":%.3g,\"top1_agrees\":%s", max_err,
                          tol, top1_ok ? "true" : "false");
    printf("}\n");
  } else {
    printf("run: MobileNet %s alpha %.3g res %d, %d classes, %s weights, batch %d, %d thread%s, "
           "plan %s\n", mbt_net_name(model->kind), model->alpha, model->res, classes,
           o->weights ? o->weights : "seeded random", o->batch, o->threads,
           o->threads == 1 ? "" : "s", have ? path : "(default)");
    printf("latency (batch of %d): median %.3f ms, min %.3f ms, p90 %.3f ms over %d runs; "
           "%.1f GFLOP/s\n", o->batch, s.median, s.min, s.p90, o->runs, gflops);
    if (o->image) printf("image: %s\n", o->image);
    printf("top-5 (class: probability):");
    for (int k = 0; k < 5 && top[k] >= 0; k++) {
      printf(" %d: %.4f", top[k], prob[top[k]]);
      if (labels) printf(" ("), text_str(labels[top[k]]), printf(")");
      printf(k < 4 ? "," : "");
    }
    printf("\n");
    /* a fused pair or block reports its whole time on its first layer; the layers fused
     * into it report none, and its GFLOP/s count the whole group's work */
    char fb[4096];
    struct mbt_profile prof;
    const char *ppath = data_path(o, o->profile, "profile.json", fb, sizeof fb, 0);
    const int have_prof = o->layers && mbt_profile_load(ppath, &prof) == MBT_OK;
    int beaten = 0;
    for (int i = 0, lead = 0; o->layers && i < model->nlayers; i++) {
      const struct mbt_layer *l = &model->layers[i];
      if (layer_ms[i] <= 0 && i > 0) {
        printf("  %-12s %-8s  (fused into %s)  %s\n", l->name, mbt_op_name(l->op),
               model->layers[lead].name, mbt_engine_variant(e, i));
        continue;
      }
      double macs = l->macs;
      for (int j = i + 1; j < model->nlayers && j <= i + 2 && layer_ms[j] <= 0; j++)
        macs += model->layers[j].macs;
      lead = i;
      const int over = have_prof && macs == l->macs && above_roof(&prof, model, i, o->threads, layer_ms[i]);
      beaten += over;
      printf("  %-12s %-8s %8.3f ms  %5.1f%%  %6.1f GFLOP/s  %s%s\n", l->name, mbt_op_name(l->op),
             layer_ms[i], 100 * layer_ms[i] / s.median, 2 * macs / (layer_ms[i] * 1e6),
             mbt_engine_variant(e, i), over ? "  (above its roofline ceiling: SUSPECT)" : "");
    }
    if (beaten && mbt_profile_save(&prof, ppath) == MBT_OK)
      fprintf(stderr, "run: warning: %d layer%s beat %s roofline ceiling beyond the noise: marked "
              "SUSPECT in %s; the next 'roofline' or 'tune' measures it again\n", beaten,
              beaten > 1 ? "s" : "", beaten > 1 ? "their" : "its", ppath);
    if (o->verify)
      printf("verify: max |logit - reference| = %.3g (tolerance %.3g) over %d input%s, top-1 %s\n",
             max_err, tol, o->batch, o->batch > 1 ? "s" : "", top1_ok ? "agrees" : "DIFFERS");
  }
  if (o->verify && (max_err > tol || !top1_ok)) {
    fprintf(stderr, "run: verification FAILED\n");
    rc = 1;
  }
done:
  free(in);
  free(logits);
  free_labels(labels, classes);
  mbt_engine_destroy(e);
  mbt_engine_destroy(ref);
  return rc;
}

/* 'weights --out FILE': the seeded weights of the network as a weight file; 'weights --weights
 * FILE': check a file and describe it. */
static int cmd_weights(const struct opts *o, const struct mbt_model *model) {
  if (o->wts) {
    printf("weights %s: MobileNet %s alpha %g res %d, %d classes, normalization mean %.3f %.3f "
           "%.3f std %.3f %.3f %.3f, %d tensors, checksum and shapes verified\n", o->weights,
           mbt_net_name(o->wts->kind), o->wts->alpha, o->wts->res, o->wts->classes,
           o->wts->mean[0], o->wts->mean[1], o->wts->mean[2], o->wts->std[0], o->wts->std[1],
           o->wts->std[2], o->wts->ntensors);
    return 0;
  }
  if (!o->out) return bad("weights: give --out FILE (write) or --weights FILE (check)%s%s", "", "");
  static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
  mbt_engine_t e;
  enum mbt_status st = mbt_engine_create(model, NULL, NULL, o->seed, &e);
  if (st == MBT_OK) st = mbt_weights_save(e, model, mean, std, o->out);
  mbt_engine_destroy(e);
  if (st != MBT_OK) return fail(st);
  printf("weights: wrote the seeded (seed %llu) weights of MobileNet %s alpha %g res %d, %d "
         "classes to %s\n", o->seed, mbt_net_name(model->kind), model->alpha, model->res,
         model->classes, o->out);
  return 0;
}

static void plan_print(const struct mbt_plan *pl, const char *path, int cands) {
  printf("plan %s: fingerprint %s, kernel registry %s, %d entries\n", path, pl->fingerprint,
         pl->registry, pl->n);
  printf("%-79s %10s %7s %9s %8s  %s\n", "problem", "median us", "spread",
         "next / it", "ref / it", "choice (runner-up)");
  for (int i = 0; i < pl->n; i++) {
    const struct mbt_choice *c = &pl->v[i];
    printf("%-79s %10.2f %6.1f%% %9.2f %8.1f  %s", c->key, c->ns / 1e3, 100 * c->spread,
           c->runner_up_ns > 0 ? c->runner_up_ns / c->ns : 0, c->ref_ns > 0 ? c->ref_ns / c->ns : 0,
           c->variant);
    if (c->runner_up[0]) printf(" (%s)", c->runner_up);
    printf("%s%s%s%s\n", c->tie ? " [tie]" : "", c->busy ? " [busy: measured under load]" : "",
           c->fallback ? " [fallback: the tuned choice ran slower than the default]" : "",
           c->spread > 0.10 ? " [spread over 10%]" : "");
    for (int j = 0; cands && j < c->ncand; j++) {
      const struct mbt_cand *d = &c->cand[j];
      printf("    %-66s", d->variant);
      if (d->ns > 0) printf(" %10.2f us %5.1f%% %5.2fx", d->ns / 1e3, 100 * d->spread, d->ns / c->ns);
      else printf(" %27s", "-");
      if (d->alone_ns > 0) printf("  alone %9.2f us", d->alone_ns / 1e3);
      if (d->bound_ns > 0) printf("  bound %9.2f us", d->bound_ns / 1e3);
      for (int k = 0; k < c->nevents && d->out == MBT_CAND_TIMED; k++)
        printf("  %s=%lld", c->events[k], d->counts[k]);
      printf("  %s\n", mbt_cand_out_text(d->out));
    }
  }
  int busy = 0, back = 0, wide = 0;
  for (int i = 0; i < pl->n; i++)
    busy += pl->v[i].busy, back += pl->v[i].fallback, wide += pl->v[i].spread > 0.10;
  for (int i = 0; i < pl->nchecks; i++) mbt_check_print(&pl->checks[i], stdout);
  if (busy)
    printf("warning: %d entr%s measured while another process held a CPU (tune --force): tune "
           "again with --redo when the machine is quiet\n", busy, busy > 1 ? "ies were" : "y was");
  if (back) printf("note: %d entr%s put back to the default choice by the check after a tune\n",
                   back, back > 1 ? "ies were" : "y was");
  if (wide) printf("note: %d entr%s a spread over 10%% between passes\n", wide, wide > 1 ? "ies have" : "y has");
  if (cands) {
    int ev = 0;
    for (int i = 0; i < pl->n; i++) ev |= pl->v[i].nevents > 0;
    printf("%s\n", ev ? "(counts: per run, median over the passes, read around each layer)"
                      : "(no counter values in this plan: it was tuned with the clock only)");
  }
}

static int cmd_plan(const struct opts *o, const struct mbt_machine *m) {
  const char *act = o->nargs > 0 ? o->args[0] : "";
  const int show = !strcmp(act, "show"), exp = !strcmp(act, "export"), imp = !strcmp(act, "import");
  const int merge = !strcmp(act, "merge");
  if (!(show || exp || imp || merge))
    return bad("plan: expected 'show', 'export FILE', 'import FILE...' or 'merge FILE...'%s%s",
               *act ? ", not " : "", act);
  if ((show && o->nargs != 1) || (exp && o->nargs != 2) || ((imp || merge) && o->nargs < 2))
    return bad("plan %s: wrong number of files (see --help)%s", act, "");
  char pb[4096];
  const char *path = data_path(o, o->plan, "plan.txt", pb, sizeof pb, imp || merge);
  struct mbt_plan pl;
  enum mbt_status st;
  if (show || exp) {
    if ((st = mbt_plan_load(path, m, &pl)) != MBT_OK) return fail(st);
    if (show) plan_print(&pl, path, o->cands);
    else if ((st = mbt_plan_save(&pl, m, o->args[1])) == MBT_OK)
      printf("plan: exported %d entries from %s to %s\n", pl.n, path, o->args[1]);
    mbt_plan_free(&pl);
    return st == MBT_OK ? 0 : fail(st);
  }
  /* import / merge: every file must be whole and made for this machine and registry; the
   * store is written once, under its lock, after all of them are read.  A store that cannot be
   * read is kept aside as PATH.rejected first, as tune does; a special file is refused. */
  struct mbt_plan in;
  mbt_plan_init(&in, m);
  for (int f = 1; f < o->nargs; f++) {
    struct mbt_plan one;
    if ((st = mbt_plan_load(o->args[f], m, &one)) != MBT_OK) {
      mbt_plan_free(&in);
      return fail(st);
    }
    for (int i = 0; i < one.n && st == MBT_OK; i++) {
      const struct mbt_choice *had = mbt_plan_find(&in, one.v[i].key);
      if (!had || imp || one.v[i].ns < had->ns) st = mbt_plan_put(&in, &one.v[i]);
    }
    mbt_plan_free(&one);
    if (st != MBT_OK) break;
  }
  struct mbt_plan old;
  if (st == MBT_OK && store_regular(act, path)) {
    mbt_plan_free(&in);
    return 1;
  }
  if (st == MBT_OK && (st = mbt_plan_load(path, m, &old)) == MBT_OK) mbt_plan_free(&old);
  if ((st == MBT_EPARSE || st == MBT_EMISMATCH) && keep_aside(act, path)) {
    mbt_plan_free(&in);
    return 1;
  }
  if (st != MBT_ENOMEM) st = MBT_OK; /* a missing or set-aside store: a new one */
  if (st == MBT_OK) st = mbt_plan_store(&in, m, path, merge);
  if (st == MBT_OK) printf("plan: %s %d entries into %s\n", imp ? "imported" : "merged", in.n, path);
  mbt_plan_free(&in);
  return st == MBT_OK ? 0 : fail(st);
}

static int cmd_bench(const struct opts *o, const struct mbt_machine *m,
                     const struct mbt_model *model) {
  char pb[4096];
  const char *path = data_path(o, o->plan, "plan.txt", pb, sizeof pb, 0);
  struct mbt_plan pl;
  int have = load_plan(path, m, &pl, "bench");
  char fb[4096];
  struct mbt_profile prof;
  const int have_prof =
      mbt_profile_load(data_path(o, o->profile, "profile.json", fb, sizeof fb, 0), &prof) == MBT_OK;
  char eb[4200];
  e2e_path(o, model, o->threads, eb, sizeof eb);
  struct mbt_bench_opts bo = {o->quick, o->runs, o->threads, have_prof ? &prof : NULL,
                              {NULL, NULL}, {NULL, NULL}, o->e2e, eb};
  struct mbt_plan other[2];
  enum mbt_status st = MBT_OK;
  for (int k = 0; k < o->ncompare && st == MBT_OK; k++)
    if ((st = mbt_plan_load(o->compare[k], m, &other[k])) == MBT_OK)
      bo.compare[k] = &other[k],
      bo.compare_name[k] = strrchr(o->compare[k], '/') ? strrchr(o->compare[k], '/') + 1 : o->compare[k];
  const int sus = have_prof ? mbt_profile_suspects(&prof, 1) + mbt_profile_suspects(&prof, 2) : 0;
  if (st == MBT_OK) st = mbt_bench(model, have ? &pl : NULL, &bo, stdout);
  if (st == MBT_OK && have_prof &&
      mbt_profile_suspects(&prof, 1) + mbt_profile_suspects(&prof, 2) > sus &&
      mbt_profile_save(&prof, fb) == MBT_OK)
    fprintf(stderr, "bench: warning: a variant beat its roofline ceiling beyond the noise: the "
            "ceiling is marked SUSPECT in %s and the next 'roofline' or 'tune' measures it again\n", fb);
  for (int k = 0; k < 2; k++)
    if (bo.compare[k]) mbt_plan_free(&other[k]);
  mbt_plan_free(&pl);
  return st == MBT_OK ? 0 : fail(st);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr, NULL);
    return 2;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("mobitune %s\n", mbt_version());
    return 0;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(stdout, NULL);
    return 0;
  }
  const struct cmddef *c = NULL;
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (!strcmp(argv[1], cmds[i].name)) c = &cmds[i];
  if (!c) {
    fprintf(stderr, "mobitune: unknown command '%s'\n", argv[1]);
    usage(stderr, NULL);
    return 2;
  }
  struct opts o = {0};
  o.net = MBT_NET_V1;
  o.alpha = 1.0;
  o.res = 224;
  o.runs = 20;
  o.seed = 1;
  o.effort = MBT_MEASURE;
  o.classes = 1000;
  o.fuse = -1;
  o.batch = 1;
  int rc = parse(argc - 1, argv + 1, c, &o);
  if (rc) return rc;
  if (!o.threads) o.threads = c->bit == C_ROOF ? 0 : 1;
  struct mbt_machine m;
  mbt_machine_detect(&m);
  if (c->bit == C_INFO) return cmd_info(&o, &m);
  if (c->bit == C_ROOF) return cmd_roofline(&o, &m);
  if (c->bit == C_PLAN) return cmd_plan(&o, &m);
  struct mbt_model model;
  struct mbt_weights wts;
  enum mbt_status st;
  if (o.weights) { /* the network is the file's */
    if ((st = mbt_weights_load(o.weights, &wts)) != MBT_OK) return fail(st);
    if ((st = mbt_weights_model(&wts, &model)) == MBT_OK) st = mbt_weights_check(&wts, &model);
    if (st != MBT_OK) {
      mbt_model_free(&model); /* built before the shapes were checked (safe when it was not) */
      mbt_weights_free(&wts);
      return fail(st);
    }
    o.wts = &wts;
  } else if ((st = mbt_model_build_ex(o.net, o.alpha, o.res, o.classes, &model)) != MBT_OK) {
    return fail(st);
  }
  switch (c->bit) {
    case C_MODEL: rc = cmd_model(&o, &model); break;
    case C_TUNE: rc = cmd_tune(&o, &m, &model); break;
    case C_REPORT: rc = cmd_report(&o, &m, &model); break;
    case C_RUN: rc = cmd_run(&o, &m, &model); break;
    case C_WEIGHTS: rc = cmd_weights(&o, &model); break;
    default: rc = cmd_bench(&o, &m, &model); break;
  }
  mbt_model_free(&model);
  if (o.wts) mbt_weights_free(&wts);
  return rc;
}
