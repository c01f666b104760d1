/* tuner/plan.c -- plans (FFTW's wisdom): one text line per problem under a header that holds
 * the machine fingerprint and the kernel-registry signature.  Loading is all or nothing: a
 * truncated or corrupt file, or one made for another machine or registry, leaves the plan empty
 * and says exactly why.  Saving writes a temporary file and renames it over the old one.
 *
 *   mobitune-plan 2
 *   fingerprint 3f0c...        machine cpu="AMD EPYC" isa=... caches=... cores=2
 *   registry 9a1b...
 *   entry <key> | <variant> | ns=... spread=... ref_ns=... runner_up=... runner_up_ns=...
 *         effort=measure [tie=1] [cold=1] [events=NAME,NAME...]
 *   cand <variant> | ns=... spread=... alone_ns=... bound_ns=... out=timed|limit|screen|roofline
 *         [counts=N,N...]          (every candidate tried for the entry above; format 2)
 *   check <net key> | tuned_ns=... default_ns=... fixed=FAMILY fixed_ns=... spread=...
 *         rounds=N fallbacks=N busy=N/N outcome=faster|fallback|slower [forced=1]
 *         (the end-to-end check after a tune; format 3)
 *   end <number of entries>
 *
 * Entries may carry busy=1 (measured on a busy machine, tune --force) and fallback=1 (put
 * back to the default choice by the check).  Formats 1 (no cand lines, no events) and 2 (no
 * check lines) still load.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "kernels/kernels.h"
#include "net/net.h"

#define PLAN_FORMAT 3

const char *mbt_act_name(enum mbt_act a) {
  static const char *const names[] = {"linear", "relu6", "hswish", "relu", "hsigmoid"};
  return (unsigned)a < 5 ? names[a] : "?";
}

void mbt_layer_key(const struct mbt_layer *l, char *buf, size_t n) {
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

static const char *const out_names[] = {"timed", "limit", "screen", "roofline"};

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

void mbt_key_threads(const char *key, int threads, char *buf, size_t n) {
  if (threads > 1) snprintf(buf, n, "%.85s t=%d", key, threads);
  else snprintf(buf, n, "%s", key);
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

void mbt_check_key(const struct mbt_model *m, int threads, char *buf, size_t n) {
  char k[64];
  snprintf(k, sizeof k, "net %s alpha=%g res=%d", mbt_net_name(m->kind), m->alpha, m->res);
  mbt_key_threads(k, threads, buf, n);
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
    for (int k = 0; k < c->nevents; k++) fprintf(f, "%s%s", k ? "," : " events=", c->events[k]);
    fputc('\n', f);
    for (int j = 0; j < c->ncand; j++) {
      const struct mbt_cand *d = &c->cand[j];
      fprintf(f, "cand %s | ns=%.1f spread=%.4f alone_ns=%.1f bound_ns=%.1f out=%s", d->variant,
              d->ns, d->spread, d->alone_ns, d->bound_ns,
              out_names[d->out >= 0 && d->out < 4 ? d->out : 0]);
      for (int k = 0; k < c->nevents; k++) fprintf(f, "%s%lld", k ? "," : " counts=", d->counts[k]);
      fputc('\n', f);
    }
  }
  for (int i = 0; i < pl->nchecks; i++) {
    const struct mbt_check *c = &pl->checks[i];
    fprintf(f, "check %s | tuned_ns=%.1f default_ns=%.1f fixed=%s fixed_ns=%.1f spread=%.4f "
            "rounds=%d fallbacks=%d busy=%d/%d outcome=%s%s\n", c->key, c->tuned_ns,
            c->default_ns, c->fixed[0] ? c->fixed : "-", c->fixed_ns, c->spread, c->rounds,
            c->fallbacks, c->busy_passes, c->passes, mbt_check_out_name(c->outcome),
            c->busy ? " forced=1" : "");
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
  snprintf(lpath, sizeof lpath, "%s.lock", path);
  const int fd = open(lpath, O_RDWR | O_CREAT, 0644);
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
  enum mbt_status st = MBT_OK;
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
  char out[16] = "";
  int used = 0;
  if (sscanf(bar + 3, "ns=%lf spread=%lf alone_ns=%lf bound_ns=%lf out=%15s%n", &d.ns, &d.spread,
             &d.alone_ns, &d.bound_ns, out, &used) != 5 || d.ns < 0 || d.alone_ns < 0 ||
      d.bound_ns < 0)
    return mbt_fail(MBT_EPARSE, "%s:%d: malformed candidate times '%s'", path, line, bar + 3);
  d.out = -1;
  for (int k = 0; k < 4; k++)
    if (!strcmp(out, out_names[k])) d.out = k;
  if (d.out < 0) return mbt_fail(MBT_EPARSE, "%s:%d: unknown candidate outcome '%s'", path, line, out);
  char *rest = bar + 3 + used;
  while (*rest == ' ') rest++;
  if (!strncmp(rest, "counts=", 7)) {
    int k = 0;
    for (char *save = NULL, *v = strtok_r(rest + 7, ", \r", &save); v;
         v = strtok_r(NULL, ", \r", &save)) {
      char *end;
      const long long x = strtoll(v, &end, 10);
      if (*end || x < 0 || k == c->nevents)
        return mbt_fail(MBT_EPARSE, "%s:%d: bad counts (the entry names %d events)", path, line,
                        c->nevents);
      d.counts[k++] = x;
    }
    if (k != c->nevents)
      return mbt_fail(MBT_EPARSE, "%s:%d: %d counts for %d events", path, line, k, c->nevents);
  } else if (*rest && *rest != '\r') {
    return mbt_fail(MBT_EPARSE, "%s:%d: unknown candidate field '%s'", path, line, rest);
  }
  c->cand[c->ncand++] = d;
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
  int used = 0;
  if (sscanf(bar2 + 3, "ns=%lf spread=%lf ref_ns=%lf runner_up=%95s runner_up_ns=%lf%n", &c->ns,
             &c->spread, &c->ref_ns, ru, &c->runner_up_ns, &used) != 5 || !(c->ns > 0))
    return mbt_fail(MBT_EPARSE, "%s:%d: malformed timings '%s'", path, line, bar2 + 3);
  /* optional fields: effort=NAME (measure when absent), tie=1 */
  c->effort = MBT_MEASURE;
  char *save = NULL;
  for (char *tok = bar2 + 3 + used; (tok = strtok_r(tok, " \r\n", &save)); tok = NULL) {
    enum mbt_effort ef;
    if (!strcmp(tok, "tie=1")) c->tie = 1;
    else if (!strcmp(tok, "cold=1")) c->cold = 1;
    else if (!strcmp(tok, "busy=1")) c->busy = 1;
    else if (!strcmp(tok, "fallback=1")) c->fallback = 1;
    else if (!strncmp(tok, "effort=", 7) && mbt_effort_parse(tok + 7, &ef) == MBT_OK) c->effort = ef;
    else if (!strncmp(tok, "events=", 7) && parse_events(tok + 7, c) == MBT_OK) continue;
    else return mbt_fail(MBT_EPARSE, "%s:%d: unknown field '%s'", path, line, tok);
  }
  snprintf(c->runner_up, sizeof c->runner_up, "%s", strcmp(ru, "-") ? ru : "");
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
  int used = 0;
  if (sscanf(bar + 3, "tuned_ns=%lf default_ns=%lf fixed=%15s fixed_ns=%lf spread=%lf rounds=%d "
             "fallbacks=%d busy=%d/%d outcome=%15s%n", &c.tuned_ns, &c.default_ns, fixed,
             &c.fixed_ns, &c.spread, &c.rounds, &c.fallbacks, &c.busy_passes, &c.passes, out,
             &used) != 10 || !(c.tuned_ns >= 0 && c.tuned_ns < 1e15) ||
      !(c.default_ns >= 0 && c.default_ns < 1e15) || !(c.fixed_ns >= 0 && c.fixed_ns < 1e15) ||
      !(c.spread >= 0 && c.spread < 1e6) || c.rounds < 0 || c.fallbacks < 0 ||
      c.busy_passes < 0 || c.passes < c.busy_passes)
    return mbt_fail(MBT_EPARSE, "%s:%d: malformed check figures '%s'", path, line, bar + 3);
  snprintf(c.fixed, sizeof c.fixed, "%s", strcmp(fixed, "-") ? fixed : "");
  c.outcome = -1;
  for (int k = 0; k < 3; k++)
    if (!strcmp(out, check_names[k])) c.outcome = k;
  if (c.outcome < 0) return mbt_fail(MBT_EPARSE, "%s:%d: unknown check outcome '%s'", path, line, out);
  const char *rest = bar + 3 + used;
  while (*rest == ' ') rest++;
  if (!strncmp(rest, "forced=1", 8)) c.busy = 1, rest += 8;
  if (*rest && *rest != '\r')
    return mbt_fail(MBT_EPARSE, "%s:%d: unknown check field '%s'", path, line, rest);
  if (mbt_plan_check(pl, c.key))
    return mbt_fail(MBT_EPARSE, "%s:%d: a second check for '%s'", path, line, c.key);
  return mbt_plan_put_check(pl, &c);
}

enum mbt_status mbt_plan_load(const char *path, const struct mbt_machine *m, struct mbt_plan *pl) {
  mbt_plan_init(pl, m);
  enum mbt_status st;
  char *text = mbt_read_file(path, NULL, &st);
  if (!text) return st;
  struct mbt_plan tmp;
  mbt_plan_init(&tmp, m);
  char fp[64] = "", reg[64] = "", mline[512] = "", ours[384];
  int format = 0, ended = -1, line = 0;
  struct mbt_choice *last = NULL; /* the entry "cand" lines belong to */
  st = MBT_OK;
  for (char *save = NULL, *s = strtok_r(text, "\n", &save); s && st == MBT_OK;
       s = strtok_r(NULL, "\n", &save)) {
    line++;
    if (ended >= 0) st = mbt_fail(MBT_EPARSE, "%s:%d: text after the 'end' line", path, line);
    else if (s[0] == '#') continue;
    else if (strncmp(s, "mobitune-plan ", 14) == 0) format = atoi(s + 14);
    else if (strncmp(s, "cand ", 5) == 0) st = parse_cand(s + 5, last, path, line);
    else if (strncmp(s, "check ", 6) == 0) st = parse_check(s + 6, &tmp, path, line);
    else if (strncmp(s, "fingerprint ", 12) == 0) snprintf(fp, sizeof fp, "%s", s + 12);
    else if (strncmp(s, "registry ", 9) == 0) snprintf(reg, sizeof reg, "%s", s + 9);
    else if (strncmp(s, "machine ", 8) == 0) snprintf(mline, sizeof mline, "%s", s + 8);
    else if (strncmp(s, "end ", 4) == 0) ended = atoi(s + 4);
    else if (strncmp(s, "entry ", 6) == 0) {
      struct mbt_choice c;
      st = parse_entry(s + 6, &c, path, line);
      if (st == MBT_OK) st = mbt_plan_put(&tmp, &c);
      last = st == MBT_OK ? (struct mbt_choice *)mbt_plan_find(&tmp, c.key) : NULL;
    } else {
      st = mbt_fail(MBT_EPARSE, "%s:%d: unrecognised line '%.40s'", path, line, s);
    }
  }
  free(text);
  if (st == MBT_OK && (format < 1 || format > PLAN_FORMAT))
    st = mbt_fail(MBT_EPARSE, "%s: not a mobitune plan of format 1 to %d (found %d)", path,
                  PLAN_FORMAT, format);
  else if (st == MBT_OK && ended != tmp.n)
    st = mbt_fail(MBT_EPARSE, "%s: truncated: %s", path,
                  ended < 0 ? "the 'end' line is missing" : "the entry count does not match 'end'");
  else if (st == MBT_OK && strcmp(fp, m->fingerprint) != 0) {
    char diff[512];
    machine_line(m, ours, sizeof ours);
    diff_machine(mline, ours, diff, sizeof diff);
    st = mbt_fail(MBT_EMISMATCH, "%s was made on another machine (fingerprint %s, this one is "
                  "%s)%s%s", path, fp, m->fingerprint, diff[0] ? ": " : "", diff);
  } else if (st == MBT_OK && strcmp(reg, mbt_registry_signature()) != 0)
    st = mbt_fail(MBT_EMISMATCH, "%s was made with another kernel registry (signature %s, this "
                  "build is %s): its variant names may not exist here", path, reg,
                  mbt_registry_signature());
  if (st != MBT_OK) {
    mbt_plan_free(&tmp);
    return st;
  }
  *pl = tmp;
  return MBT_OK;
}
