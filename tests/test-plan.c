/* tests/test-plan.c -- plans: write/read round trip, rejection of another machine's plan, of a
 * truncated or corrupt plan and of another registry's plan, each with the right message;
 * atomic writes leave no temporary file; several processes storing into one plan at once
 * lose nothing (lock + merge); nothing here times anything. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/mobitune.h"
#include "net/net.h"
#include "plan/plan.h"
#include "tests/tap.h"

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  static char buf[1 << 16];
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  return buf;
}

/* Save @p pl at @p path, replace the first @p from of its text with @p to, and load it back:
 * the status (MBT_EINVAL when @p from is not in the text). */
static enum mbt_status edited(const struct mbt_plan *pl, const struct mbt_machine *m,
                              const char *path, const char *from, const char *to) {
  struct mbt_plan back;
  mbt_plan_save(pl, m, path);
  char *text = strdup(slurp(path)), *at = strstr(text, from);
  if (!at) {
    free(text);
    return MBT_EINVAL;
  }
  char *out = malloc(strlen(text) + strlen(to) + 1);
  sprintf(out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
  write_text(path, out);
  free(out);
  free(text);
  enum mbt_status st = mbt_plan_load(path, m, &back);
  if (st == MBT_OK) mbt_plan_free(&back);
  return st;
}

/* 1 when the last error holds every one of the NULL-ended strings. */
static int says(const char *first, ...) {
  va_list ap;
  va_start(ap, first);
  int all = 1;
  for (const char *w = first; w; w = va_arg(ap, const char *)) all &= strstr(mbt_last_error(), w) != NULL;
  va_end(ap);
  return all;
}

/* Hostile plans (issue 15): every malformed number, junk after it, a NUL byte, duplicates, the
 * line number after blank lines, out-of-range fusion rows; each refused, naming the line and
 * the field. */
static void hostile(const struct mbt_plan *pl, const struct mbt_machine *m,
                    const struct mbt_model *model, const char *path) {
  char from[256], line1[32];
  /* the first entry's timings, as saved: "ns=1000.5 spread=0.0000 " */
  snprintf(from, sizeof from, "| ns=%.1f spread=", pl->v[0].ns);
  mbt_plan_save(pl, m, path);
  const char *text = slurp(path), *at = strstr(text, from);
  int line = 1;
  for (const char *q = text; at && q < at; q++) line += *q == '\n';
  snprintf(line1, sizeof line1, "plan.txt:%d:", line);
  static const struct { const char *ns, *why; } bad_ns[] = {
      {"inf", "ns=inf"}, {"nan", "ns=nan"}, {"-1", "ns=-1"}, {"1e308", "ns=1e308"},
      {"2xyz", "ns=2xyz"}, {"0", "ns=0"}, {"", "ns="}, {"0x1p1024", "ns=0x1p1024"},
      {"0.04", "ns=0.04"}, /* below what the file keeps: it would be written back as 0.0 */
  };
  for (size_t k = 0; k < sizeof bad_ns / sizeof bad_ns[0]; k++) {
    char to[64];
    snprintf(to, sizeof to, "| ns=%s spread=", bad_ns[k].ns);
    const enum mbt_status st = edited(pl, m, path, from, to);
    ok(st == MBT_EPARSE && says(line1, bad_ns[k].why, "finite number in [0.05, 1e+12]", NULL),
       "entry ns=%s refused, naming the line and the field: %s", bad_ns[k].ns, mbt_last_error());
  }
  enum mbt_status st = edited(pl, m, path, "spread=0.0000 ref_ns=", "spread=1e9 ref_ns=");
  ok(st == MBT_EPARSE && says(line1, "spread=1e9", NULL), "spread 1e9 refused: %s", mbt_last_error());
  st = edited(pl, m, path, " ref_ns=5000.0 ", " ref_ns=5000.0x ");
  ok(st == MBT_EPARSE && says(line1, "ref_ns=5000.0x", NULL), "junk after ref_ns: %s", mbt_last_error());
  st = edited(pl, m, path, " effort=measure", " effort=measure1");
  ok(st == MBT_EPARSE && says("unknown field", NULL), "junk after a word: %s", mbt_last_error());

  char end[32];
  snprintf(end, sizeof end, "end %d\n", pl->n);
  st = edited(pl, m, path, end, "end 1junk\n");
  ok(st == MBT_EPARSE && says("'end 1junk'", "not an entry count", NULL), "end 1junk: %s", mbt_last_error());
  st = edited(pl, m, path, end, "end -1\n");
  ok(st == MBT_EPARSE && says("'end -1'", NULL), "end -1: %s", mbt_last_error());
  snprintf(end + strlen(end), sizeof end - strlen(end), "%s", "");
  st = edited(pl, m, path, end, "end 99999999999999999999\n");
  ok(st == MBT_EPARSE && says("not an entry count", NULL), "end beyond INT_MAX: %s", mbt_last_error());
  st = edited(pl, m, path, "mobitune-plan 3\n", "mobitune-plan 3xyz\n");
  ok(st == MBT_EPARSE && says("plan.txt:2:", "mobitune-plan 3xyz", NULL), "format 3xyz: %s", mbt_last_error());
  st = edited(pl, m, path, "mobitune-plan 3\n", "mobitune-plan 3\nmobitune-plan 3\n");
  ok(st == MBT_EPARSE && says("a second 'mobitune-plan' line", NULL), "two format lines: %s", mbt_last_error());
  st = edited(pl, m, path, "mobitune-plan 3\n", "");
  ok(st == MBT_EPARSE && says("before the 'mobitune-plan N' line", NULL), "no format line: %s", mbt_last_error());

  /* a duplicate entry: the first entry line twice */
  mbt_plan_save(pl, m, path);
  char *t = strdup(slurp(path)), *e0 = strstr(t, "\nentry ") + 1, *eol = strchr(e0, '\n') + 1;
  char *dup = malloc(strlen(t) + (size_t)(eol - e0) + 1);
  sprintf(dup, "%.*s%.*s%s", (int)(eol - t), t, (int)(eol - e0), e0, eol);
  write_text(path, dup);
  struct mbt_plan back;
  st = mbt_plan_load(path, m, &back);
  ok(st == MBT_EPARSE && says("a second entry for", pl->v[0].key, NULL), "duplicate entry: %s",
     mbt_last_error());
  /* a NUL byte in the middle: the load used to stop there, silently */
  FILE *f = fopen(path, "wb");
  fwrite(t, 1, strlen(t) / 2, f);
  fputc(0, f);
  fputs(t + strlen(t) / 2 + 1, f);
  fclose(f);
  st = mbt_plan_load(path, m, &back);
  ok(st == MBT_EPARSE && says("NUL byte", "plan.txt:", NULL), "a NUL byte mid-file: %s", mbt_last_error());
  free(dup);
  free(t);
  /* blank lines are lines: an error after two of them names the right line */
  char to[300], want[32];
  snprintf(to, sizeof to, "\n\nentry %s | x | ns=oops", pl->v[0].key);
  snprintf(from, sizeof from, "entry %s | %s | ns=%.1f", pl->v[0].key, pl->v[0].variant, pl->v[0].ns);
  snprintf(want, sizeof want, "plan.txt:%d:", line + 2);
  st = edited(pl, m, path, from, to);
  ok(st == MBT_EPARSE && says(want, "ns=oops", NULL), "line number after two blank lines (%s): %s",
     want, mbt_last_error());

  /* fused[rows=N]: N in 0..64, refused by name as a bad plan entry */
  static const char *const rows[] = {"2147483647", "100000000", "65", "-1", "4x", ""};
  for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
    snprintf(from, sizeof from, "| %s |", pl->v[0].variant);
    snprintf(to, sizeof to, "| fused[rows=%s] |", rows[k]);
    st = edited(pl, m, path, from, to);
    ok(st == MBT_EPARSE && says("bad plan entry", "fused[rows=", "0..64", line1, NULL),
       "fused[rows=%s] refused: %s", rows[k], mbt_last_error());
  }
  st = edited(pl, m, path, from, "| fused[rows=64] |");
  ok(st == MBT_OK, "fused[rows=64] loads: %s", st == MBT_OK ? "ok" : mbt_last_error());

  /* a plan in memory with 1e308 timings: saved whole (streamed), refused on load by name */
  struct mbt_plan big;
  mbt_plan_init(&big, m);
  for (int i = 0; i < pl->n; i++) {
    struct mbt_choice c = pl->v[i];
    c.ns = c.ref_ns = c.runner_up_ns = 1e308;
    mbt_plan_put(&big, &c);
  }
  st = mbt_plan_save(&big, m, path);
  const size_t bytes = strlen(slurp(path));
  ok(st == MBT_OK && bytes > (size_t)pl->n * 900, "a plan of 1e308 timings is saved whole (%zu "
     "bytes)", bytes);
  st = mbt_plan_load(path, m, &back);
  ok(st == MBT_EPARSE && says("ns=1000000", "not a finite number", NULL),
     "and refused on load, naming the field: %.120s", mbt_last_error());
  mbt_plan_free(&big);

  /* the engine: a plan entry fused[rows=100000000] made in memory is a bad plan entry, not a
   * failed allocation; rows over 64 are refused by mbt_engine_fuse */
  int pair = -1;
  for (int i = 0; i + 1 < model->nlayers && pair < 0; i++)
    if (mbt_pair_fusable(model, i)) pair = i;
  struct mbt_plan fp;
  mbt_plan_init(&fp, m);
  struct mbt_choice c = {0};
  mbt_pair_key(&model->layers[pair], &model->layers[pair + 1], c.key, sizeof c.key);
  snprintf(c.variant, sizeof c.variant, "fused[rows=100000000]");
  c.ns = 1;
  mbt_plan_put(&fp, &c);
  mbt_engine_t e = NULL;
  st = mbt_engine_create(model, &fp, NULL, 1, &e);
  ok(st == MBT_EPARSE && says("bad plan entry", "fused[rows=100000000]", NULL) && !e,
     "engine: fused[rows=100000000] is a bad plan entry: %s", mbt_last_error());
  mbt_engine_destroy(e);
  snprintf(fp.v[0].variant, sizeof fp.v[0].variant, "fused[rows=2]");
  st = mbt_engine_create(model, &fp, NULL, 1, &e);
  ok(st == MBT_OK, "engine: fused[rows=2] runs: %s", st == MBT_OK ? "ok" : mbt_last_error());
  st = e ? mbt_engine_fuse(e, pair, 2147483647) : MBT_OK;
  ok(st == MBT_EINVAL && says("at most 64", NULL), "mbt_engine_fuse refuses 2147483647 rows: %s",
     mbt_last_error());
  st = e ? mbt_engine_fuse(e, pair, 100000000) : MBT_OK;
  ok(st == MBT_EINVAL, "mbt_engine_fuse refuses 100000000 rows");
  mbt_engine_destroy(e);
  mbt_plan_free(&fp);
}

int main(void) {
  char dir[] = "/tmp/mbt-test-plan-XXXXXX", path[256], tmp[300];
  if (!mkdtemp(dir)) skip_all("cannot create a temporary directory");
  snprintf(path, sizeof path, "%s/plan.txt", dir);
  struct mbt_machine m;
  mbt_machine_detect(&m);
  struct mbt_plan pl, back;
  mbt_plan_init(&pl, &m);
  struct mbt_model model;
  mbt_model_build(MBT_NET_V2, 0.5, 96, &model);
  for (int i = 0; i < model.nlayers; i++) {
    struct mbt_choice c = {0};
    mbt_layer_key(&model.layers[i], c.key, sizeof c.key);
    snprintf(c.variant, sizeof c.variant, "direct/variant_%d", i);
    c.ns = 1000.5 + i, c.spread = 0.01 * i, c.ref_ns = 5000 + i;
    if (i % 2) snprintf(c.runner_up, sizeof c.runner_up, "ref/x"), c.runner_up_ns = 2000 + i;
    c.tie = i % 3 == 0, c.effort = MBT_MEASURE;
    mbt_plan_put(&pl, &c);
  }
  ok(pl.n > 10 && pl.n < model.nlayers, "distinct problem keys: %d of %d layers", pl.n, model.nlayers);
  ok(mbt_plan_save(&pl, &m, path) == MBT_OK, "save");
  DIR *dd = opendir(dir);
  int tmps = 0;
  for (struct dirent *de; dd && (de = readdir(dd));) tmps += strstr(de->d_name, ".tmp.") != NULL;
  if (dd) closedir(dd);
  ok(dd && tmps == 0, "no temporary file left behind (%d)", tmps);
  ok(mbt_plan_load(path, &m, &back) == MBT_OK, "load: %s", mbt_last_error());
  int same = back.n == pl.n;
  for (int i = 0; same && i < pl.n; i++) {
    const struct mbt_choice *c = mbt_plan_find(&back, pl.v[i].key);
    same = c && !strcmp(c->variant, pl.v[i].variant) && c->ns == pl.v[i].ns &&
           !strcmp(c->runner_up, pl.v[i].runner_up) && c->ref_ns == pl.v[i].ref_ns &&
           c->tie == pl.v[i].tie;
  }
  ok(same, "round trip keeps every entry (%d)", back.n);
  mbt_plan_free(&back);

  /* Another machine: same file format, different identity. */
  struct mbt_machine other = m;
  snprintf(other.model, sizeof other.model, "Imaginary CPU 9000");
  other.cores = m.cores + 2;
  snprintf(other.fingerprint, sizeof other.fingerprint, "0123456789abcdef");
  struct mbt_plan op;
  mbt_plan_init(&op, &other);
  mbt_plan_put(&op, &pl.v[0]);
  mbt_plan_save(&op, &other, path);
  enum mbt_status st = mbt_plan_load(path, &m, &back);
  ok(st == MBT_EMISMATCH && strstr(mbt_last_error(), "another machine") &&
     strstr(mbt_last_error(), "Imaginary CPU 9000") && strstr(mbt_last_error(), "cores"),
     "another machine's plan is rejected, naming what differs: %s", mbt_last_error());
  ok(back.n == 0, "a rejected plan leaves the plan empty");
  mbt_plan_free(&op);

  /* Truncated: the same plan cut before its end line, and cut mid-line. */
  mbt_plan_save(&pl, &m, path);
  char *text = strdup(slurp(path));
  char *end = strstr(text, "end ");
  *end = 0;
  write_text(path, text);
  st = mbt_plan_load(path, &m, &back);
  ok(st == MBT_EPARSE && strstr(mbt_last_error(), "truncated"), "plan without its end line: %s",
     mbt_last_error());
  text[strlen(text) / 2] = 0;
  write_text(path, text);
  st = mbt_plan_load(path, &m, &back);
  ok(st == MBT_EPARSE, "plan cut mid-line: %s", mbt_last_error());
  free(text);

  write_text(path, "\x7f" "ELF garbage\n\n\x01\x02");
  st = mbt_plan_load(path, &m, &back);
  ok(st == MBT_EPARSE && strstr(mbt_last_error(), "unrecognised"), "garbage: %s", mbt_last_error());
  write_text(path, "");
  st = mbt_plan_load(path, &m, &back);
  ok(st == MBT_EPARSE, "empty file: %s", mbt_last_error());

  /* Another kernel registry. */
  mbt_plan_save(&pl, &m, path);
  text = strdup(slurp(path));
  char *reg = strstr(text, "registry ") + 9;
  reg[0] = reg[0] == '0' ? '1' : '0';
  write_text(path, text);
  free(text);
  st = mbt_plan_load(path, &m, &back);
  ok(st == MBT_EMISMATCH && strstr(mbt_last_error(), "registry"), "another registry: %s",
     mbt_last_error());

  /* The effort is kept; an unknown field fails the load. */
  pl.v[0].effort = MBT_PATIENT;
  mbt_plan_save(&pl, &m, path);
  st = mbt_plan_load(path, &m, &back);
  ok(st == MBT_OK && mbt_plan_find(&back, pl.v[0].key)->effort == MBT_PATIENT &&
     mbt_plan_find(&back, pl.v[1].key)->effort == MBT_MEASURE, "effort round trip");
  if (st == MBT_OK) mbt_plan_free(&back);
  text = strdup(slurp(path));
  char *ef = strstr(text, " effort=patient");
  if (ef) memcpy(ef, " frobnic=patient", 16);
  write_text(path, text);
  free(text);
  st = mbt_plan_load(path, &m, &back);
  ok(st == MBT_EPARSE && strstr(mbt_last_error(), "unknown field"), "unknown field: %s",
     mbt_last_error());
  pl.v[0].effort = MBT_MEASURE;

  /* Candidates with counts round trip; a broken candidate line fails the load, naming it. */
  pl.v[1].nevents = 2;
  snprintf(pl.v[1].events[0], sizeof pl.v[1].events[0], "perf::TASK-CLOCK");
  snprintf(pl.v[1].events[1], sizeof pl.v[1].events[1], "PAPI_TOT_INS");
  for (int j = 0; j < 5; j++) {
    struct mbt_cand *d = &pl.v[1].cand[pl.v[1].ncand++];
    snprintf(d->variant, sizeof d->variant, "tiled/cand_%d[mc=%d]", j, 24 * j);
    d->ns = j == 4 ? 0 : 1000 + 10 * j, d->spread = 0.25 * j, d->alone_ns = j == 3 ? 0 : 900 + j;
    d->bound_ns = 300.5, d->out = j == 4 ? MBT_CAND_ROOFLINE : j == 3 ? MBT_CAND_LIMIT : 0;
    d->counts[0] = 1000000 + j, d->counts[1] = 1LL << 40;
  }
  snprintf(pl.v[2].cand[0].variant, sizeof pl.v[2].cand[0].variant, "fused[rows=4]");
  pl.v[2].cand[0].ns = 77, pl.v[2].ncand = 1; /* no events: no counts */
  mbt_plan_save(&pl, &m, path);
  st = mbt_plan_load(path, &m, &back);
  const struct mbt_choice *bc = st == MBT_OK ? mbt_plan_find(&back, pl.v[1].key) : NULL;
  same = bc && bc->nevents == 2 && !strcmp(bc->events[0], "perf::TASK-CLOCK") &&
         !strcmp(bc->events[1], "PAPI_TOT_INS") && bc->ncand == 5 &&
         mbt_plan_find(&back, pl.v[2].key)->ncand == 1 && mbt_plan_find(&back, pl.v[0].key)->ncand == 0;
  for (int j = 0; same && j < 5; j++) {
    const struct mbt_cand *a = &pl.v[1].cand[j], *b = &bc->cand[j];
    same = !strcmp(a->variant, b->variant) && a->ns == b->ns && a->spread == b->spread &&
           a->alone_ns == b->alone_ns && a->bound_ns == b->bound_ns && a->out == b->out &&
           a->counts[0] == b->counts[0] && a->counts[1] == b->counts[1];
  }
  ok(same, "candidates, their outcomes and counts round trip (%d on the entry)", bc ? bc->ncand : -1);
  if (st == MBT_OK) mbt_plan_free(&back);
  static const struct {
    const char *from, *to, *why;
  } bad_cand[] = {
      {"out=limit", "out=lost", "unknown candidate outcome"},
      {"counts=1000003,", "counts=1000003,7,", "counts"},
      {",1099511627776\ncand tiled/cand_4", "\ncand tiled/cand_4", "1 counts for 2 events"},
      {"alone_ns=901.0", "alone_ns=-901", "malformed candidate"},
      {"cand fused[rows=4] | ns=77.0", "cand fused[rows=4]  ns=77.0", "malformed candidate"},
      {"bound_ns=0.0 out=timed\n", "bound_ns=0.0 out=timed extra=1\n", "unknown candidate field"},
  };
  for (size_t k = 0; k < sizeof bad_cand / sizeof bad_cand[0]; k++) {
    text = strdup(slurp(path));
    char *at = strstr(text, bad_cand[k].from), *fixed = malloc(strlen(text) + 64);
    if (at) {
      sprintf(fixed, "%.*s%s%s", (int)(at - text), text, bad_cand[k].to, at + strlen(bad_cand[k].from));
      write_text(path, fixed);
    }
    st = mbt_plan_load(path, &m, &back);
    ok(at && st == MBT_EPARSE && strstr(mbt_last_error(), bad_cand[k].why),
       "broken candidate line (%s): %s", bad_cand[k].why, mbt_last_error());
    free(fixed);
    free(text);
    mbt_plan_save(&pl, &m, path);
  }
  /* A format-1 plan (before candidates were kept) still loads. */
  text = strdup(slurp(path));
  char *one = strstr(text, "mobitune-plan 3");
  if (one) one[14] = '1';
  char *c1 = strstr(text, "\ncand ");
  while (c1) { /* drop the candidate lines and the events */
    char *eol = strchr(c1 + 1, '\n');
    memmove(c1, eol, strlen(eol) + 1);
    c1 = strstr(text, "\ncand ");
  }
  char *evs = strstr(text, " events=");
  if (evs) memmove(evs, strchr(evs, '\n'), strlen(strchr(evs, '\n')) + 1);
  write_text(path, text);
  free(text);
  st = mbt_plan_load(path, &m, &back);
  ok(one && st == MBT_OK && back.n == pl.n && mbt_plan_find(&back, pl.v[1].key)->ncand == 0,
     "a format-1 plan loads: %s", st == MBT_OK ? "ok" : mbt_last_error());
  if (st == MBT_OK) mbt_plan_free(&back);
  pl.v[1].ncand = pl.v[1].nevents = pl.v[2].ncand = 0;

  /* A malformed timing field. */
  mbt_plan_save(&pl, &m, path);
  text = strdup(slurp(path));
  char *ns = strstr(text, "ns=");
  ns[3] = 'x';
  write_text(path, text);
  free(text);
  st = mbt_plan_load(path, &m, &back);
  ok(st == MBT_EPARSE && strstr(mbt_last_error(), "malformed"), "malformed timing: %s",
     mbt_last_error());

  /* The end-to-end check and the busy / fallback marks round-trip; a broken check line is
   * refused with its line number; a store keeps the caller's check and the store's others. */
  {
    struct mbt_plan ck;
    mbt_plan_init(&ck, &m);
    for (int i = 0; i < pl.n; i++) mbt_plan_put(&ck, &pl.v[i]);
    ck.v[0].busy = 1, ck.v[1].fallback = 1;
    struct mbt_check k1 = {0};
    mbt_check_key(&model, 2, k1.key, sizeof k1.key);
    k1.tuned_ns = 5.1e6, k1.default_ns = 5.4e6, k1.fixed_ns = 5.3e6, k1.spread = 0.012;
    snprintf(k1.fixed, sizeof k1.fixed, "avx2");
    k1.rounds = 15, k1.fallbacks = 2, k1.busy_passes = 3, k1.passes = 9;
    k1.outcome = MBT_CHECK_FALLBACK, k1.busy = 1, k1.retaken = 4, k1.disturbed = 1;
    mbt_plan_put_check(&ck, &k1);
    mbt_plan_save(&ck, &m, path);
    st = mbt_plan_load(path, &m, &back);
    const struct mbt_check *g = st == MBT_OK ? mbt_plan_check(&back, k1.key) : NULL;
    ok(g && g->tuned_ns == k1.tuned_ns && g->default_ns == k1.default_ns &&
       g->fixed_ns == k1.fixed_ns && !strcmp(g->fixed, "avx2") && g->rounds == 15 &&
       g->fallbacks == 2 && g->busy_passes == 3 && g->passes == 9 &&
       g->outcome == MBT_CHECK_FALLBACK && g->busy == 1 && g->retaken == 4 && g->disturbed == 1 &&
       back.v[0].busy && !back.v[0].fallback &&
       back.v[1].fallback && !back.v[1].busy, "check '%s' and the busy and fallback marks round-trip",
       k1.key);
    ok(!strcmp(k1.key, "net v2 alpha=0.5 res=96 t=2"), "check key: %s", k1.key);
    if (st == MBT_OK) mbt_plan_free(&back);
    static const struct { const char *from, *to, *why; } bad_check[] = {
        {"outcome=fallback", "outcome=maybe", "unknown check outcome"},
        {"busy=3/9", "busy=10/9", "malformed check figures"},
        {"tuned_ns=", "tuned_ns=-", "malformed check figures"},
        {" forced=1", " forced=1 x=2", "unknown check field"},
        {"disturbed=1", "disturbed=-1", "malformed check figures"},
        {" disturbed=1", "", "malformed check figures"},
    };
    for (size_t b = 0; b < sizeof bad_check / sizeof bad_check[0]; b++) {
      mbt_plan_save(&ck, &m, path);
      char *t0 = strdup(slurp(path)), *fixed = malloc(strlen(t0) + 64);
      char *at = strstr(t0, bad_check[b].from);
      if (at) {
        sprintf(fixed, "%.*s%s%s", (int)(at - t0), t0, bad_check[b].to, at + strlen(bad_check[b].from));
        write_text(path, fixed);
      }
      st = mbt_plan_load(path, &m, &back);
      ok(at && st == MBT_EPARSE && strstr(mbt_last_error(), bad_check[b].why) &&
         strstr(mbt_last_error(), "plan.txt:"), "broken check line (%s): %s", bad_check[b].why,
         mbt_last_error());
      free(fixed);
      free(t0);
    }
    mbt_plan_save(&ck, &m, path);
    struct mbt_plan other;
    mbt_plan_init(&other, &m);
    struct mbt_check k2 = k1;
    mbt_check_key(&model, 1, k2.key, sizeof k2.key);
    k2.outcome = MBT_CHECK_FASTER, k2.busy = 0;
    k1.tuned_ns = 4.9e6;
    mbt_plan_put_check(&other, &k2);
    mbt_plan_put_check(&other, &k1);
    mbt_plan_store(&other, &m, path, 0);
    st = mbt_plan_load(path, &m, &back);
    ok(st == MBT_OK && back.nchecks == 2 && back.n == pl.n &&
       mbt_plan_check(&back, k1.key)->tuned_ns == 4.9e6 &&
       mbt_plan_check(&back, k2.key)->outcome == MBT_CHECK_FASTER,
       "a store merges checks: %d kept", st == MBT_OK ? back.nchecks : -1);
    if (st == MBT_OK) mbt_plan_free(&back);
    mbt_plan_free(&other);
    mbt_plan_free(&ck);
  }

  hostile(&pl, &m, &model, path);

  /* A thread count per entry (tune --threads N: a group that ran faster on fewer threads):
   * threads=K round-trips on a key of t > K threads; K >= t, 0, junk, or any count on a
   * one-thread key is refused, naming the line and the key's count. */
  {
    struct mbt_plan tp;
    mbt_plan_init(&tp, &m);
    struct mbt_problem p;
    struct mbt_choice c = pl.v[0];
    mbt_problem_layer(&model.layers[0], 4, &p);
    mbt_problem_key(&p, c.key, sizeof c.key);
    c.threads = 2;
    mbt_plan_put(&tp, &c);
    mbt_plan_put(&tp, &pl.v[1]); /* a one-thread key: no threads= */
    mbt_plan_save(&tp, &m, path);
    st = mbt_plan_load(path, &m, &back);
    const struct mbt_choice *g = st == MBT_OK ? mbt_plan_find(&back, c.key) : NULL;
    const struct mbt_choice *g1 = st == MBT_OK ? mbt_plan_find(&back, pl.v[1].key) : NULL;
    ok(g && g->threads == 2 && g1 && g1->threads == 0 && strstr(slurp(path), " threads=2\n") &&
       !strstr(slurp(path), " threads=0"), "threads=2 round-trips on '%s'", c.key);
    if (st == MBT_OK) mbt_plan_free(&back);
    mbt_engine_t e = NULL; /* an engine on 4 threads runs that layer on 2 */
    st = mbt_engine_create(&model, NULL, NULL, 1, &e);
    if (st == MBT_OK) mbt_engine_set_threads(e, 4), st = mbt_engine_apply_plan(e, &tp);
    ok(st == MBT_OK && mbt_engine_group_threads(e, 0) == 2 && mbt_engine_group_threads(e, 1) == 4,
       "an engine on 4 threads runs the layer of a threads=2 entry on 2, the others on 4");
    mbt_engine_destroy(e);
    static const char *const bad[] = {"threads=4", "threads=0", "threads=x", "threads=-1",
                                      "threads=99999999999", "threads=2x"};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
      char to[64]; /* the entry's field (the machine line has a threads= of its own) */
      snprintf(to, sizeof to, "effort=measure tie=1 %s\n", bad[b]);
      st = edited(&tp, &m, path, "effort=measure tie=1 threads=2\n", to);
      ok(st == MBT_EPARSE && says("plan.txt:6:", bad[b], "(t=4)", NULL),
         "entry %s refused: %s", bad[b], mbt_last_error());
    }
    tp.v[0] = pl.v[1], tp.v[0].threads = 1, tp.n = 1; /* a one-thread key */
    st = mbt_plan_save(&tp, &m, path) == MBT_OK ? mbt_plan_load(path, &m, &back) : MBT_EIO;
    ok(st == MBT_EPARSE && says("threads=1", "(t=1)", NULL),
       "threads= on a one-thread key refused: %s", mbt_last_error());
    if (st == MBT_OK) mbt_plan_free(&back);
    mbt_plan_free(&tp);
  }

  /* Two tuners storing at once: 8 processes each store 20 entries of their own, 10 times
   * over, into one store; with the lock and the merge every entry of every process is kept
   * (without them, each writer would overwrite the others'). */
  unlink(path);
  enum { PROCS = 8, EACH = 20 };
  /* (under an emulator -- MBT_RUNNER set: qemu-user -- fork in a process with threads can
   * hang, so the concurrency checks are skipped there with that reason) */
  const char *runner = getenv("MBT_RUNNER");
  const int emulated = runner && *runner;
  for (int p = 0; p < PROCS && !emulated; p++) {
    const pid_t pid = fork();
    if (pid == 0) {
      struct mbt_plan mine;
      mbt_plan_init(&mine, &m);
      for (int round = 0; round < 10; round++) {
        for (int e = 0; e < EACH; e++) {
          struct mbt_choice c = {0};
          snprintf(c.key, sizeof c.key, "test p=%d e=%d", p, e);
          snprintf(c.variant, sizeof c.variant, "ref/mbt_f32_pwconv_ref");
          c.ns = 1000 + round;
          mbt_plan_put(&mine, &c);
        }
        if (mbt_plan_store(&mine, &m, path, 0) != MBT_OK) _exit(1);
      }
      _exit(0);
    }
  }
  int all_ok = 1;
  for (int p = 0; p < PROCS && !emulated; p++) {
    int status = 0;
    if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) all_ok = 0;
  }
  if (emulated) {
    skip("8 processes storing into one plan at once", "fork under an emulator (qemu-user)");
    /* the merge rules below need the store the processes would have written */
    struct mbt_plan seed;
    mbt_plan_init(&seed, &m);
    for (int p = 0; p < PROCS; p++)
      for (int e = 0; e < EACH; e++) {
        struct mbt_choice c = {0};
        snprintf(c.key, sizeof c.key, "test p=%d e=%d", p, e);
        snprintf(c.variant, sizeof c.variant, "ref/mbt_f32_pwconv_ref");
        c.ns = 1009;
        mbt_plan_put(&seed, &c);
      }
    mbt_plan_store(&seed, &m, path, 0);
    mbt_plan_free(&seed);
  } else {
    st = mbt_plan_load(path, &m, &back);
    ok(all_ok && st == MBT_OK && back.n == PROCS * EACH,
       "%d processes storing at once: %d of %d entries kept (%s)", PROCS, back.n, PROCS * EACH,
       st == MBT_OK ? "store readable" : mbt_last_error());
    if (st == MBT_OK) mbt_plan_free(&back);
  }
  /* merging keeps the faster entry of a problem; storing without 'faster' keeps ours */
  struct mbt_plan a;
  mbt_plan_init(&a, &m);
  struct mbt_choice c = {0};
  snprintf(c.key, sizeof c.key, "test p=0 e=0");
  snprintf(c.variant, sizeof c.variant, "ref/mbt_f32_dwconv_ref");
  c.ns = 5000; /* slower than the stored 1009 */
  mbt_plan_put(&a, &c);
  mbt_plan_store(&a, &m, path, 1);
  st = mbt_plan_load(path, &m, &back);
  const struct mbt_choice *got = st == MBT_OK ? mbt_plan_find(&back, c.key) : NULL;
  ok(got && got->ns == 1009 && back.n == PROCS * EACH, "merge keeps the faster entry (%.0f ns)",
     got ? got->ns : 0);
  if (st == MBT_OK) mbt_plan_free(&back);
  mbt_plan_store(&a, &m, path, 0);
  st = mbt_plan_load(path, &m, &back);
  got = st == MBT_OK ? mbt_plan_find(&back, c.key) : NULL;
  ok(got && got->ns == 5000 && !strcmp(got->variant, c.variant), "a store replaces an entry "
     "with the caller's (%.0f ns)", got ? got->ns : 0);
  if (st == MBT_OK) mbt_plan_free(&back);
  mbt_plan_free(&a);
  snprintf(tmp, sizeof tmp, "%s.lock", path);
  unlink(tmp);

  unlink(path);
  ok(mbt_plan_load(path, &m, &back) == MBT_ENOTFOUND, "missing plan: %s", mbt_last_error());
  rmdir(dir);
  mbt_plan_free(&pl);
  mbt_model_free(&model);
  return done();
}
