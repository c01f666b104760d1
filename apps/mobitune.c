/* apps/mobitune.c -- the one CLI: parses options and calls libmobitune.  Exit status: 0 success,
 * 1 a failure while working, 2 bad usage. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "include/mobitune.h"
#include "bench/bench.h"
#include "machine/machine.h"
#include "net/net.h"
#include "plan/merge.h"
#include "plan/plan.h"
#include "reports/write.h"
#include "roofline/roofline.h"
#include "tuner/tuner.h"

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
  int cotenant, cotenant_cpu, cotenant_nice; /* bench --cotenant CPU[:NICE] */
  const char *weights, *image, *labels, *input, *nets, *other_profile, *point, *net_file;
  int describe; /* model --describe */
  int preprocess, resize; /* run --preprocess (enum mbt_preprocess, 0: the file's), --resize */
  const char *save_input; /* run --save-input */
  int classes, batch, fuse; /* fuse: -1 = the plan's */
  int schedule;             /* enum mbt_schedule */
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
    {"net-file", 1, C_NET, "any network described as data: a network description (README.md, "
     "'Network descriptions'; 'mobitune model --describe' writes one)"},
    {"describe", 0, C_MODEL, "print the network's description (JSON, what --net-file reads)"},
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
    {"preprocess", 1, C_RUN, "how --image becomes the input: torchvision (Resize(S), then "
     "CenterCrop) or tf (central crop of 0.875, then a bilinear resize; TF-slim and Keras); "
     "default what the weight file records, else torchvision"},
    {"resize", 1, C_RUN, "torchvision preprocessing: S of Resize(S) (default round(res / 0.875), "
     "256 for 224)"},
    {"save-input", 1, C_RUN, "write the network input computed from --image or --input to this "
     "file (res x res x 3 little-endian float32, NHWC) to compare with another framework's"},
    {"fuse", 1, C_RUN, "run every fusable pair and block fused, in strips of N rows (overrides "
     "the plan's fusion; 0 = none)"},
    {"threads", 1, C_MODEL | C_ROOF | C_TUNE | C_RUN | C_BENCH,
     "threads (default: roofline all, others 1; tune keeps a plan per thread count)"},
    {"schedule", 1, C_RUN, "how several threads share the network: layers (a layer at a time, "
     "a barrier after each), flow (work items started as the rows they read are written, no "
     "barriers, backup copies of what a descheduled thread holds) or auto (the default: each "
     "run the one whose last runs were faster; --layers takes layers)"},
    {"quick", 0, C_ROOF | C_TUNE | C_BENCH, "fewer and shorter repetitions (for tests)"},
    {"compare", 1, C_BENCH, "another plan file to time end to end beside the plan (up to 2)"},
    {"cold", 0, C_TUNE, "time with cold caches (a buffer of 2x the LLC streamed before each run)"},
    {"candidates", 0, C_PLAN, "plan show: every candidate tried, with its time, roofline bound, "
     "counts and why it stopped being timed"},
    {"e2e", 0, C_BENCH, "only the end-to-end comparison (no per-variant table)"},
    {"cotenant", 1, C_BENCH, "CPU[:NICE]: also time the plans beside a busy loop pinned to CPU at "
     "nice NICE (default 0), quiet and loaded runs interleaved"},
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
               "tune (measure on a busy machine, marking what was measured under load); "
               "MBT_NO_AHEAD=1 fetches no classifier weights ahead (net/engine.c).\n");
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
      {"resize", 1, 8192, offsetof(struct opts, resize)},
  };
  (void)o;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (!strcmp(t[i].name, name)) return &t[i];
  return NULL;
}

/* The options that set a flag (an int field) or keep their value as it is (a string field). */
struct field_opt {
  const char *name;
  int flag;
  size_t field;
};
static const struct field_opt *field_option(const char *name) {
#define FLAG(n, f) {n, 1, offsetof(struct opts, f)}
#define STR(n, f) {n, 0, offsetof(struct opts, f)}
  static const struct field_opt t[] = {
      FLAG("json", json), FLAG("quick", quick), FLAG("show", show), FLAG("redo", redo),
      FLAG("force", force), FLAG("verify", verify), FLAG("strict", strict),
      FLAG("quiet", quiet), FLAG("layers", layers), FLAG("e2e", e2e), FLAG("cold", cold),
      FLAG("candidates", cands), FLAG("describe", describe), STR("data", data), STR("plan", plan), STR("profile", profile),
      STR("out", out), STR("variant", variant), STR("weights", weights), STR("image", image),
      STR("input", input), STR("nets", nets), STR("compare-profile", other_profile),
      STR("labels", labels), STR("point", point), STR("net-file", net_file),
      STR("save-input", save_input),
  };
#undef FLAG
#undef STR
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (!strcmp(t[i].name, name)) return &t[i];
  return NULL;
}

/* Option @p n with its value @p v (NULL for a flag) into @p o.  0 or the exit status. */
static int parse_value(const char *n, const char *v, struct opts *o) {
  const struct field_opt *fo = field_option(n);
  const struct int_opt *io = int_option(o, n);
  char *end;
  long x;
  errno = 0;
  if (fo && fo->flag) *(int *)((char *)o + fo->field) = 1;
  else if (fo) *(const char **)((char *)o + fo->field) = v;
  else if (io) {
    if (parse_long(n, v, io->lo, io->hi, &x)) return 2;
    *(int *)((char *)o + io->field) = (int)x;
  } else if (!strcmp(n, "cotenant")) {
    long cpu = strtol(v, &end, 10), nice_level = 0;
    int ok = !errno && end != v;
    if (ok && *end == ':') {
      const char *nv = end + 1;
      nice_level = strtol(nv, &end, 10);
      ok = !errno && end != nv;
    }
    if (!ok || *end || cpu < 0 || cpu > 1023 || nice_level < -20 || nice_level > 19)
      return bad("--cotenant '%s' is not CPU[:NICE] (CPU 0 to 1023, NICE -20 to 19)%s", v, "");
    o->cotenant = 1, o->cotenant_cpu = (int)cpu, o->cotenant_nice = (int)nice_level;
  } else if (!strcmp(n, "preprocess")) {
    if (strcmp(v, "torchvision") && strcmp(v, "tf"))
      return bad("--preprocess '%s' is not torchvision or tf%s", v, "");
    o->preprocess = !strcmp(v, "tf") ? MBT_PREPROCESS_TF : MBT_PREPROCESS_TORCHVISION;
  } else if (!strcmp(n, "schedule")) {
    if (strcmp(v, "layers") && strcmp(v, "flow") && strcmp(v, "auto"))
      return bad("--schedule '%s' is not auto, layers or flow%s", v, "");
    o->schedule = !strcmp(v, "flow")     ? MBT_SCHEDULE_FLOW
                  : !strcmp(v, "layers") ? MBT_SCHEDULE_LAYERS
                                         : MBT_SCHEDULE_AUTO;
  } else if (!strcmp(n, "compare")) {
    if (o->ncompare == 2) return bad("bench: at most 2 --compare plans%s%s", "", "");
    o->compare[o->ncompare++] = v;
  } else if (!strcmp(n, "net")) {
    if (mbt_net_parse(v, &o->net) != MBT_OK)
      return bad("--net '%s' is not a known network (expected v1, v2, v3-large or v3-small)%s",
                 v, "");
  } else if (!strcmp(n, "alpha")) {
    o->alpha = strtod(v, &end);
    if (errno || end == v || *end || !(o->alpha > 0 && o->alpha <= 1.5))
      return bad("--alpha '%s' is not a number in (0, 1.5]%s", v, "");
  } else if (!strcmp(n, "effort")) {
    enum mbt_effort ef;
    if (mbt_effort_parse(v, &ef) != MBT_OK)
      return bad("--effort '%s' is not estimate, measure, patient or exhaustive%s", v, "");
    o->effort = ef;
  } else if (!strcmp(n, "budget")) {
    o->budget = strtod(v, &end);
    if (*end == 's') end++;
    if (errno || end == v || *end || !(o->budget > 0 && o->budget <= 86400))
      return bad("--budget '%s' is not a number of seconds in (0, 86400]%s", v, "");
  } else if (!strcmp(n, "seed")) {
    o->seed = strtoull(v, &end, 0); /* which would take "-1" as 2^64 - 1: a digit first */
    if (!(*v >= '0' && *v <= '9') || errno || end == v || *end)
      return bad("--seed '%s' is not an integer in [0, 18446744073709551615]%s", v, "");
  }
  return 0;
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
    if (!strcmp(d->name, "help")) {
      usage(stdout, c);
      exit(0);
    }
    const int rc = parse_value(d->name, optarg, o);
    if (rc) return rc;
  }
  if (c->bit == C_PLAN) { /* an action and its files */
    o->args = argv + optind, o->nargs = argc - optind;
    return 0;
  }
  if (optind < argc) return bad("%s: unexpected argument '%s'", c->name, argv[optind]);
  return 0;
}

/* DATA: --data or ./mobitune-data; created when asked to. */
static const char *data_dir(const struct opts *o, int create) {
  const char *dir = o->data ? o->data : "mobitune-data";
  if (create && mkdir(dir, 0755) != 0 && errno != EEXIST)
    fprintf(stderr, "mobitune: cannot create %s: %s\n", dir, strerror(errno));
  return dir;
}

/* DATA/name unless the option gave a path; creates DATA when asked to. */
static const char *data_path(const struct opts *o, const char *given, const char *name,
                             char *buf, size_t n, int create) {
  if (given) return given;
  snprintf(buf, n, "%s/%s", data_dir(o, create), name);
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
  mbt_roofline_print_model(&p, path, model, o->threads > 1 ? o->threads : 1, stdout);
}

static int cmd_model(const struct opts *o, const struct mbt_model *model) {
  if (o->describe) {
    char *d = mbt_model_describe(model);
    if (!d) return fail(mbt_fail(MBT_ENOMEM, "cannot describe the network"));
    printf("%s\n", d);
    free(d);
    return 0;
  }
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

/* Place every layer on the measured roofline at the time of its plan entry (printed when
 * @p print); a layer that beats its ceiling beyond the noise marks that ceiling suspect.
 * @return the ceilings newly marked. */
static int place_layers(const struct opts *o, const struct mbt_model *model,
                        const struct mbt_plan *pl, struct mbt_profile *p, int print) {
  struct mbt_layer_time lt[MBT_MAX_LAYERS];
  double sum = 0;
  for (int i = 0; i < model->nlayers; i++) {
    struct mbt_problem p; /* this thread count's entry */
    mbt_problem_layer(&model->layers[i], o->threads, &p);
    const struct mbt_choice *c = mbt_plan_exact(pl, &p);
    const char *mark = c && c->busy ? " [busy]" : c && c->fallback ? " [fallback]" : "";
    lt[i] = (struct mbt_layer_time){c ? c->ns : 0, c ? c->variant : "-", mark};
    sum += lt[i].ns;
  }
  int mem = 0;
  const int marked =
      mbt_roofline_print_timed(p, model, o->threads, lt, print ? stdout : NULL, &mem);
  if (print)
    printf("tune: %d of %d layers memory-bound in the network; sum of per-layer medians %.3f ms\n",
           mem, model->nlayers, sum / 1e6);
  return marked;
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


static int cmd_tune(const struct opts *o, const struct mbt_machine *m,
                    const struct mbt_model *model) {
  char pb[4096], fb[4096];
  const char *path = data_path(o, o->plan, "plan.txt", pb, sizeof pb, 1);
  const char *ppath = data_path(o, o->profile, "profile.json", fb, sizeof fb, 0);
  struct mbt_plan pl;
  enum mbt_status st;
  if (mbt_plan_store_open(path, m, &pl, "tune", stderr, &st)) return 1;
  if (st != MBT_OK && st != MBT_ENOTFOUND) return fail(st);
  const int before = pl.n;
  /* what the plan held, to count the problems this tune measured (new or measured again) */
  struct mbt_choice *old_v = before ? malloc((size_t)before * sizeof *old_v) : NULL;
  if (old_v) memcpy(old_v, pl.v, (size_t)before * sizeof *old_v);
  struct mbt_profile prof;
  const int have_prof = tune_profile(o, m, ppath, &prof);
  struct mbt_tune_opts to = {o->redo, !o->quiet, 1.0, o->quick ? 3 : 0, path, o->quick,
                             o->threads, o->effort, o->budget, have_prof ? &prof : NULL,
                             o->cold, o->force, 0};
  char title[64];
  mbt_model_title(model, title, sizeof title);
  printf("tune: %s res %d, %d thread%s, plan %s (%d entries already "
         "measured)\n", title, model->res,
         o->threads > 1 ? o->threads : 1, o->threads > 1 ? "s" : "", path, before);
  fflush(stdout);
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint; /* Ctrl-C: stop measuring, keep what is measured */
  sigaction(SIGINT, &sa, &old);
  st = mbt_tune(m, model, &to, &pl);
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
  const int measured = st == MBT_OK ? mbt_plan_changed(&pl, old_v, before) : 0;
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
  if (mbt_record_save(data_dir(o, 0), m, model, &pl, o->threads) != MBT_OK) /* for the report */
    fprintf(stderr, "tune: warning: the report data: %s\n", mbt_last_error());
  const struct mbt_check *c = mbt_plan_check(&pl, ck);
  if (c) {
    FILE *f = c->outcome == MBT_CHECK_SLOWER || c->disturbed ? stderr : stdout; /* a warning */
    fputs("tune: ", f);
    mbt_check_print(c, f);
  }
  printf("tune: measured %d new problems; plan: %s%s\n", measured, path,
         measured ? "" : " (it held every problem of this network already: --redo measures "
                         "again, 'mobitune plan show' prints it)");
  mbt_plan_free(&pl);
  return 0;
}

/* Where bench saves end-to-end results in DATA for the report (created). */
static void e2e_path(const struct opts *o, const struct mbt_model *m, int threads, char *buf,
                     size_t n) {
  mbt_e2e_path(data_dir(o, 1), m, threads, buf, n);
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

static int cmd_report(const struct opts *o, const struct mbt_model *model) {
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
  if (!load_plan(path, NULL, &pl, "report")) fprintf(stderr, "report: the layer tables will have no timings\n");
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
                              "--net %s --alpha %g --res %d;", mk->name, mk->alpha,
                              mk->res, mk->name, mk->alpha, mk->res);
  }
  if (len < sizeof cmdline) snprintf(cmdline + len, sizeof cmdline - len, " mobitune report");
  struct mbt_report_in in = {&p, o->other_profile ? &other : NULL, o->other_profile, &pl,
                             models, n, e2ep, cmdline, report_e2e, o, data_dir(o, 0)};
  st = mbt_report_write(out, &in);
  mbt_plan_free(&pl);
  for (int k = 0; o->nets && k < n; k++) mbt_model_free(&models[k]);
  if (st != MBT_OK) return fail(st);
  printf("report: %s (tables also as .csv and .json beside it)\n", out);
  return 0;
}

/* A label in the text output: control characters (an escape sequence to the terminal) as \xNN. */
static void text_str(const char *str) {
  for (const unsigned char *s = (const unsigned char *)str; *s; s++)
    if (*s < 0x20 || *s == 0x7f) printf("\\x%02x", *s);
    else putchar(*s);
}

/* The engine of 'run': the plan's choices (those tuned at this thread count, where it has them)
 * or --variant's, the weights of --weights, and --fuse's fusion.  0 or the exit status. */
static int run_engine(const struct opts *o, const struct mbt_model *model,
                      const struct mbt_plan *pl, mbt_engine_t *e) {
  enum mbt_status st = mbt_engine_create(model, pl, o->variant, o->seed, e);
  if (st == MBT_OK) {
    mbt_engine_set_threads(*e, o->threads);
    /* --layers times each layer alone: the layer schedule */
    mbt_engine_set_schedule(*e, o->layers ? MBT_SCHEDULE_LAYERS : (enum mbt_schedule)o->schedule);
    if (pl && !o->variant && o->threads > 1) st = mbt_engine_apply_plan(*e, pl);
  }
  if (st == MBT_OK && o->variant && !mbt_engine_uses(*e, o->variant)) {
    fprintf(stderr, "mobitune: run: --variant '%s': no layer of this network has a variant whose "
            "name contains it (MBT_VERBOSE=1 lists the registry)\n", o->variant);
    return 2;
  }
  if (st == MBT_OK && o->wts) st = mbt_engine_set_weights(*e, o->wts);
  if (st == MBT_OK && o->fuse >= 0) st = mbt_engine_fuse_all(*e, o->fuse);
  return st == MBT_OK ? 0 : fail(st);
}

/* The preprocessing of --image: --preprocess, else what the weight file records, else
 * torchvision's; and torchvision's Resize(S) (0: the default). */
static enum mbt_preprocess preprocess_of(const struct opts *o) {
  if (o->preprocess) return (enum mbt_preprocess)o->preprocess;
  return o->wts && o->wts->preprocess ? (enum mbt_preprocess)o->wts->preprocess
                                      : MBT_PREPROCESS_TORCHVISION;
}
static int resize_of(const struct opts *o) {
  return o->resize ? o->resize : o->wts ? o->wts->resize : 0;
}

/* The inputs of 'run', one per item: --input's tensor or --image's picture (normalized as the
 * weights say) each time, or a seeded random input per item.  0 or the exit status. */
static int run_inputs(const struct opts *o, mbt_engine_t e, const struct mbt_model *model,
                      float *in) {
  const size_t nin = (size_t)model->res * model->res * 3;
  enum mbt_status st = MBT_OK;
  if (o->input) {
    if ((st = mbt_input_load(o->input, in, nin)) == MBT_EPARSE) {
      fprintf(stderr, "run: --input %s\n", mbt_last_error());
      return 1;
    }
  } else if (o->image) {
    float mean[3], std[3];
    struct mbt_image im;
    mbt_engine_normalization(e, mean, std);
    const enum mbt_preprocess kind = preprocess_of(o);
    if ((st = mbt_image_load(o->image, &im)) == MBT_OK) {
      st = mbt_image_prepare(&im, model->res, kind, resize_of(o), mean, std, in);
      mbt_image_free(&im);
    }
  } else {
    for (int b = 0; b < o->batch; b++)
      mbt_engine_fill_input(e, in + nin * b, o->seed + 1 + (uint64_t)b);
    return 0;
  }
  if (st != MBT_OK) return fail(st);
  if (o->save_input && (st = mbt_write_atomic(o->save_input, (const char *)in, nin * sizeof *in)) != MBT_OK)
    return fail(st);
  for (int b = 1; b < o->batch; b++) memcpy(in + nin * b, in, nin * sizeof *in);
  return 0;
}

/* --layers: each layer's median time inside the network.  A fused pair or block reports its
 * whole time on its first layer; the layers fused into it report none, and its GFLOP/s count
 * the whole group's work.  A layer above its roofline ceiling marks it suspect. */
static void run_layers(const struct opts *o, mbt_engine_t e, const struct mbt_model *model,
                       const double *layer_ms, double median) {
  char fb[4096];
  struct mbt_profile prof;
  const char *ppath = data_path(o, o->profile, "profile.json", fb, sizeof fb, 0);
  const int have_prof = mbt_profile_load(ppath, &prof) == MBT_OK;
  int beaten = 0;
  for (int i = 0, lead = 0; i < model->nlayers; i++) {
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
    const int over = have_prof && macs == l->macs &&
                     mbt_roofline_beaten(&prof, model, i, o->threads, mbt_engine_variant(e, i),
                                         layer_ms[i] * 1e6, NULL);
    beaten += over;
    printf("  %-12s %-8s %8.3f ms  %5.1f%%  %6.1f GFLOP/s  %s%s\n", l->name, mbt_op_name(l->op),
           layer_ms[i], 100 * layer_ms[i] / median, 2 * macs / (layer_ms[i] * 1e6),
           mbt_engine_variant(e, i), over ? "  (above its roofline ceiling: SUSPECT)" : "");
  }
  if (beaten && mbt_profile_save(&prof, ppath) == MBT_OK)
    fprintf(stderr, "run: warning: %d layer%s beat %s roofline ceiling beyond the noise: marked "
            "SUSPECT in %s; the next 'roofline' or 'tune' measures it again\n", beaten,
            beaten > 1 ? "s" : "", beaten > 1 ? "their" : "its", ppath);
}

static const char *schedule_name(int s) {
  return s == MBT_SCHEDULE_FLOW ? "flow" : s == MBT_SCHEDULE_LAYERS ? "layers" : "auto";
}

/* The text output of 'run' (@p plan: the plan's file, NULL for the default plan). */
static void run_print(const struct opts *o, mbt_engine_t e, const struct mbt_run_result *r,
                      const double *layer_ms, const char *plan) {
  const struct mbt_model *model = r->model;
  char title[64];
  mbt_model_title(model, title, sizeof title);
  printf("run: %s res %d, %d classes, %s weights, batch %d, %d thread%s, "
         "plan %s\n", title, model->res, model->classes,
         o->weights ? o->weights : "seeded random", o->batch, o->threads,
         o->threads == 1 ? "" : "s", plan ? plan : "(default)");
  printf("latency (batch of %d): median %.3f ms, min %.3f ms, p90 %.3f ms over %d runs; "
         "%.1f GFLOP/s\n", o->batch, r->stats.median, r->stats.min, r->stats.p90, o->runs,
         r->gflops);
  if (o->threads > 1)
    printf("schedule: %s (%ld runs layer by layer, %ld as a flow of work items)\n", r->schedule,
           r->layer_runs, r->flow_runs);
  if (o->image) {
    const int res = model->res, rs = resize_of(o) ? resize_of(o) : (int)(res / 0.875 + 0.5);
    if (preprocess_of(o) == MBT_PREPROCESS_TF)
      printf("image: %s (tf: central crop of 0.875, bilinear resize to %dx%d)\n", o->image, res, res);
    else
      printf("image: %s (torchvision: Resize(%d), CenterCrop(%d))\n", o->image, rs, res);
  }
  printf("top-5 (class: probability):");
  for (int k = 0; k < r->ntop && r->top[k] >= 0; k++) {
    printf(" %d: %.4f", r->top[k], r->prob[r->top[k]]);
    if (r->labels) printf(" ("), text_str(r->labels->name[r->top[k]]), printf(")");
    printf(k < 4 ? "," : "");
  }
  printf("\n");
  if (layer_ms) run_layers(o, e, model, layer_ms, r->stats.median);
  if (r->verify)
    printf("verify: max |logit - reference| = %.3g (tolerance %.3g) over %d input%s, top-1 %s\n",
           r->verify->max_abs_err, r->verify->tolerance, o->batch, o->batch > 1 ? "s" : "",
           r->verify->top1_agrees ? "agrees" : "DIFFERS");
}

/* Time the runs of @p e, take every item's logits, check them with --verify, and print.  0 or
 * the exit status. */
static int run_measure(const struct opts *o, mbt_engine_t e, const struct mbt_model *model,
                       const struct mbt_labels *labels, const char *plan) {
  const int classes = model->classes;
  if (mbt_pin_threads(o->threads) != MBT_OK)
    fprintf(stderr, "run: %s; timings may be noisier\n", mbt_last_error());
  float *in = malloc((size_t)model->res * model->res * 3 * (size_t)o->batch * sizeof *in);
  float *logits = malloc((size_t)classes * (size_t)o->batch * sizeof *logits);
  int rc = 0;
  if (!in || !logits) {
    fprintf(stderr, "run: cannot allocate %d inputs\n", o->batch);
    rc = 1;
  } else if (o->image && o->input) {
    fprintf(stderr, "run: --image and --input: give one\n");
    rc = 2;
  } else if ((o->preprocess || o->resize) && !o->image) {
    fprintf(stderr, "run: --preprocess and --resize say how --image becomes the input: give --image\n");
    rc = 2;
  } else if (o->resize && preprocess_of(o) == MBT_PREPROCESS_TF) {
    fprintf(stderr, "run: --resize is torchvision's Resize(S); tf preprocessing crops 0.875 of the image\n");
    rc = 2;
  } else if (o->save_input && !o->image && !o->input) {
    fprintf(stderr, "run: --save-input writes the input made from --image or --input: give one\n");
    rc = 2;
  } else {
    rc = run_inputs(o, e, model, in);
  }
  struct mbt_run_stats s = {0, 0, 0};
  double layer_ms[MBT_MAX_LAYERS];
  struct mbt_verify v = {0, 0, 0};
  enum mbt_status st = MBT_OK;
  if (!rc) st = mbt_run_timed(e, in, o->batch, o->runs, &s, o->layers ? layer_ms : NULL);
  if (!rc && st == MBT_OK) st = mbt_run_logits(e, in, o->batch, logits);
  if (!rc && st == MBT_OK && o->verify)
    st = mbt_verify(model, o->wts, o->seed, in, logits, o->batch, &v);
  if (!rc && st != MBT_OK && st != MBT_EVERIFY) rc = fail(st);
  if (!rc) {
    int cls, top[5];
    const float *prob = mbt_engine_output(e, &cls); /* the last item's */
    mbt_topk(prob, classes, 5, top);
    const struct mbt_run_result r = {model, o->batch, o->threads, o->runs, s,
                                     2.0 * model->macs * o->batch / (s.median * 1e6), o->weights,
                                     o->image, prob, top, 5, o->labels ? labels : NULL, logits,
                                     o->verify ? &v : NULL, schedule_name(o->schedule),
                                     mbt_engine_schedule_runs(e, MBT_SCHEDULE_LAYERS),
                                     mbt_engine_schedule_runs(e, MBT_SCHEDULE_FLOW)};
    if (o->json) mbt_run_print_json(&r, stdout);
    else run_print(o, e, &r, o->layers ? layer_ms : NULL, plan);
  }
  if (!rc && st == MBT_EVERIFY) {
    fprintf(stderr, "run: verification FAILED\n");
    rc = 1;
  }
  free(in);
  free(logits);
  return rc;
}

static int cmd_run(const struct opts *o, const struct mbt_machine *m,
                   const struct mbt_model *model) {
  char pb[4096];
  const char *path = data_path(o, o->plan, "plan.txt", pb, sizeof pb, 0);
  struct mbt_plan pl;
  const int have = load_plan(path, m, &pl, "run");
  if (!have && o->strict) {
    fprintf(stderr, "run: --strict: refusing to run without a valid plan for this machine\n");
    return 1;
  }
  if (!have) fprintf(stderr, "run: using the default plan (best static rank per layer)\n");
  struct mbt_labels labels = {0};
  enum mbt_status st;
  if (o->labels && (st = mbt_labels_load(o->labels, model->classes, &labels)) != MBT_OK) {
    /* a file that reads but is not a label file: "PATH: what" */
    fprintf(stderr, "run: --labels%s %s\n", st == MBT_EPARSE ? "" : ":", mbt_last_error());
    mbt_plan_free(&pl);
    return 1;
  }
  mbt_engine_t e = NULL;
  int rc = run_engine(o, model, have ? &pl : NULL, &e);
  mbt_plan_free(&pl);
  if (!rc) rc = run_measure(o, e, model, &labels, have ? path : NULL);
  mbt_labels_free(&labels);
  mbt_engine_destroy(e);
  return rc;
}

/* 'weights --out FILE': the seeded weights of the network as a weight file; 'weights --weights
 * FILE': check a file and describe it. */
static int cmd_weights(const struct opts *o, const struct mbt_model *model) {
  if (o->wts) {
    char title[64];
    mbt_model_title(model, title, sizeof title);
    printf("weights %s: %s res %d, %d classes, normalization mean %.3f %.3f "
           "%.3f std %.3f %.3f %.3f, %d tensors, checksum and shapes verified\n", o->weights,
           title, o->wts->res, o->wts->classes,
           o->wts->mean[0], o->wts->mean[1], o->wts->mean[2], o->wts->std[0], o->wts->std[1],
           o->wts->std[2], o->wts->ntensors);
    return 0;
  }
  if (!o->out) return bad("weights: give --out FILE (write) or --weights FILE (check)%s%s", "", "");
  mbt_engine_t e;
  enum mbt_status st = mbt_engine_create(model, NULL, NULL, o->seed, &e);
  if (st == MBT_OK) st = mbt_engine_save(e, mbt_imagenet_mean, mbt_imagenet_std, o->out);
  mbt_engine_destroy(e);
  if (st != MBT_OK) return fail(st);
  char title[64];
  mbt_model_title(model, title, sizeof title);
  printf("weights: wrote the seeded (seed %llu) weights of %s res %d, %d "
         "classes to %s\n", o->seed, title, model->res,
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
    if (c->threads > 0) printf(" [on %d thread%s]", c->threads, c->threads > 1 ? "s" : "");
    printf("%s%s%s%s\n", c->tie ? " [tie]" : "", c->busy ? " [busy: measured under load]" : "",
           c->fallback ? " [fallback: the tuned choice ran slower than an untuned plan's]" : "",
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
  if (back) printf("note: %d entr%s put back to an untuned plan's choice by the check after a tune\n",
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
  struct mbt_plan in, old;
  st = mbt_plan_merge_files((const char *const *)o->args + 1, o->nargs - 1, merge, m, &in);
  if (st != MBT_OK) return fail(st);
  if (mbt_plan_store_open(path, m, &old, act, stderr, &st)) {
    mbt_plan_free(&in);
    return 1;
  }
  mbt_plan_free(&old);
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
                              {NULL, NULL}, {NULL, NULL}, o->e2e, eb, o->cotenant,
                              o->cotenant_cpu, o->cotenant_nice};
  struct mbt_plan other[2];
  enum mbt_status st = MBT_OK;
  for (int k = 0; k < o->ncompare && st == MBT_OK; k++)
    if ((st = mbt_plan_load(o->compare[k], m, &other[k])) == MBT_OK)
      bo.compare[k] = &other[k],
      bo.compare_name[k] = strrchr(o->compare[k], '/') ? strrchr(o->compare[k], '/') + 1 : o->compare[k];
  const int sus = have_prof ? mbt_profile_suspects(&prof, 1) + mbt_profile_suspects(&prof, 2) : 0;
  if (st == MBT_OK) st = mbt_bench(model, have ? &pl : NULL, &bo, stdout);
  if (st == MBT_OK && o->e2e && mbt_record_save(data_dir(o, 0), m, model, have ? &pl : NULL, o->threads) != MBT_OK)
    fprintf(stderr, "bench: warning: the report data: %s\n", mbt_last_error());
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
  if (o.weights && o.net_file) {
    fprintf(stderr, "mobitune: --weights and --net-file both give the network: use one\n");
    return 2;
  }
  if (o.weights) { /* the network is the file's */
    if ((st = mbt_weights_load(o.weights, &wts)) != MBT_OK) return fail(st);
    if ((st = mbt_weights_model(&wts, &model)) == MBT_OK) st = mbt_weights_check(&wts, &model);
    if (st != MBT_OK) {
      mbt_model_free(&model); /* built before the shapes were checked (safe when it was not) */
      mbt_weights_free(&wts);
      return fail(st);
    }
    o.wts = &wts;
  } else if (o.net_file) {
    if ((st = mbt_model_load(o.net_file, &model)) != MBT_OK) return fail(st);
  } else if ((st = mbt_model_build_ex(o.net, o.alpha, o.res, o.classes, &model)) != MBT_OK) {
    return fail(st);
  }
  switch (c->bit) {
    case C_MODEL: rc = cmd_model(&o, &model); break;
    case C_TUNE: rc = cmd_tune(&o, &m, &model); break;
    case C_REPORT: rc = cmd_report(&o, &model); break;
    case C_RUN: rc = cmd_run(&o, &m, &model); break;
    case C_WEIGHTS: rc = cmd_weights(&o, &model); break;
    default: rc = cmd_bench(&o, &m, &model); break;
  }
  mbt_model_free(&model);
  if (o.wts) mbt_weights_free(&wts);
  return rc;
}
