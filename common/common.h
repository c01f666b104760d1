/* common/common.h -- internal helpers shared by every module: errors, clock, RNG, memory. */
#ifndef MBT_COMMON_H
#define MBT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "include/mobitune.h"

/* Record a detail message for mbt_last_error() and return @p s. */
enum mbt_status mbt_fail(enum mbt_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Monotonic clock in nanoseconds. */
double mbt_now_ns(void);
/* Sleep @p ns nanoseconds (on through signals). */
void mbt_sleep_ns(double ns);
/* A spin-wait's pause: the core's hint that this thread waits (none where there is none). */
static inline void mbt_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* splitmix64-seeded xoshiro256** generator: one seeded source for weights, inputs, tests. */
struct mbt_rng {
  uint64_t s[4];
};
void mbt_rng_seed(struct mbt_rng *r, uint64_t seed);
uint64_t mbt_rng_next(struct mbt_rng *r);
double mbt_rng_uniform(struct mbt_rng *r);              /* [0, 1) */
float mbt_rng_range(struct mbt_rng *r, float lo, float hi);
int mbt_rng_int(struct mbt_rng *r, int lo, int hi);     /* inclusive */

/* 64-byte aligned allocation of n * size bytes; NULL on overflow or exhaustion. */
void *mbt_alloc(size_t n, size_t size);
void mbt_free(void *p);

/* FNV-1a 64-bit over a byte string, chainable through @p h (start with MBT_FNV_INIT). */
#define MBT_FNV_INIT 0xcbf29ce484222325ull
uint64_t mbt_fnv(uint64_t h, const void *data, size_t n);

/* Median of n doubles (sorts a copy; 0 when n <= 0 or out of memory). */
double mbt_median(const double *v, int n);

/* MBT_OK when @p path does not exist or is a regular file; otherwise (a symbolic link, a FIFO,
 * a device, a directory) MBT_EINVAL with a message naming it: only regular files are replaced
 * or moved aside. */
enum mbt_status mbt_replaceable(const char *path);
/* Create a temporary beside @p path, PATH.tmp.PID.XXXXXX with a random suffix, with O_CREAT |
 * O_EXCL | O_NOFOLLOW (its name in @p tmp); temporaries of dead processes beside @p path are
 * removed first.  The descriptor, or -1 with the error recorded. */
int mbt_tmp_create(const char *path, char *tmp, size_t n);
/* Rename the written, flushed and closed @p tmp over @p path (a regular file or none), then
 * flush the directory; @p tmp is removed on failure. */
enum mbt_status mbt_tmp_commit(const char *tmp, const char *path);
/* Write @p len bytes to @p path atomically: mbt_tmp_create, write, fsync, close,
 * mbt_tmp_commit.  Refused when @p path exists and is not a regular file. */
enum mbt_status mbt_write_atomic(const char *path, const char *data, size_t len);
/* Open @p path to read, without blocking on a FIFO; fills @p sb.  -1 and an error naming the
 * file: missing (MBT_ENOTFOUND), a directory (EISDIR named) or unreadable. */
struct stat;
int mbt_open_read(const char *path, struct stat *sb, enum mbt_status *st);
/* Read a whole file (NUL-terminated); caller frees. NULL and an error on failure: a directory
 * (EISDIR named), a file over @p max bytes (refused on its size when regular; a pipe or device
 * is read to max + 1 bytes at most, then refused). */
char *mbt_read_file_max(const char *path, size_t max, size_t *len, enum mbt_status *st);
/* mbt_read_file_max with MBT_READ_MAX (256 MiB): plans and profiles. */
#define MBT_READ_MAX ((size_t)256 << 20)
char *mbt_read_file(const char *path, size_t *len, enum mbt_status *st);
/* The JSON of @p text (@p len bytes, NUL-terminated): one value, nothing but white space after
 * it.  NULL and an error naming @p path otherwise (@p what: what the file should be). */
struct json_object;
struct json_object *mbt_json_parse(const char *path, const char *text, size_t len,
                                   const char *what, enum mbt_status *st);

#endif
