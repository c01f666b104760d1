/* fuzz/fuzz-common.h -- what the libFuzzer harnesses share (included by each, after the system
 * headers): the loaders read files, so each input is written to a file in a private temporary
 * directory (made on first use under $TMPDIR, else /dev/shm, else /tmp, and removed with what
 * is in it when the fuzzer exits; one left by a fuzzer that crashed is removed by the next),
 * and the harness passes that path.  A harness treats a refused input as fine; a crash, a
 * sanitizer report, a leak or a broken invariant (abort) is the failure.  FUZZ_VERBOSE=1 says what became of each input (fuzz_verdict). */
#ifndef MBT_FUZZ_COMMON_H
#define MBT_FUZZ_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "include/mobitune.h"

static char fuzz_dir[512];

/* Remove the temporary directory and the files in it (atexit). */
static inline void fuzz_cleanup(void) {
  if (!fuzz_dir[0]) return;
  DIR *d = opendir(fuzz_dir);
  if (d) {
    char p[1024];
    for (struct dirent *e; (e = readdir(d));) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      snprintf(p, sizeof p, "%s/%s", fuzz_dir, e->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(fuzz_dir);
  fuzz_dir[0] = 0;
}

/* A harness failure that is not the input's fault: say so and stop. */
static inline void fuzz_die(const char *what) {
  fprintf(stderr, "fuzz harness: %s\n", what);
  abort();
}

/* Remove the directories "mbt-fuzz-PID-*" in @p base of fuzzers that died without cleaning up
 * (a crash ends the process without atexit). */
static inline void fuzz_clean_stale(const char *base) {
  DIR *d = opendir(base);
  if (!d) return;
  for (struct dirent *e; (e = readdir(d));) {
    long pid = 0;
    char rest[32];
    if (sscanf(e->d_name, "mbt-fuzz-%ld-%31s", &pid, rest) != 2 || pid <= 0) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/%s", base, e->d_name);
    fuzz_cleanup();
  }
  closedir(d);
}

/* @return the path of @p name in the private temporary directory (made on first use). */
static inline const char *fuzz_path(const char *name) {
  static char p[1024];
  if (!fuzz_dir[0]) {
    const char *base = getenv("TMPDIR");
    struct stat sb;
    if (!base || !*base) base = stat("/dev/shm", &sb) == 0 && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    fuzz_clean_stale(base);
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/mbt-fuzz-%ld-XXXXXX", base, (long)getpid());
    if (!mkdtemp(fuzz_dir)) fuzz_die("cannot make a temporary directory");
    atexit(fuzz_cleanup);
  }
  snprintf(p, sizeof p, "%s/%s", fuzz_dir, name);
  return p;
}

/* Write @p n bytes to @p name in the temporary directory. @return its path. */
static inline const char *fuzz_write(const char *name, const uint8_t *data, size_t n) {
  const char *p = fuzz_path(name);
  const int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) fuzz_die("cannot create the input file");
  for (size_t off = 0; off < n;) {
    const ssize_t w = write(fd, data + off, n - off);
    if (w <= 0) fuzz_die("cannot write the input file");
    off += (size_t)w;
  }
  if (close(fd) != 0) fuzz_die("cannot close the input file");
  return p;
}

/* With FUZZ_VERBOSE=1 in the environment, say on stderr whether the input was loaded or
 * refused, and why (which reproducers a loader refuses, and with what message). */
static inline void fuzz_verdict(const char *target, int st) {
  static int verbose = -1;
  if (verbose < 0) verbose = getenv("FUZZ_VERBOSE") && strcmp(getenv("FUZZ_VERBOSE"), "0");
  if (!verbose) return;
  if (st == 0) fprintf(stderr, "%s: loaded\n", target);
  else fprintf(stderr, "%s: refused: %s\n", target, mbt_last_error());
}

/* @return a malloc'd copy of the file at @p path (its length in @p n), or NULL. */
static inline char *fuzz_slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t cap = 0;
  *n = 0;
  for (;;) {
    if (*n == cap) {
      char *nb = realloc(buf, cap = cap ? 2 * cap : 4096);
      if (!nb) fuzz_die("out of memory");
      buf = nb;
    }
    const size_t r = fread(buf + *n, 1, cap - *n, f);
    if (r == 0) break;
    *n += r;
  }
  fclose(f);
  return buf;
}

#endif
