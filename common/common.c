/* common/common.c -- errors, clock, RNG, aligned memory, hashing, atomic files. */
#define _GNU_SOURCE /* getrandom, O_CLOEXEC, O_NOFOLLOW, O_DIRECTORY */
#include "common/common.h"

#include <json-c/json.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static _Thread_local char last_error[512];

const char *mbt_version(void) { return PACKAGE_VERSION; }

const char *mbt_status_str(enum mbt_status s) {
  static const char *const text[] = {
      [MBT_OK] = "success",
      [MBT_EINVAL] = "invalid argument",
      [MBT_ENOMEM] = "out of memory or size overflow",
      [MBT_EIO] = "input/output error",
      [MBT_EPARSE] = "corrupt or truncated file",
      [MBT_EMISMATCH] = "made for another machine or kernel registry",
      [MBT_ENOTFOUND] = "not found",
      [MBT_EUNSUPPORTED] = "not supported here",
      [MBT_ENOCOUNTERS] = "no hardware counters on this machine",
      [MBT_EVERIFY] = "result disagrees with the reference",
      [MBT_EINTR] = "interrupted",
      [MBT_EBUSY] = "the machine is too busy to measure reliably",
  };
  if ((unsigned)s < sizeof text / sizeof text[0] && text[s]) return text[s];
  return "unknown status";
}

const char *mbt_last_error(void) { return last_error; }

enum mbt_status mbt_fail(enum mbt_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return s;
}

double mbt_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

void mbt_sleep_ns(double ns) {
  if (!(ns > 0)) return;
  struct timespec ts = {(time_t)(ns / 1e9), (long)(ns - (double)(time_t)(ns / 1e9) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void mbt_rng_seed(struct mbt_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t mbt_rng_next(struct mbt_rng *r) {
  uint64_t *s = r->s;
  const uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double mbt_rng_uniform(struct mbt_rng *r) { return (double)(mbt_rng_next(r) >> 11) * 0x1.0p-53; }

float mbt_rng_range(struct mbt_rng *r, float lo, float hi) {
  return lo + (hi - lo) * (float)mbt_rng_uniform(r);
}

int mbt_rng_int(struct mbt_rng *r, int lo, int hi) {
  return lo + (int)(mbt_rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* Buffers start at staggered offsets modulo 4 KiB (a different multiple of 64 bytes each time).
 * Tensors whose pixels lie a multiple of 4 KiB apart (NHWC with 1024 channels) would otherwise
 * line up in input and output at equal low address bits, and every load would wait on a store
 * with the same 12 low bits (4K aliasing), and compete for the same L1 sets. */
static _Atomic unsigned alloc_turn;

void *mbt_alloc(size_t n, size_t size) {
  if (size && n > (SIZE_MAX - 8192) / size) return NULL;
  const size_t bytes = n && size ? n * size : 64;
  const size_t stagger = (size_t)(alloc_turn++ % 17) * 64 * 15 % 4096; /* 0 .. 4032 */
  char *raw = malloc(bytes + 4096 + 128);
  if (!raw) return NULL;
  char *p = (char *)(((uintptr_t)raw + 64 + 63) & ~(uintptr_t)63) + stagger;
  ((void **)p)[-1] = raw; /* at least 64 bytes above raw */
  return p;
}

void mbt_free(void *p) {
  if (p) free(((void **)p)[-1]);
}

uint64_t mbt_fnv(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double mbt_median(const double *v, int n) {
  double small[64], *t = n <= 64 ? small : malloc((size_t)n * sizeof *t);
  if (n <= 0 || !t) return 0;
  memcpy(t, v, (size_t)n * sizeof *t);
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  const double m = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
  if (t != small) free(t);
  return m;
}

/* What a path that is not a regular file is, in words. */
static const char *file_kind(mode_t mode) {
  return S_ISLNK(mode) ? "a symbolic link" : S_ISDIR(mode) ? "a directory"
         : S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode) ? "a character device"
         : S_ISBLK(mode) ? "a block device" : S_ISSOCK(mode) ? "a socket" : "not a regular file";
}

enum mbt_status mbt_replaceable(const char *path) {
  struct stat sb;
  if (lstat(path, &sb) != 0)
    return errno == ENOENT ? MBT_OK : mbt_fail(MBT_EIO, "cannot inspect %s: %s", path, strerror(errno));
  if (S_ISREG(sb.st_mode)) return MBT_OK;
  return mbt_fail(MBT_EINVAL, "%s is %s: mobitune replaces or moves aside only regular files "
                  "(it is left as it is)", path, file_kind(sb.st_mode));
}

/* The directory part of @p path ("." when it has none) into @p dir. */
static void dir_of(const char *path, char *dir, size_t n) {
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(dir, n, ".");
  else if (slash == path) snprintf(dir, n, "/");
  else snprintf(dir, n, "%.*s", (int)(slash - path), path);
}

/* Temporaries PATH.tmp.PID[.XXXXXX] left by processes that no longer exist are removed. */
static void remove_stale(const char *path) {
  char dir[4096];
  dir_of(path, dir, sizeof dir);
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  const size_t bl = strlen(base);
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));) {
    if (strncmp(e->d_name, base, bl) || strncmp(e->d_name + bl, ".tmp.", 5)) continue;
    char *end;
    const char *num = e->d_name + bl + 5;
    errno = 0;
    const long pid = strtol(num, &end, 10);
    if (end == num || errno || pid <= 0 || (*end && (*end != '.' || strlen(end) != 7))) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to know */
    char full[4400];
    struct stat sb;
    snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
    if (lstat(full, &sb) == 0 && S_ISREG(sb.st_mode)) unlink(full);
  }
  if (d) closedir(d);
}

int mbt_tmp_create(const char *path, char *tmp, size_t n) {
  static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  remove_stale(path);
  for (int tries = 0; tries < 100; tries++) {
    unsigned char r[6];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) { /* no entropy source: clock + counter */
      uint64_t x = (uint64_t)mbt_now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)tries;
      for (int i = 0; i < 6; i++) r[i] = (unsigned char)splitmix64(&x);
    }
    char sfx[7];
    for (int i = 0; i < 6; i++) sfx[i] = set[r[i] % (sizeof set - 1)];
    sfx[6] = 0;
    if (snprintf(tmp, n, "%s.tmp.%ld.%s", path, (long)getpid(), sfx) >= (int)n) {
      mbt_fail(MBT_EINVAL, "path too long: %s", path);
      return -1;
    }
    const int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0 || errno != EEXIST) {
      if (fd < 0) mbt_fail(MBT_EIO, "cannot create %s: %s", tmp, strerror(errno));
      return fd;
    }
  }
  mbt_fail(MBT_EIO, "cannot create a temporary file beside %s", path);
  return -1;
}

enum mbt_status mbt_tmp_commit(const char *tmp, const char *path) {
  enum mbt_status st = mbt_replaceable(path);
  if (st == MBT_OK && rename(tmp, path) != 0)
    st = mbt_fail(MBT_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
  if (st != MBT_OK) {
    unlink(tmp);
    return st;
  }
  char dir[4096];
  dir_of(path, dir, sizeof dir);
  const int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return MBT_OK; /* renamed; the directory cannot be opened to flush it */
  const int bad = fsync(dfd) != 0 && errno == EIO;
  close(dfd);
  return bad ? mbt_fail(MBT_EIO, "cannot flush the directory %s after writing %s", dir, path)
             : MBT_OK;
}

enum mbt_status mbt_write_atomic(const char *path, const char *data, size_t len) {
  enum mbt_status st = mbt_replaceable(path);
  char tmp[4400];
  if (st != MBT_OK) return st;
  const int fd = mbt_tmp_create(path, tmp, sizeof tmp);
  if (fd < 0) return MBT_EIO;
  size_t off = 0;
  while (off < len && st == MBT_OK) {
    const ssize_t w = write(fd, data + off, len - off);
    if (w < 0 && errno != EINTR) st = mbt_fail(MBT_EIO, "cannot write %s: %s", tmp, strerror(errno));
    else if (w > 0) off += (size_t)w;
  }
  if (st == MBT_OK && fsync(fd) != 0)
    st = mbt_fail(MBT_EIO, "cannot flush %s: %s", tmp, strerror(errno));
  if (close(fd) != 0 && st == MBT_OK)
    st = mbt_fail(MBT_EIO, "cannot close %s: %s", tmp, strerror(errno));
  if (st != MBT_OK) {
    unlink(tmp);
    return st;
  }
  return mbt_tmp_commit(tmp, path);
}

/* Read up to @p max + 1 bytes of @p f into a growing buffer (a pipe or a device, whose size
 * fstat does not give); *n is what was read, NULL when out of memory. */
static char *read_stream(FILE *f, size_t max, size_t *n) {
  size_t cap = 4096;
  char *buf = malloc(cap);
  *n = 0;
  while (buf) {
    if (*n + 1 >= cap) { /* doubled, but never past what the limit needs: max + 2 */
      const size_t next = cap > (max + 2) / 2 ? max + 2 : cap * 2;
      char *nb = realloc(buf, next);
      if (!nb) {
        free(buf);
        return NULL;
      }
      buf = nb, cap = next;
    }
    size_t want = cap - 1 - *n;
    if (want > max + 1 - *n) want = max + 1 - *n;
    const size_t r = fread(buf + *n, 1, want, f);
    *n += r;
    if (r == 0 || *n > max) break;
  }
  return buf;
}

int mbt_open_read(const char *path, struct stat *sb, enum mbt_status *st) {
  /* O_NONBLOCK: a FIFO with no writer would block the open forever; cleared after */
  const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *st = mbt_fail(errno == ENOENT ? MBT_ENOTFOUND : MBT_EIO, "cannot open %s: %s", path,
                   strerror(errno));
    return -1;
  }
  const int flags = fcntl(fd, F_GETFL);
  const int bad = fstat(fd, sb) != 0 ? errno : S_ISDIR(sb->st_mode) ? EISDIR
                  : flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ? errno : 0;
  if (bad) {
    close(fd);
    *st = mbt_fail(MBT_EIO, "cannot read %s: %s", path, strerror(bad));
    return -1;
  }
  *st = MBT_OK;
  return fd;
}

char *mbt_read_file_max(const char *path, size_t max, size_t *len, enum mbt_status *st) {
  struct stat sb;
  const int fd = mbt_open_read(path, &sb, st);
  if (fd < 0) return NULL;
  FILE *f = fdopen(fd, "rb");
  if (!f) {
    *st = mbt_fail(MBT_ENOMEM, "cannot read %s: %s", path, strerror(errno));
    close(fd);
    return NULL;
  }
  /* a regular file is refused on its size before anything is read; anything else (a pipe, a
   * device such as /dev/zero) is read to one byte past the limit at most */
  const int regular = S_ISREG(sb.st_mode);
  if (regular && (uintmax_t)sb.st_size > max) {
    fclose(f);
    *st = mbt_fail(MBT_EINVAL, "%s: %jd bytes is larger than the limit of %zu bytes", path,
                   (intmax_t)sb.st_size, max);
    return NULL;
  }
  size_t n = 0;
  char *buf = NULL;
  if (regular) {
    buf = malloc((size_t)sb.st_size + 1);
    n = buf ? fread(buf, 1, (size_t)sb.st_size, f) : 0;
    if (buf && n == (size_t)sb.st_size && getc(f) != EOF) n = max + 1; /* it grew meanwhile */
  } else {
    buf = read_stream(f, max, &n);
  }
  const int err = ferror(f), e = errno;
  fclose(f);
  if (!buf || err || n > max) {
    free(buf);
    if (!buf) *st = mbt_fail(MBT_ENOMEM, "cannot allocate %s", path);
    else if (err) *st = mbt_fail(MBT_EIO, "cannot read %s: %s", path, strerror(e));
    else *st = mbt_fail(MBT_EINVAL, "%s: larger than the limit of %zu bytes (%s)", path, max,
                        regular ? "it grew while read" : "not a regular file: read to the limit");
    return NULL;
  }
  buf[n] = 0;
  if (len) *len = n;
  *st = MBT_OK;
  return buf;
}

char *mbt_read_file(const char *path, size_t *len, enum mbt_status *st) {
  return mbt_read_file_max(path, MBT_READ_MAX, len, st);
}

json_object *mbt_json_parse(const char *path, const char *text, size_t len, const char *what,
                            enum mbt_status *st) {
  *st = MBT_OK;
  if (strlen(text) != len || len > INT_MAX) {
    *st = mbt_fail(MBT_EPARSE, "%s: a NUL byte at byte %zu: not %s", path, strlen(text), what);
    return NULL;
  }
  json_tokener *tok = json_tokener_new();
  json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
  enum json_tokener_error jerr = tok ? json_tokener_get_error(tok) : json_tokener_error_depth;
  size_t end = tok ? json_tokener_get_parse_end(tok) : 0;
  if (tok) json_tokener_free(tok);
  if (!o || jerr != json_tokener_success) {
    if (o) json_object_put(o);
    *st = mbt_fail(MBT_EPARSE, "%s: not valid JSON (%s)", path, json_tokener_error_desc(jerr));
    return NULL;
  }
  while (end < len && strchr(" \t\r\n", text[end])) end++;
  if (end < len) {
    json_object_put(o);
    *st = mbt_fail(MBT_EPARSE, "%s: text after the JSON value at byte %zu: '%.20s'", path, end,
                   text + end);
    return NULL;
  }
  return o;
}
