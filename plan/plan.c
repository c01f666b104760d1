/* plan/plan.c -- plans (FFTW's wisdom): one text line per problem under a header that holds
 * the machine fingerprint and the kernel-registry signature.  Loading is all or nothing: a
 * truncated or corrupt file, or one made for another machine or registry, leaves the plan empty
 * and says exactly why.  Saving writes a temporary file and renames it over the old one.
 *
 *   mobitune-plan 2
 *   fingerprint 3f0c...        machine cpu="AMD EPYC" isa=... caches=... cores=2
 *   registry 9a1b...
 *   entry <key> | <variant> | ns=... spread=... ref_ns=... runner_up=... runner_up_ns=...
 *         effort=measure [tie=1] [cold=1] [threads=N] [events=NAME,NAME...]
 *   cand <variant> | ns=... spread=... alone_ns=... bound_ns=... out=timed|limit|screen|roofline
 *         [counts=N,N...]          (every candidate tried for the entry above; format 2)
 *   check <net key> | tuned_ns=... default_ns=... fixed=FAMILY fixed_ns=... spread=...
 *         rounds=N fallbacks=N busy=N/N outcome=faster|fallback|slower retaken=N disturbed=N
 *         [forced=1]
 *         (the end-to-end check after a tune; format 3)
 *   end <number of entries>
 *
 * Entries may carry busy=1 (measured on a busy machine, tune --force), fallback=1 (put
 * back to the default choice by the check) and, at a key of t > 1 threads, threads=N < t
 * (the layer or fused group runs on N threads: it ran faster so when tuned).  Formats 1 (no cand lines, no events) and 2 (no
 * check lines) still load.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "kernels/kernels.h"
#include "machine/isa.h"
#include "net/net.h"
#include "plan/plan.h"

#define PLAN_FORMAT 3

/* What became of a candidate (enum mbt_cand_out): its word in a plan, and what it says. */
static const struct {
  const char *name, *text;
} outcomes[] = {
    {"timed", "timed"},
    {"limit", "over the time limit"},
    {"screen", "screened out (alone)"},
    {"roofline", "roofline bound cannot win"},
};
#define NOUT (int)(sizeof outcomes / sizeof outcomes[0])

const char *mbt_cand_out_name(int out) { return outcomes[out >= 0 && out < NOUT ? out : 0].name; }

const char *mbt_cand_out_text(int out) { return outcomes[out >= 0 && out < NOUT ? out : 0].text; }

/* The outcome named @p s in a plan, or -1. */
static int cand_out_parse(const char *s) {
  for (int k = 0; k < NOUT; k++)
    if (!strcmp(s, outcomes[k].name)) return k;
  return -1;
}

static const char *const effort_names[] = {"estimate", "measure", "patient", "exhaustive"};

enum mbt_status mbt_effort_parse(const char *s, enum mbt_effort *e) {
  for (int i = 0; i < 4; i++)
    if (!strcmp(s, effort_names[i])) {
      *e = (enum mbt_effort)i;
      return MBT_OK;
    }
  return mbt_fail(MBT_EINVAL, "effort '%s' is not estimate, measure, patient or exhaustive", s);
}

const char *mbt_effort_name(enum mbt_effort e) {
  return (unsigned)e < 4 ? effort_names[e] : "measure";
}

/* The machine description stored beside the fingerprint, to say what differs. */
static void machine_line(const struct mbt_machine *m, char *buf, size_t n) {
  char isa[96] = "", caches[128] = "";
  for (uint32_t b = 1; b <= MBT_ISA_NEON; b <<= 1)
    if (m->isa & b) {
      size_t l = strlen(isa);
      snprintf(isa + l, sizeof isa - l, "%s%s", l ? "," : "", mbt_isa_name(b));
    }
  for (int i = 0; i < m->ncaches; i++) {
    size_t l = strlen(caches);
    snprintf(caches + l, sizeof caches - l, "%sL%d:%lluK", l ? "," : "", m->caches[i].level,
             (unsigned long long)(m->caches[i].size >> 10));
  }
  snprintf(buf, n, "cpu=\"%s\" family=%d model=%d stepping=%d isa=%s caches=%s cores=%d threads=%d",
           m->model, m->family, m->cpu_model, m->stepping, isa, caches, m->cores, m->threads);
}

void mbt_plan_init(struct mbt_plan *pl, const struct mbt_machine *m) {
  memset(pl, 0, sizeof *pl);
  snprintf(pl->fingerprint, sizeof pl->fingerprint, "%s", m ? m->fingerprint : "");
  snprintf(pl->registry, sizeof pl->registry, "%s", mbt_registry_signature());
}

void mbt_plan_free(struct mbt_plan *pl) {
  free(pl->v);
  pl->v = NULL;
  pl->n = pl->cap = 0;
}

const struct mbt_choice *mbt_plan_find(const struct mbt_plan *pl, const char *key) {
  for (int i = 0; i < pl->n; i++)
    if (strcmp(pl->v[i].key, key) == 0) return &pl->v[i];
  return NULL;
}

const struct mbt_choice *mbt_plan_exact(const struct mbt_plan *pl, const struct mbt_problem *p) {
  char key[96];
  if (!pl) return NULL;
  mbt_problem_key(p, key, sizeof key);
  return mbt_plan_find(pl, key);
}

const struct mbt_choice *mbt_plan_entry(const struct mbt_plan *pl, const struct mbt_problem *p) {
  char key[96];
  if (!pl) return NULL;
  if (p->threads > 1) {
    mbt_problem_key(p, key, sizeof key);
    const struct mbt_choice *c = mbt_plan_find(pl, key);
    if (c) return c;
  }
  struct mbt_problem one = *p;
  one.threads = 1;
  mbt_problem_key(&one, key, sizeof key);
  return mbt_plan_find(pl, key);
}

enum mbt_status mbt_plan_put(struct mbt_plan *pl, const struct mbt_choice *c) {
  for (int i = 0; i < pl->n; i++)
    if (strcmp(pl->v[i].key, c->key) == 0) {
      pl->v[i] = *c;
      return MBT_OK;
    }
  if (pl->n == pl->cap) {
    int cap = pl->cap ? pl->cap * 2 : 32;
    struct mbt_choice *v = realloc(pl->v, (size_t)cap * sizeof *v);
    if (!v) return mbt_fail(MBT_ENOMEM, "cannot grow the plan");
    pl->v = v;
    pl->cap = cap;
  }
  pl->v[pl->n++] = *c;
  return MBT_OK;
}

static const char *const check_names[] = {"faster", "fallback", "slower"};

const char *mbt_check_out_name(int outcome) {
  return outcome >= 0 && outcome < 3 ? check_names[outcome] : "slower";
}

const struct mbt_check *mbt_plan_check(const struct mbt_plan *pl, const char *key) {
  for (int i = 0; i < pl->nchecks; i++)
    if (!strcmp(pl->checks[i].key, key)) return &pl->checks[i];
  return NULL;
}

enum mbt_status mbt_plan_put_check(struct mbt_plan *pl, const struct mbt_check *c) {
  for (int i = 0; i < pl->nchecks; i++)
    if (!strcmp(pl->checks[i].key, c->key)) {
      pl->checks[i] = *c;
      return MBT_OK;
    }
  if (pl->nchecks == MBT_MAX_CHECKS)
    return mbt_fail(MBT_ENOMEM, "more than %d end-to-end checks in one plan", MBT_MAX_CHECKS);
  pl->checks[pl->nchecks++] = *c;
  return MBT_OK;
}

/* The text is streamed into a buffer that grows with what is written, whatever the length of
 * the numbers in it. */
enum mbt_status mbt_plan_save(const struct mbt_plan *pl, const struct mbt_machine *m,
                              const char *path) {
  char *buf = NULL, mline[384];
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return mbt_fail(MBT_ENOMEM, "cannot allocate the plan text");
  machine_line(m, mline, sizeof mline);
  fprintf(f, "# mobitune plan (wisdom), written by mobitune %s; one line per problem\n"
          "mobitune-plan %d\nfingerprint %s\nmachine %s\nregistry %s\n",
          mbt_version(), PLAN_FORMAT, pl->fingerprint, mline, pl->registry);
  for (int i = 0; i < pl->n; i++) {
    const struct mbt_choice *c = &pl->v[i];
    fprintf(f, "entry %s | %s | ns=%.1f spread=%.4f ref_ns=%.1f runner_up=%s runner_up_ns=%.1f "
            "effort=%s%s%s%s%s", c->key, c->variant, c->ns, c->spread, c->ref_ns,
            c->runner_up[0] ? c->runner_up : "-", c->runner_up_ns,
            mbt_effort_name((enum mbt_effort)c->effort), c->tie ? " tie=1" : "",
            c->cold ? " cold=1" : "", c->busy ? " busy=1" : "", c->fallback ? " fallback=1" : "");
    if (c->threads > 0) fprintf(f, " threads=%d", c->threads);
    for (int k = 0; k < c->nevents; k++) fprintf(f, "%s%s", k ? "," : " events=", c->events[k]);
    fputc('\n', f);
    for (int j = 0; j < c->ncand; j++) {
      const struct mbt_cand *d = &c->cand[j];
      fprintf(f, "cand %s | ns=%.1f spread=%.4f alone_ns=%.1f bound_ns=%.1f out=%s", d->variant,
              d->ns, d->spread, d->alone_ns, d->bound_ns, mbt_cand_out_name(d->out));
      for (int k = 0; k < c->nevents; k++) fprintf(f, "%s%lld", k ? "," : " counts=", d->counts[k]);
      fputc('\n', f);
    }
  }
  for (int i = 0; i < pl->nchecks; i++) {
    const struct mbt_check *c = &pl->checks[i];
    fprintf(f, "check %s | tuned_ns=%.1f default_ns=%.1f fixed=%s fixed_ns=%.1f spread=%.4f "
            "rounds=%d fallbacks=%d busy=%d/%d outcome=%s retaken=%d disturbed=%d%s\n", c->key,
            c->tuned_ns, c->default_ns, c->fixed[0] ? c->fixed : "-", c->fixed_ns, c->spread,
            c->rounds, c->fallbacks, c->busy_passes, c->passes, mbt_check_out_name(c->outcome),
            c->retaken, c->disturbed, c->busy ? " forced=1" : "");
  }
  fprintf(f, "end %d\n", pl->n);
  const int bad = ferror(f);
  fclose(f);
  enum mbt_status st = bad || !buf ? mbt_fail(MBT_ENOMEM, "cannot allocate the plan text")
                                   : mbt_write_atomic(path, buf, len);
  free(buf);
  return st;
}

enum mbt_status mbt_plan_store(const struct mbt_plan *pl, const struct mbt_machine *m,
                               const char *path, int faster) {
  char lpath[4200];
  enum mbt_status st = mbt_replaceable(path); /* a FIFO, a device, a link: refused, untouched */
  if (st != MBT_OK) return st;
  snprintf(lpath, sizeof lpath, "%s.lock", path);
  const int fd = open(lpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return mbt_fail(MBT_EIO, "cannot open the plan lock %s: %s", lpath, strerror(errno));
  struct flock lk = {0};
  lk.l_type = F_WRLCK, lk.l_whence = SEEK_SET;
  while (fcntl(fd, F_SETLKW, &lk) != 0)
    if (errno != EINTR) {
      close(fd);
      return mbt_fail(MBT_EIO, "cannot lock %s: %s", lpath, strerror(errno));
    }
  struct mbt_plan disk, out;
  mbt_plan_init(&out, m);
  memcpy(out.fingerprint, pl->fingerprint, sizeof out.fingerprint);
  memcpy(out.registry, pl->registry, sizeof out.registry);
  if (mbt_plan_load(path, m, &disk) == MBT_OK) { /* what other tuners stored meanwhile */
    for (int i = 0; i < disk.nchecks && st == MBT_OK; i++)
      if (!mbt_plan_check(pl, disk.checks[i].key)) st = mbt_plan_put_check(&out, &disk.checks[i]);
    for (int i = 0; i < disk.n && st == MBT_OK; i++) {
      const struct mbt_choice *mine = mbt_plan_find(pl, disk.v[i].key);
      if (!mine || (faster && disk.v[i].ns > 0 && disk.v[i].ns < mine->ns))
        st = mbt_plan_put(&out, &disk.v[i]);
    }
    mbt_plan_free(&disk);
  }
  for (int i = 0; i < pl->n && st == MBT_OK; i++)
    if (!mbt_plan_find(&out, pl->v[i].key)) st = mbt_plan_put(&out, &pl->v[i]);
  for (int i = 0; i < pl->nchecks && st == MBT_OK; i++) st = mbt_plan_put_check(&out, &pl->checks[i]);
  if (st == MBT_OK) st = mbt_plan_save(&out, m, path);
  mbt_plan_free(&out);
  lk.l_type = F_UNLCK;
  fcntl(fd, F_SETLK, &lk);
  close(fd);
  return st;
}

/* Name the fields of "machine ..." lines that differ. */
static void diff_machine(const char *theirs, const char *ours, char *out, size_t n) {
  static const char *const keys[] = {"cpu=", "family=", "model=", "stepping=", "isa=",
                                     "caches=", "cores=", "threads="};
  out[0] = 0;
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
    const char *a = strstr(theirs, keys[k]), *b = strstr(ours, keys[k]);
    if (!a || !b) continue;
    size_t la = strcspn(a + strlen(keys[k]) + (a[strlen(keys[k])] == '"'),
                        a[strlen(keys[k])] == '"' ? "\"" : " ");
    size_t lb = strcspn(b + strlen(keys[k]) + (b[strlen(keys[k])] == '"'),
                        b[strlen(keys[k])] == '"' ? "\"" : " ");
    const char *va = a + strlen(keys[k]) + (a[strlen(keys[k])] == '"');
    const char *vb = b + strlen(keys[k]) + (b[strlen(keys[k])] == '"');
    if (la != lb || strncmp(va, vb, la) != 0) {
      size_t l = strlen(out);
      snprintf(out + l, n - l, "%s%.*s plan '%.*s' vs this machine '%.*s'", l ? "; " : "",
               (int)strlen(keys[k]) - 1, keys[k], (int)la, va, (int)lb, vb);
    }
  }
}

/* "NAME,NAME..." into c->events. */
static enum mbt_status parse_events(char *s, struct mbt_choice *c) {
  c->nevents = 0;
  for (char *save = NULL, *e = strtok_r(s, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
    if (c->nevents == MBT_PLAN_EVENTS || strlen(e) >= sizeof c->events[0]) return MBT_EPARSE;
    strcpy(c->events[c->nevents++], e);
  }
  return c->nevents ? MBT_OK : MBT_EPARSE;
}

/* The fields of one line after its "key | ": space-separated NAME=VALUE tokens, each read with
 * an end check and a range; errors name the file, the line, the field and the reason. */
struct fields {
  char *s;
  const char *path, *what;
  int line;
};

/* The next token (NULL at the end of the line). */
static char *next_tok(struct fields *f) {
  while (*f->s == ' ') f->s++;
  if (!*f->s) return NULL;
  char *t = f->s;
  f->s += strcspn(f->s, " ");
  if (*f->s) *f->s++ = 0;
  return t;
}

/* The VALUE of the next token, which must be "name=VALUE" (NULL: the error is recorded). */
static char *want(struct fields *f, const char *name) {
  char *t = next_tok(f);
  const size_t n = strlen(name);
  if (t && !strncmp(t, name, n) && t[n] == '=') return t + n + 1;
  mbt_fail(MBT_EPARSE, "%s:%d: malformed %s: '%s=' expected, %s%.40s%s", f->path, f->line,
           f->what, name, t ? "found '" : "the line ends", t ? t : "", t ? "'" : "");
  return NULL;
}

/* A decimal number in [lo, hi] (above lo when @p open), finite, nothing after it. */
static enum mbt_status want_num(struct fields *f, const char *name, double lo, int open,
                                double hi, double *out) {
  const char *v = want(f, name);
  if (!v) return MBT_EPARSE;
  char *end = NULL;
  const double x = *v && !isspace((unsigned char)*v) ? strtod(v, &end) : NAN;
  if (!end || end == v || *end || !isfinite(x) || x < lo || (open && x <= lo) || x > hi)
    return mbt_fail(MBT_EPARSE, "%s:%d: malformed %s: %s=%.40s is not a finite number in "
                    "%s%g, %g]", f->path, f->line, f->what, name, v, open ? "(" : "[", lo, hi);
  *out = x;
  return MBT_OK;
}

static enum mbt_status want_int(struct fields *f, const char *name, int *out) {
  const char *v = want(f, name);
  long long x;
  if (!v) return MBT_EPARSE;
  if (!mbt_plan_int(v, 0, INT_MAX, &x))
    return mbt_fail(MBT_EPARSE, "%s:%d: malformed %s: %s=%.40s is not a count in [0, %d]",
                    f->path, f->line, f->what, name, v, INT_MAX);
  *out = (int)x;
  return MBT_OK;
}

static enum mbt_status want_word(struct fields *f, const char *name, char *buf, size_t n) {
  const char *v = want(f, name);
  if (!v) return MBT_EPARSE;
  if (!*v || strlen(v) >= n)
    return mbt_fail(MBT_EPARSE, "%s:%d: malformed %s: %s= is empty or longer than %zu bytes",
                    f->path, f->line, f->what, name, n - 1);
  memcpy(buf, v, strlen(v) + 1);
  return MBT_OK;
}

/* "fused[rows=N]" must hold a row count of 0..MBT_FUSE_ROWS_MAX, nothing else. */
static enum mbt_status check_variant(const char *v, const char *path, int line) {
  int rows;
  if (mbt_rows_parse(v, &rows) >= 0) return MBT_OK;
  return mbt_fail(MBT_EPARSE, "%s:%d: bad plan entry: variant '%.40s' is not fused[rows=N] with "
                  "N in 0..%d", path, line, v, MBT_FUSE_ROWS_MAX);
}

/* "counts=N,N..." of a candidate: one per event of its entry, each >= 0. */
static enum mbt_status parse_counts(char *s, const struct mbt_choice *c, struct mbt_cand *d,
                                    const char *path, int line) {
  int k = 0;
  for (char *save = NULL, *v = strtok_r(s, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
    long long x;
    if (!mbt_plan_int(v, 0, LLONG_MAX, &x) || k == c->nevents)
      return mbt_fail(MBT_EPARSE, "%s:%d: bad counts (the entry names %d events, each count "
                      "an integer >= 0)", path, line, c->nevents);
    d->counts[k++] = x;
  }
  if (k != c->nevents)
    return mbt_fail(MBT_EPARSE, "%s:%d: %d counts for %d events", path, line, k, c->nevents);
  return MBT_OK;
}

/* A "cand" line: one more candidate of the entry @p c. */
static enum mbt_status parse_cand(char *s, struct mbt_choice *c, const char *path, int line) {
  if (!c) return mbt_fail(MBT_EPARSE, "%s:%d: a 'cand' line before any entry", path, line);
  if (c->ncand == MBT_MAX_CANDS)
    return mbt_fail(MBT_EPARSE, "%s:%d: more than %d candidates for one entry", path, line,
                    MBT_MAX_CANDS);
  struct mbt_cand d;
  memset(&d, 0, sizeof d);
  char *bar = strstr(s, " | ");
  if (!bar || bar == s || (size_t)(bar - s) >= sizeof d.variant)
    return mbt_fail(MBT_EPARSE, "%s:%d: malformed candidate (it lacks 'variant | times')", path,
                    line);
  memcpy(d.variant, s, (size_t)(bar - s));
  enum mbt_status st = check_variant(d.variant, path, line);
  struct fields f = {bar + 3, path, "candidate times", line};
  char out[16] = "";
  if (st == MBT_OK) st = want_num(&f, "ns", 0, 0, MBT_PLAN_NS_MAX, &d.ns);
  if (st == MBT_OK) st = want_num(&f, "spread", 0, 0, MBT_PLAN_SPREAD_MAX, &d.spread);
  if (st == MBT_OK) st = want_num(&f, "alone_ns", 0, 0, MBT_PLAN_NS_MAX, &d.alone_ns);
  if (st == MBT_OK) st = want_num(&f, "bound_ns", 0, 0, MBT_PLAN_NS_MAX, &d.bound_ns);
  if (st == MBT_OK) st = want_word(&f, "out", out, sizeof out);
  if (st != MBT_OK) return st;
  if ((d.out = cand_out_parse(out)) < 0) return mbt_fail(MBT_EPARSE, "%s:%d: unknown candidate outcome '%s'", path, line, out);
  char *rest = next_tok(&f);
  if (rest && !strncmp(rest, "counts=", 7)) st = parse_counts(rest + 7, c, &d, path, line);
  else if (rest) return mbt_fail(MBT_EPARSE, "%s:%d: unknown candidate field '%.40s'", path, line, rest);
  if (st == MBT_OK && (rest = next_tok(&f)))
    return mbt_fail(MBT_EPARSE, "%s:%d: unknown candidate field '%.40s'", path, line, rest);
  if (st == MBT_OK) c->cand[c->ncand++] = d;
  return st;
}

/* The optional fields after an entry's timings: effort=NAME (measure when absent), tie=1 ... */
static enum mbt_status entry_flags(struct fields *f, struct mbt_choice *c) {
  c->effort = MBT_MEASURE;
  for (char *tok; (tok = next_tok(f));) {
    enum mbt_effort ef = MBT_MEASURE; /* set by mbt_effort_parse (GCC 12 for aarch64 warned) */
    if (!strcmp(tok, "tie=1")) c->tie = 1;
    else if (!strcmp(tok, "cold=1")) c->cold = 1;
    else if (!strcmp(tok, "busy=1")) c->busy = 1;
    else if (!strcmp(tok, "fallback=1")) c->fallback = 1;
    else if (!strncmp(tok, "threads=", 8)) {
      /* fewer threads than the key's count */
      struct mbt_problem p;
      long long n, most = mbt_problem_parse(c->key, &p) == MBT_OK ? p.threads - 1 : 0;
      if (most < 1 || !mbt_plan_int(tok + 8, 1, most, &n))
        return mbt_fail(MBT_EPARSE, "%s:%d: '%.40s': an entry's threads= is a count below its "
                        "key's thread count (t=%lld)", f->path, f->line, tok, most + 1);
      c->threads = (int)n;
    }
    else if (!strncmp(tok, "effort=", 7) && mbt_effort_parse(tok + 7, &ef) == MBT_OK) c->effort = ef;
    else if (!strncmp(tok, "events=", 7) && parse_events(tok + 7, c) == MBT_OK) continue;
    else return mbt_fail(MBT_EPARSE, "%s:%d: unknown field '%.40s'", f->path, f->line, tok);
  }
  return MBT_OK;
}

static enum mbt_status parse_entry(char *s, struct mbt_choice *c, const char *path, int line) {
  memset(c, 0, sizeof *c);
  char *bar1 = strstr(s, " | "), *bar2 = bar1 ? strstr(bar1 + 3, " | ") : NULL;
  if (!bar1 || !bar2) return mbt_fail(MBT_EPARSE, "%s:%d: malformed entry (truncated?): it lacks 'key | variant | times'", path, line);
  *bar1 = *bar2 = 0;
  const char *variant = bar1 + 3;
  char ru[96] = "";
  if (strlen(s) >= sizeof c->key || strlen(variant) >= sizeof c->variant || !*s || !*variant)
    return mbt_fail(MBT_EPARSE, "%s:%d: empty or over-long key or variant name", path, line);
  strcpy(c->key, s);
  strcpy(c->variant, variant);
  enum mbt_status st = check_variant(c->variant, path, line);
  struct fields f = {bar2 + 3, path, "timings", line};
  if (st == MBT_OK) st = want_num(&f, "ns", MBT_PLAN_NS_MIN, 0, MBT_PLAN_NS_MAX, &c->ns);
  if (st == MBT_OK) st = want_num(&f, "spread", 0, 0, MBT_PLAN_SPREAD_MAX, &c->spread);
  if (st == MBT_OK) st = want_num(&f, "ref_ns", 0, 0, MBT_PLAN_NS_MAX, &c->ref_ns);
  if (st == MBT_OK) st = want_word(&f, "runner_up", ru, sizeof ru);
  if (st == MBT_OK) st = want_num(&f, "runner_up_ns", 0, 0, MBT_PLAN_NS_MAX, &c->runner_up_ns);
  if (st == MBT_OK && strcmp(ru, "-")) st = check_variant(ru, path, line);
  if (st == MBT_OK) st = entry_flags(&f, c);
  snprintf(c->runner_up, sizeof c->runner_up, "%s", strcmp(ru, "-") ? ru : "");
  return st;
}

/* "busy=N/M" of a check: N of M passes busy. */
static enum mbt_status want_busy(struct fields *f, struct mbt_check *c) {
  char v[48] = "";
  if (want_word(f, "busy", v, sizeof v) != MBT_OK) return MBT_EPARSE;
  char *slash = strchr(v, '/');
  long long n = -1, m = -1;
  if (slash) *slash = 0;
  if (!slash || !mbt_plan_int(v, 0, INT_MAX, &n) || !mbt_plan_int(slash + 1, n, INT_MAX, &m))
    return mbt_fail(MBT_EPARSE, "%s:%d: malformed %s: busy= is not N/M with 0 <= N <= M",
                    f->path, f->line, f->what);
  c->busy_passes = (int)n, c->passes = (int)m;
  return MBT_OK;
}

/* A "check" line: the end-to-end check of one network at one thread count. */
static enum mbt_status parse_check(char *s, struct mbt_plan *pl, const char *path, int line) {
  struct mbt_check c;
  memset(&c, 0, sizeof c);
  char *bar = strstr(s, " | ");
  if (!bar || bar == s || (size_t)(bar - s) >= sizeof c.key)
    return mbt_fail(MBT_EPARSE, "%s:%d: malformed check (it lacks 'net key | times')", path, line);
  memcpy(c.key, s, (size_t)(bar - s));
  char fixed[16] = "", out[16] = "";
  struct fields f = {bar + 3, path, "check figures", line};
  enum mbt_status st = want_num(&f, "tuned_ns", 0, 0, MBT_PLAN_NS_MAX, &c.tuned_ns);
  if (st == MBT_OK) st = want_num(&f, "default_ns", 0, 0, MBT_PLAN_NS_MAX, &c.default_ns);
  if (st == MBT_OK) st = want_word(&f, "fixed", fixed, sizeof fixed);
  if (st == MBT_OK) st = want_num(&f, "fixed_ns", 0, 0, MBT_PLAN_NS_MAX, &c.fixed_ns);
  if (st == MBT_OK) st = want_num(&f, "spread", 0, 0, MBT_PLAN_SPREAD_MAX, &c.spread);
  if (st == MBT_OK) st = want_int(&f, "rounds", &c.rounds);
  if (st == MBT_OK) st = want_int(&f, "fallbacks", &c.fallbacks);
  if (st == MBT_OK) st = want_busy(&f, &c);
  if (st == MBT_OK) st = want_word(&f, "outcome", out, sizeof out);
  if (st != MBT_OK) return st;
  snprintf(c.fixed, sizeof c.fixed, "%s", strcmp(fixed, "-") ? fixed : "");
  c.outcome = -1;
  for (int k = 0; k < 3; k++)
    if (!strcmp(out, check_names[k])) c.outcome = k;
  if (c.outcome < 0) return mbt_fail(MBT_EPARSE, "%s:%d: unknown check outcome '%s'", path, line, out);
  while (*f.s == ' ') f.s++;
  if (!strncmp(f.s, "retaken=", 8)) { /* the timed runs' disturbance (plans before it lack it) */
    if ((st = want_int(&f, "retaken", &c.retaken)) != MBT_OK ||
        (st = want_int(&f, "disturbed", &c.disturbed)) != MBT_OK)
      return st;
  }
  char *rest = next_tok(&f);
  if (rest && !strcmp(rest, "forced=1")) c.busy = 1, rest = next_tok(&f);
  if (rest) return mbt_fail(MBT_EPARSE, "%s:%d: unknown check field '%.40s'", path, line, rest);
  if (mbt_plan_check(pl, c.key))
    return mbt_fail(MBT_EPARSE, "%s:%d: a second check for '%s'", path, line, c.key);
  return mbt_plan_put_check(pl, &c);
}

/* What the loader has read so far. */
struct loading {
  const char *path;
  struct mbt_plan tmp;
  char fp[64], reg[64], mline[512];
  int format, ended, line;
  struct mbt_choice *last; /* the entry "cand" lines belong to */
};

/* A header line's value into @p dst: once, after the format line. */
static enum mbt_status header(struct loading *ld, const char *name, const char *v, char *dst,
                              size_t n) {
  if (dst[0])
    return mbt_fail(MBT_EPARSE, "%s:%d: a second '%s' line", ld->path, ld->line, name);
  if (!*v || strlen(v) >= n)
    return mbt_fail(MBT_EPARSE, "%s:%d: the '%s' line is empty or too long", ld->path, ld->line,
                    name);
  memcpy(dst, v, strlen(v) + 1);
  return MBT_OK;
}

static enum mbt_status parse_format(struct loading *ld, const char *v) {
  long long x;
  if (ld->format)
    return mbt_fail(MBT_EPARSE, "%s:%d: a second 'mobitune-plan' line", ld->path, ld->line);
  if (!mbt_plan_int(v, 1, PLAN_FORMAT, &x))
    return mbt_fail(MBT_EPARSE, "%s:%d: not a mobitune plan of format 1 to %d ('mobitune-plan "
                    "%.20s')", ld->path, ld->line, PLAN_FORMAT, v);
  ld->format = (int)x;
  return MBT_OK;
}

static enum mbt_status parse_new_entry(struct loading *ld, char *s) {
  struct mbt_choice c;
  enum mbt_status st = parse_entry(s, &c, ld->path, ld->line);
  if (st == MBT_OK && mbt_plan_find(&ld->tmp, c.key))
    st = mbt_fail(MBT_EPARSE, "%s:%d: a second entry for '%s'", ld->path, ld->line, c.key);
  if (st == MBT_OK) st = mbt_plan_put(&ld->tmp, &c);
  ld->last = st == MBT_OK ? &ld->tmp.v[ld->tmp.n - 1] : NULL;
  return st;
}

/* One line of the plan (not blank, not a comment). */
static enum mbt_status parse_line(struct loading *ld, char *s) {
  long long x;
  if (ld->ended >= 0) return mbt_fail(MBT_EPARSE, "%s:%d: text after the 'end' line", ld->path, ld->line);
  if (!strncmp(s, "mobitune-plan ", 14)) return parse_format(ld, s + 14);
  static const char *const known[] = {"cand ", "check ", "fingerprint ", "registry ",
                                      "machine ", "end ", "entry "};
  int k = 0;
  while (k < 7 && strncmp(s, known[k], strlen(known[k]))) k++;
  if (k == 7) return mbt_fail(MBT_EPARSE, "%s:%d: unrecognised line '%.40s'", ld->path, ld->line, s);
  if (!ld->format)
    return mbt_fail(MBT_EPARSE, "%s:%d: not a mobitune plan: a '%.12s' line before the "
                    "'mobitune-plan N' line", ld->path, ld->line, s);
  char *v = s + strlen(known[k]);
  switch (k) {
    case 0: return parse_cand(v, ld->last, ld->path, ld->line);
    case 1: return parse_check(v, &ld->tmp, ld->path, ld->line);
    case 2: return header(ld, "fingerprint", v, ld->fp, sizeof ld->fp);
    case 3: return header(ld, "registry", v, ld->reg, sizeof ld->reg);
    case 4: return header(ld, "machine", v, ld->mline, sizeof ld->mline);
    case 5:
      if (!mbt_plan_int(v, 0, INT_MAX, &x))
        return mbt_fail(MBT_EPARSE, "%s:%d: malformed 'end %.20s': not an entry count >= 0",
                        ld->path, ld->line, v);
      ld->ended = (int)x;
      return MBT_OK;
    default: return parse_new_entry(ld, v);
  }
}

/* The lines of @p text (@p len bytes), counted one by one, blank ones included. */
static enum mbt_status parse_text(struct loading *ld, char *text, size_t len) {
  if (strlen(text) != len) {
    const size_t at = strlen(text);
    int line = 1;
    for (size_t i = 0; i < at; i++) line += text[i] == '\n';
    return mbt_fail(MBT_EPARSE, "%s:%d: a NUL byte (at byte %zu): not a plan text", ld->path,
                    line, at);
  }
  enum mbt_status st = MBT_OK;
  for (char *s = text; *s && st == MBT_OK;) {
    char *nl = strchr(s, '\n'), *next = nl ? nl + 1 : s + strlen(s);
    if (nl) *nl = 0;
    const size_t n = strlen(s);
    if (n && s[n - 1] == '\r') s[n - 1] = 0;
    ld->line++;
    if (*s && *s != '#') st = parse_line(ld, s);
    s = next;
  }
  return st;
}

/* The checks after the text: format, count, machine, registry. */
static enum mbt_status check_loaded(struct loading *ld, const struct mbt_machine *m) {
  const char *path = ld->path;
  char ours[384];
  if (!ld->format)
    return mbt_fail(MBT_EPARSE, "%s: not a mobitune plan (no 'mobitune-plan N' line)", path);
  if (ld->ended < 0) return mbt_fail(MBT_EPARSE, "%s: truncated: the 'end' line is missing", path);
  if (ld->ended != ld->tmp.n)
    return mbt_fail(MBT_EPARSE, "%s: truncated: the entry count does not match 'end' (%d "
                    "entries, 'end %d')", path, ld->tmp.n, ld->ended);
  if (!m) { /* shown, not run: any machine's */
    snprintf(ld->tmp.fingerprint, sizeof ld->tmp.fingerprint, "%.16s", ld->fp);
    snprintf(ld->tmp.registry, sizeof ld->tmp.registry, "%.16s", ld->reg);
    return MBT_OK;
  }
  if (strcmp(ld->fp, m->fingerprint) != 0) {
    char diff[512];
    machine_line(m, ours, sizeof ours);
    diff_machine(ld->mline, ours, diff, sizeof diff);
    return mbt_fail(MBT_EMISMATCH, "%s was made on another machine (fingerprint %s, this one is "
                    "%s)%s%s", path, ld->fp, m->fingerprint, diff[0] ? ": " : "", diff);
  }
  if (strcmp(ld->reg, mbt_registry_signature()) != 0)
    return mbt_fail(MBT_EMISMATCH, "%s was made with another kernel registry (signature %s, "
                    "this build is %s): its variant names may not exist here", path, ld->reg,
                    mbt_registry_signature());
  return MBT_OK;
}

enum mbt_status mbt_plan_load(const char *path, const struct mbt_machine *m, struct mbt_plan *pl) {
  mbt_plan_init(pl, m);
  enum mbt_status st;
  size_t len = 0;
  char *text = mbt_read_file(path, &len, &st);
  if (!text) return st;
  struct loading *ld = calloc(1, sizeof *ld);
  if (!ld) {
    free(text);
    return mbt_fail(MBT_ENOMEM, "cannot allocate the plan of %s", path);
  }
  ld->path = path, ld->ended = -1;
  mbt_plan_init(&ld->tmp, m);
  st = parse_text(ld, text, len);
  free(text);
  if (st == MBT_OK) st = check_loaded(ld, m);
  if (st != MBT_OK) mbt_plan_free(&ld->tmp);
  else *pl = ld->tmp;
  free(ld);
  return st;
}
