/* tests/test-weights.c -- weight files and input images.
 *
 * Weight files: a saved network loads back bit for bit and drives the engine to the same
 * logits as the weights it was saved from; every damaged field is refused with an error that
 * names it (the damage is made with a valid checksum where the field is covered by it, so the
 * field's own check is what fails).  Images: PPM, PNG and JPEG decode; the input transform
 * gives the exact normalization of a flat image and keeps a gradient's direction; corrupt and
 * unknown files are refused. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef HAVE_LIBJPEG
#include <jpeglib.h>
#endif
#ifdef HAVE_LIBPNG
#include <png.h>
#endif

#include "common/common.h"
#include "net/net.h"
#include "tests/tap.h"

static unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  rewind(f);
  unsigned char *b = malloc(*n + 1);
  if (b && fread(b, 1, *n, f) != *n) *n = 0;
  fclose(f);
  return b;
}

static void spit(const char *path, const unsigned char *b, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(b, 1, n, f);
  fclose(f);
}

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
  put32(p, (uint32_t)v);
  put32(p + 4, (uint32_t)(v >> 32));
}

/* Recompute the checksum of a file image (over the tensor table, the network description and
 * the data). */
static void reseal(unsigned char *b, size_t n) {
  const uint32_t nt = get32(b + 56), desc = get32(b + 88);
  uint64_t data = get32(b + 64) | (uint64_t)get32(b + 68) << 32;
  uint64_t nbytes = get32(b + 72) | (uint64_t)get32(b + 76) << 32;
  if (data > n || nbytes > n - data) nbytes = data <= n ? n - data : 0;
  if (128 + (uint64_t)nt * 96 + desc > n) return;
  uint64_t h = mbt_fnv(0xcbf29ce484222325ull, b + 128, (size_t)nt * 96 + desc);
  put64(b + 80, mbt_fnv(h, b + data, (size_t)nbytes));
}

/* Load @p b (@p n bytes) from @p path; 1 when the load fails and the error mentions @p what. */
static int refused(const char *path, const unsigned char *b, size_t n, const char *what,
                   const struct mbt_model *m) {
  spit(path, b, n);
  struct mbt_weights w;
  enum mbt_status st = mbt_weights_load(path, &w);
  if (st == MBT_OK) {
    struct mbt_model own;
    if (m) st = mbt_weights_check(&w, m);
    else if ((st = mbt_weights_model(&w, &own)) == MBT_OK) mbt_model_free(&own);
    mbt_weights_free(&w);
  }
  return st != MBT_OK && strstr(mbt_last_error(), what) != NULL;
}

static uint64_t get64(const unsigned char *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

/* Crafted weight files (issue 15): each reproducer, and the words its error must hold.  @p x
 * has room for @p n + 256 bytes. */
static void hostile_weights(const char *dir, const char *bad, const unsigned char *orig, size_t n,
                            unsigned char *x) {
  unsigned char *e = x + 128; /* the first tensor's entry: conv0.weight, 4 dimensions */
  memcpy(x, orig, n), put32(e + 48, 3), put32(e + 52, 1u << 24), put32(e + 56, 1u << 16),
      put32(e + 60, 1u << 24), put32(e + 64, 0), put64(e + 80, 0), reseal(x, n);
  ok(refused(bad, x, n, "too large", NULL), "a shape of 2^24 x 2^16 x 2^24 (2^64 values, which "
     "wrapped to 0 and loaded): %s", mbt_last_error());
  memcpy(x, orig, n), put32(e + 48, 3), put32(e + 52, 1u << 16), put32(e + 56, 1u << 16),
      put32(e + 60, 2), put32(e + 64, 0), put64(e + 80, (uint64_t)1 << 33), reseal(x, n);
  ok(refused(bad, x, n, "dimension 2 of size 2 is zero or too large", NULL), "a shape of 2^16 x "
     "2^16 x 2 (2^33 values, over the limit of 2^32): %s", mbt_last_error());
  memcpy(x, orig, n), put32(e + 96 + 56, 7), reseal(x, n);
  ok(refused(bad, x, n, "(0 expected)", NULL), "a 1-dimensional tensor with a second size: %s",
     mbt_last_error());
  memcpy(x, orig, n), memset(x + n, 0, 64);
  ok(refused(bad, x, n + 64, "64 bytes after the data region", NULL), "64 bytes of trailing junk "
     "after the data: %s", mbt_last_error());
  memcpy(x, orig, n), memset(x + n, 0, 64), put64(x + 72, get64(x + 72) + 64), reseal(x, n + 64);
  ok(refused(bad, x, n + 64, "trailing bytes after the last tensor", NULL), "a data region 64 "
     "bytes longer than its tensors: %s", mbt_last_error());
  memcpy(x, orig, n), put32(x + 44, 0x7f800000u); /* std[0] = +inf (the header is not summed) */
  ok(refused(bad, x, n, "'normalization': channel 0 has mean 0.5 std inf", NULL), "an infinite "
     "std: %s", mbt_last_error());
  memcpy(x, orig, n), put32(x + 36, 0x7fc00000u);
  ok(refused(bad, x, n, "'normalization': channel 1 has mean nan", NULL), "a NaN mean: %s",
     mbt_last_error());
  memcpy(x, orig, n), put32(x + 52, 0x00000001u); /* 1e-45, a denormal */
  ok(refused(bad, x, n, "'normalization': channel 2", NULL), "a std of 1e-45: %s",
     mbt_last_error());
  struct mbt_weights w;
  enum mbt_status st = mbt_weights_load(dir, &w);
  ok(st == MBT_EIO && strstr(mbt_last_error(), "Is a directory"), "a directory: %s",
     mbt_last_error());
  char fifo[256];
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  if (mkfifo(fifo, 0600) == 0) { /* opened without blocking on the missing writer */
    st = mbt_weights_load(fifo, &w);
    ok(st == MBT_EIO && strstr(mbt_last_error(), "not a regular file"), "a FIFO: %s",
       mbt_last_error());
    unlink(fifo);
  } else {
    skip("a FIFO", "mkfifo failed");
  }
  st = mbt_weights_load("/dev/zero", &w);
  ok(st == MBT_EIO && strstr(mbt_last_error(), "not a regular file"), "a device: %s",
     mbt_last_error());
}

static void weights(void) {
  char dir[] = "/tmp/mbt-test-weights-XXXXXX", path[256], bad[256];
  if (!mkdtemp(dir)) {
    ok(0, "cannot create a temporary directory");
    return;
  }
  snprintf(path, sizeof path, "%s/w.mbtw", dir);
  snprintf(bad, sizeof bad, "%s/bad.mbtw", dir);
  struct mbt_model m;
  mbt_model_build_ex(MBT_NET_V2, 0.35, 64, 7, &m);
  mbt_engine_t a, b;
  mbt_engine_create(&m, NULL, NULL, 11, &a);
  mbt_engine_create(&m, NULL, NULL, 12, &b); /* other weights */
  const float mean[3] = {0.5f, 0.25f, 0.125f}, std[3] = {0.2f, 0.3f, 0.4f};
  ok(mbt_engine_save(a, mean, std, path) == MBT_OK, "save a V2 0.35/64 with 7 classes");
  struct mbt_weights w;
  enum mbt_status st = mbt_weights_load(path, &w);
  ok(st == MBT_OK && w.kind == MBT_NET_V2 && w.alpha == 0.35 && w.res == 64 && w.classes == 7 &&
     w.mean[1] == 0.25f && w.std[2] == 0.4f, "load: the header round trips (%s)",
     st == MBT_OK ? "ok" : mbt_last_error());
  int same = st == MBT_OK;
  for (int i = 0; same && i < m.nlayers; i++) {
    if (m.layers[i].op == MBT_OP_GAVGPOOL) continue;
    const float *wa, *ba;
    mbt_engine_weights(a, i, &wa, &ba);
    char name[64];
    snprintf(name, sizeof name, "%s.weight", m.layers[i].name);
    const struct mbt_tensor *t = mbt_weights_find(&w, name);
    same = t && t->count == mbt_layer_weight_count(&m.layers[i]) &&
           !memcmp(t->data, wa, t->count * sizeof(float)) &&
           ((uintptr_t)t->data % 64) == 0;
  }
  ok(same, "every tensor round trips bit for bit, 64-byte aligned in the mapping");
  /* the weights drive the engine: b with a's weights gives a's logits exactly */
  float *in = malloc((size_t)64 * 64 * 3 * sizeof *in);
  mbt_engine_fill_input(a, in, 5);
  mbt_engine_run(a, in);
  float la[7], lb[7];
  memcpy(la, mbt_engine_logits(a), sizeof la);
  mbt_engine_run(b, in);
  memcpy(lb, mbt_engine_logits(b), sizeof lb);
  int differ = memcmp(la, lb, sizeof la) != 0;
  st = st == MBT_OK ? mbt_engine_set_weights(b, &w) : st;
  mbt_engine_run(b, in);
  ok(differ && st == MBT_OK && !memcmp(la, mbt_engine_logits(b), sizeof la),
     "an engine given the file's weights reproduces the saving engine's logits exactly");
  free(in);
  if (w.map) mbt_weights_free(&w);

  size_t n;
  unsigned char *orig = slurp(path, &n), *x = malloc(n + 256);
  /* each damage, then the field the error must name */
  memcpy(x, orig, n);
  ok(refused(bad, x, n / 2, "truncated", NULL), "a file cut in half: %s", mbt_last_error());
  ok(refused(bad, x, 100, "shorter than the 128-byte header", NULL), "a file cut inside the "
     "header: %s", mbt_last_error());
  memcpy(x, orig, n), x[0] = 'X';
  ok(refused(bad, x, n, "bad magic", NULL), "wrong magic: %s", mbt_last_error());
  memcpy(x, orig, n), put32(x + 8, 3);
  ok(refused(bad, x, n, "version 3", NULL), "another version: %s", mbt_last_error());
  memcpy(x, orig, n), put32(x + 12, 9);
  ok(refused(bad, x, n, "'network'", NULL), "unknown network kind: %s", mbt_last_error());
  memcpy(x, orig, n), put32(x + 28, 0);
  ok(refused(bad, x, n, "'classes'", NULL), "zero classes: %s", mbt_last_error());
  memcpy(x, orig, n), x[n - 5] ^= 0x40;
  ok(refused(bad, x, n, "checksum", NULL), "one flipped bit in the data: %s", mbt_last_error());
  memcpy(x, orig, n), put32(x + 56, 1u << 30);
  ok(refused(bad, x, n, "'tensors'", NULL), "2^30 tensors: %s", mbt_last_error());
  memcpy(x, orig, n), put64(x + 72, UINT64_MAX - 8);
  ok(refused(bad, x, n, "'data bytes'", NULL), "data size near 2^64 (overflow): %s",
     mbt_last_error());
  /* fields under the checksum: damaged and resealed, so their own check must catch them */
  memcpy(x, orig, n), put32(x + 128 + 52, 1u << 24), put32(x + 128 + 56, 1u << 24),
      put32(x + 128 + 60, 1u << 24), reseal(x, n);
  ok(refused(bad, x, n, "too large", NULL), "a tensor of 2^72 values (overflow): %s",
     mbt_last_error());
  memcpy(x, orig, n), put64(x + 128 + 96 + 72, (uint64_t)1 << 62), reseal(x, n);
  ok(refused(bad, x, n, "outside", NULL), "a tensor offset past the data: %s", mbt_last_error());
  memcpy(x, orig, n), memset(x + 128 + 96, 'a', 48), reseal(x, n);
  ok(refused(bad, x, n, "unterminated", NULL), "an unterminated tensor name: %s", mbt_last_error());
  memcpy(x, orig, n), memcpy(x + 128 + 96, x + 128, 48), reseal(x, n);
  ok(refused(bad, x, n, "twice", NULL), "a duplicated tensor name: %s", mbt_last_error());
  memcpy(x, orig, n), put32(x + 128 + 52 + 4, get32(x + 128 + 52 + 4) + 1), reseal(x, n);
  ok(refused(bad, x, n, "values but its shape holds", NULL), "a shape that disagrees with the "
     "count: %s", mbt_last_error());
  /* a whole file for another width: the first tensor of the wrong shape is named */
  struct mbt_model m5;
  mbt_model_build_ex(MBT_NET_V2, 0.5, 64, 7, &m5);
  memcpy(x, orig, n);
  ok(refused(bad, x, n, "has shape", &m5), "weights for another network: %s", mbt_last_error());
  mbt_model_free(&m5);
  ok(mbt_weights_load("/nonexistent/w.mbtw", &w) == MBT_ENOTFOUND, "a missing file: %s",
     mbt_last_error());
  hostile_weights(dir, bad, orig, n, x);
  free(x);
  free(orig);
  unlink(bad);
  unlink(path);
  rmdir(dir);
  mbt_engine_destroy(a);
  mbt_engine_destroy(b);
  mbt_model_free(&m);
}

/* A w x h test pattern: red rises to the right, green downwards, blue constant. */
static void pattern(unsigned char *rgb, int w, int h) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      unsigned char *p = rgb + ((size_t)y * w + x) * 3;
      p[0] = (unsigned char)(255 * x / (w - 1)), p[1] = (unsigned char)(255 * y / (h - 1)), p[2] = 90;
    }
}

static int write_ppm(const char *path, const unsigned char *rgb, int w, int h) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  fprintf(f, "P6\n# test\n%d %d\n255\n", w, h);
  fwrite(rgb, 3, (size_t)w * h, f);
  return fclose(f);
}

/* Check a decoded pattern: the input transform of it keeps red rising to the right and green
 * downwards, within the JPEG's loss. */
static int pattern_ok(const struct mbt_image *im, int w, int h, int tol) {
  if (im->w != w || im->h != h) return 0;
  unsigned char *want = malloc((size_t)w * h * 3);
  pattern(want, w, h);
  int worst = 0;
  for (size_t i = 0; i < (size_t)w * h * 3; i++) {
    const int d = abs((int)im->rgb[i] - want[i]);
    worst = d > worst ? d : worst;
  }
  free(want);
  return worst <= tol;
}

/* Write @p head then @p pixels bytes of grey to @p path and load it: 1 when refused with @p st
 * and an error holding @p what. */
static int image_refused(const char *path, const char *head, size_t pixels, enum mbt_status want,
                         const char *what) {
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  fputs(head, f);
  for (size_t i = 0; i < pixels; i++) putc(128, f);
  fclose(f);
  struct mbt_image im;
  const enum mbt_status st = mbt_image_load(path, &im);
  if (st == MBT_OK) mbt_image_free(&im);
  return st == want && strstr(mbt_last_error(), what) != NULL;
}

/* Crafted images (issue 15): malformed PPM headers with whole pixel data after them (which the
 * old parser read as images), sizes past the limit, a directory, a FIFO and a device. */
static void hostile_images(const char *dir) {
  char p[256];
  snprintf(p, sizeof p, "%s/h.ppm", dir);
  ok(image_refused(p, "P6\n50x40\n255\n", 50 * 40 * 3, MBT_EPARSE, "the width is missing or "
     "not a decimal number"), "PPM '50x40' (junk for a separator): %s", mbt_last_error());
  ok(image_refused(p, "P6\n4 4\n255abc\n", 4 * 4 * 3, MBT_EPARSE, "the maxval is missing or "
     "not a decimal"), "PPM maxval '255abc': %s", mbt_last_error());
  ok(image_refused(p, "P64 4\n255\n", 4 * 4 * 3, MBT_EPARSE, "the width is missing"),
     "PPM magic run into the width ('P64'): %s", mbt_last_error());
  ok(image_refused(p, "P6\n4 4\n255#x\n", 4 * 4 * 3, MBT_EPARSE, "not followed by one "
     "whitespace"), "PPM maxval ending in a comment: %s", mbt_last_error());
  ok(image_refused(p, "P6\n4 4", 0, MBT_EPARSE, "the height is missing or not a decimal number "
     "followed by whitespace (truncated)"), "PPM header cut short: %s", mbt_last_error());
  ok(image_refused(p, "P6\n4 -4\n255\n", 48, MBT_EPARSE, "the height is missing"),
     "PPM negative height: %s", mbt_last_error());
  ok(image_refused(p, "P6\n0 4\n255\n", 48, MBT_EPARSE, "image size 0x4 is empty or too large"),
     "PPM zero width: %s", mbt_last_error());
  ok(image_refused(p, "P6\n32768 16384\n255\n", 0, MBT_EPARSE, "image size 32768x16384 is "
     "empty or too large (at most 32768 per side and 2^28 pixels)"), "PPM of 2^29 pixels: %s",
     mbt_last_error());
  ok(image_refused(p, "P6\n99999999999999999999 4\n255\n", 0, MBT_EPARSE, "too large"),
     "PPM width of 10^20: %s", mbt_last_error());
  ok(image_refused(p, "P6\n4 4\n65535\n", 96, MBT_EUNSUPPORTED, "maxval 65535"),
     "PPM of 16-bit samples: %s", mbt_last_error());
  ok(image_refused(p, "P6\n4 4\n255\n", 47, MBT_EPARSE, "truncated (47 of 48 bytes)"),
     "PPM one byte short: %s", mbt_last_error());
  ok(image_refused(p, "", 0, MBT_EPARSE, "empty file"), "an empty file: %s", mbt_last_error());
  struct mbt_image im;
  enum mbt_status st = mbt_image_load(dir, &im);
  ok(st == MBT_EIO && strstr(mbt_last_error(), "Is a directory"), "a directory: %s",
     mbt_last_error());
  char fifo[256];
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  if (mkfifo(fifo, 0600) == 0) {
    st = mbt_image_load(fifo, &im);
    ok(st == MBT_EIO && strstr(mbt_last_error(), "not a regular file"), "a FIFO (not waited on): "
       "%s", mbt_last_error());
    unlink(fifo);
  } else {
    skip("a FIFO", "mkfifo failed");
  }
  st = mbt_image_load("/dev/zero", &im);
  ok(st == MBT_EIO && strstr(mbt_last_error(), "not a regular file"), "a device: %s",
     mbt_last_error());
}

/* mbt_read_file_max, the reader of plans, profiles, labels and raw inputs. */
static void readers(void) {
  char dir[] = "/tmp/mbt-test-read-XXXXXX", p[256];
  if (!mkdtemp(dir)) {
    ok(0, "cannot create a temporary directory");
    return;
  }
  enum mbt_status st;
  size_t len = 0;
  char *b = mbt_read_file_max(dir, 100, &len, &st);
  ok(!b && st == MBT_EIO && strstr(mbt_last_error(), "Is a directory"), "a directory: %s",
     mbt_last_error());
  snprintf(p, sizeof p, "%s/f", dir);
  unsigned char hundred[100];
  memset(hundred, 'a', sizeof hundred);
  spit(p, hundred, sizeof hundred);
  b = mbt_read_file_max(p, 100, &len, &st);
  ok(b && st == MBT_OK && len == 100 && b[100] == 0, "a file of exactly the limit is read whole");
  free(b);
  b = mbt_read_file_max(p, 99, &len, &st);
  ok(!b && st == MBT_EINVAL && strstr(mbt_last_error(), "100 bytes is larger than the limit of "
     "99 bytes"), "a file one byte over the limit: %s", mbt_last_error());
  const double t0 = mbt_now_ns();
  b = mbt_read_file_max("/dev/zero", (size_t)1 << 20, &len, &st);
  ok(!b && st == MBT_EINVAL && strstr(mbt_last_error(), "not a regular file: read to the limit"),
     "/dev/zero is read to the limit (1 MiB) and refused: %s (%.0f ms)", mbt_last_error(),
     (mbt_now_ns() - t0) / 1e6);
  b = mbt_read_file_max("/nonexistent/f", 100, &len, &st);
  ok(!b && st == MBT_ENOTFOUND && strstr(mbt_last_error(), "No such file"), "a missing file: %s",
     mbt_last_error());
  unlink(p);
  rmdir(dir);
}

/* The two preprocessings on images whose answer is known: TF-slim's central crop of 0.875 of
 * a 108 x 108 image starts at int(6.75) = 6 and keeps 96 rows and columns, so a resize to 96
 * copies them exactly; torchvision's on a flat image is flat; a Resize(S) below the crop is
 * refused; a 2 x 1 image keeps its aspect (Resize(37) of 64 x 32: 74 x 37, crop at 21). */
static void preprocessing(void) {
  const int N = 108, R = 96;
  struct mbt_image im = {N, N, malloc((size_t)N * N * 3)};
  for (int i = 0; i < N * N * 3; i++) im.rgb[i] = (unsigned char)((i * 7 + i / 331) & 255);
  const float mean[3] = {0.25f, 0.5f, 0.75f}, std[3] = {0.5f, 0.25f, 0.125f};
  float *in = malloc((size_t)R * R * 3 * sizeof *in);
  enum mbt_status st = mbt_image_prepare(&im, R, MBT_PREPROCESS_TF, 0, mean, std, in);
  double err = 0;
  for (int y = 0; st == MBT_OK && y < R; y++)
    for (int x = 0; x < R; x++)
      for (int c = 0; c < 3; c++) {
        const float want = (im.rgb[((size_t)(y + 6) * N + x + 6) * 3 + c] / 255.0f - mean[c]) / std[c];
        const double d = fabs(in[((size_t)y * R + x) * 3 + c] - want);
        err = d > err ? d : err;
      }
  ok(st == MBT_OK && err < 1e-6, "tf preprocessing of 108 x 108 at 96: the central 96 x 96 "
     "from (6, 6), unresampled (max error %.2g)", err);
  memset(im.rgb, 200, (size_t)N * N * 3);
  st = mbt_image_prepare(&im, R, MBT_PREPROCESS_TORCHVISION, 0, mean, std, in);
  err = 0;
  for (int i = 0; st == MBT_OK && i < R * R * 3; i++) {
    const double d = fabs(in[i] - (200 / 255.0f - mean[i % 3]) / std[i % 3]);
    err = d > err ? d : err;
  }
  ok(st == MBT_OK && err < 1e-5, "torchvision preprocessing keeps a flat image flat (%.2g)", err);
  ok(mbt_image_prepare(&im, R, MBT_PREPROCESS_TORCHVISION, 90, mean, std, in) == MBT_EINVAL &&
     strstr(mbt_last_error(), "Resize(90)"), "Resize(90) before a 96 x 96 crop is refused: %s",
     mbt_last_error());
  free(im.rgb);
  /* a horizontal ramp 64 x 32: Resize(37) gives 74 x 37, CenterCrop(32) starts at column
   * round(21) = 21 and row round(2.5) = 2; column x of the crop is centred on source column
   * (21 + x + 0.5) 64 / 74 - 0.5, where the ramp is 4 x */
  struct mbt_image ramp = {64, 32, malloc((size_t)64 * 32 * 3)};
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 64; x++)
      for (int c = 0; c < 3; c++) ramp.rgb[((size_t)y * 64 + x) * 3 + c] = (unsigned char)(4 * x);
  const float zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
  st = mbt_image_prepare(&ramp, 32, MBT_PREPROCESS_TORCHVISION, 37, zero, one, in);
  err = 0;
  for (int x = 0; st == MBT_OK && x < 32; x++) {
    const double want = 4 * ((21 + x + 0.5) * 64 / 74 - 0.5) / 255;
    const double d = fabs(in[((size_t)16 * 32 + x) * 3] - want);
    err = d > err ? d : err;
  }
  ok(st == MBT_OK && err < 1e-4, "torchvision preprocessing of a 2:1 ramp: Resize(37) to 74 x 37, "
     "the crop from column 21 (max error %.2g of full scale)", err);
  free(ramp.rgb);
  free(in);
}

static void images(void) {
  char dir[] = "/tmp/mbt-test-image-XXXXXX", p[256];
  if (!mkdtemp(dir)) {
    ok(0, "cannot create a temporary directory");
    return;
  }
  const int W = 80, H = 60;
  unsigned char *rgb = malloc((size_t)W * H * 3);
  pattern(rgb, W, H);
  struct mbt_image im;
  snprintf(p, sizeof p, "%s/a.ppm", dir);
  write_ppm(p, rgb, W, H);
  enum mbt_status st = mbt_image_load(p, &im);
  ok(st == MBT_OK && pattern_ok(&im, W, H, 0), "PPM decodes exactly");
  /* the input transform: a 32 x 32 crop of the resized pattern, normalized */
  const float mean[3] = {0.5f, 0.5f, 0.5f}, std[3] = {0.25f, 0.25f, 0.25f};
  float *in = calloc(32 * 32 * 3, sizeof *in);
  if (st == MBT_OK) st = mbt_image_input(&im, 32, mean, std, in);
  int mono = st == MBT_OK;
  for (int y = 0; mono && y < 32; y++)
    for (int x = 1; mono && x < 32; x++)
      mono = in[(y * 32 + x) * 3] >= in[(y * 32 + x - 1) * 3] - 1e-5f &&
             (y == 0 || in[(y * 32 + x) * 3 + 1] >= in[((y - 1) * 32 + x) * 3 + 1] - 1e-5f);
  const float blue = (90 / 255.0f - 0.5f) / 0.25f;
  ok(mono && fabsf(in[(16 * 32 + 16) * 3 + 2] - blue) < 1e-5f &&
     fabsf(in[(16 * 32 + 16) * 3] - (127.5f / 255 - 0.5f) / 0.25f) < 0.1f,
     "resize + centre crop + normalize: gradients kept, flat channel exact (%.5f), centre red "
     "%.3f", in[(16 * 32 + 16) * 3 + 2], in[(16 * 32 + 16) * 3]);
  mbt_image_free(&im);
  /* a shorter side of 60 resized to round(32 / 0.875) = 37 (torchvision's Resize): the crop
   * starts int(round(2.5)) = 2 resized rows down (CenterCrop; Python rounds halves to even),
   * and its first row is centred on source row 2.5 scale - 0.5 in pixel indices, where the
   * linear green ramp is 255 y / 59 (floored when the pattern was made: -0.5 on average) */
  const double scale = 60.0 / 37, top = 2 * scale + 0.5 * scale;
  const double green = ((255 * (top - 0.5) / 59 - 0.5) / 255 - 0.5) / 0.25;
  ok(fabs(in[1] - green) < 0.02, "the crop is centred: green at the top %.4f, expected %.4f "
     "(the image's top row: %.3f)", in[1], green, (0.0 - 0.5) / 0.25);
  free(in);
#ifdef HAVE_LIBPNG
  png_image pi;
  memset(&pi, 0, sizeof pi);
  pi.version = PNG_IMAGE_VERSION, pi.width = (png_uint_32)W, pi.height = (png_uint_32)H;
  pi.format = PNG_FORMAT_RGB;
  snprintf(p, sizeof p, "%s/a.png", dir);
  png_image_write_to_file(&pi, p, 0, rgb, 0, NULL);
  st = mbt_image_load(p, &im);
  ok(st == MBT_OK && pattern_ok(&im, W, H, 0), "PNG decodes exactly (%s)",
     st == MBT_OK ? "ok" : mbt_last_error());
  if (st == MBT_OK) mbt_image_free(&im);
  size_t n;
  unsigned char *b = slurp(p, &n);
  spit(p, b, n / 2);
  ok(mbt_image_load(p, &im) == MBT_EPARSE, "a truncated PNG: %s", mbt_last_error());
  free(b);
#else
  skip("PNG decoding", "built without libpng");
  skip("a truncated PNG", "built without libpng");
#endif
#ifdef HAVE_LIBJPEG
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  snprintf(p, sizeof p, "%s/a.jpg", dir);
  FILE *f = fopen(p, "wb");
  jpeg_stdio_dest(&c, f);
  c.image_width = (JDIMENSION)W, c.image_height = (JDIMENSION)H, c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 98, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = rgb + (size_t)c.next_scanline * W * 3;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  fclose(f);
  st = mbt_image_load(p, &im);
  ok(st == MBT_OK && pattern_ok(&im, W, H, 12), "JPEG decodes (within 12 levels at quality 98)");
  if (st == MBT_OK) mbt_image_free(&im);
  size_t nj;
  unsigned char *bj = slurp(p, &nj);
  spit(p, bj, nj / 2);
  st = mbt_image_load(p, &im);
  ok(st == MBT_EPARSE, "a truncated JPEG: %s", mbt_last_error());
  if (st == MBT_OK) mbt_image_free(&im);
  free(bj);
#else
  skip("JPEG decoding", "built without libjpeg");
  skip("a truncated JPEG", "built without libjpeg");
#endif
  snprintf(p, sizeof p, "%s/a.gif", dir);
  spit(p, (const unsigned char *)"GIF89a....", 10);
  ok(mbt_image_load(p, &im) == MBT_EUNSUPPORTED, "an unknown format: %s", mbt_last_error());
  snprintf(p, sizeof p, "%s/big.ppm", dir);
  spit(p, (const unsigned char *)"P6\n100000 100000\n255\n", 21);
  ok(mbt_image_load(p, &im) == MBT_EPARSE && strstr(mbt_last_error(), "too large"),
     "a header claiming 10^10 pixels: %s", mbt_last_error());
  snprintf(p, sizeof p, "%s/short.ppm", dir);
  spit(p, (const unsigned char *)"P6\n4 4\n255\nabc", 14);
  ok(mbt_image_load(p, &im) == MBT_EPARSE && strstr(mbt_last_error(), "truncated"),
     "PPM pixels cut short: %s", mbt_last_error());
  hostile_images(dir);
  free(rgb);
  const char *names[] = {"a.ppm", "a.png", "a.jpg", "a.gif", "big.ppm", "short.ppm", "h.ppm"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    unlink(p);
  }
  rmdir(dir);
}

/* Separate contexts on separate threads: each thread opens its own model (mbt_open, at the
 * same time as the other) and runs it repeatedly; every run must give exactly the logits the
 * same model gave when run alone. */
struct ctx {
  const char *path;
  const float *input;
  float want[5];
  int runs, mismatches;
  enum mbt_status st;
};

static void *worker(void *arg) {
  struct ctx *c = arg;
  mbt_engine_t e;
  if ((c->st = mbt_open(c->path, NULL, 1, &e)) != MBT_OK) return NULL;
  for (int r = 0; r < c->runs; r++) {
    mbt_engine_run(e, c->input);
    c->mismatches += memcmp(mbt_engine_logits(e), c->want, sizeof c->want) != 0;
  }
  mbt_engine_destroy(e);
  return NULL;
}

static void threads(void) {
  if (getenv("MBT_RUNNER") && *getenv("MBT_RUNNER")) { /* qemu-user crawls with threads */
    skip("two engines at once on two threads", "threads under an emulator");
    return;
  }
  char dir[] = "/tmp/mbt-test-threads-XXXXXX", path[2][256];
  if (!mkdtemp(dir)) {
    ok(0, "cannot create a temporary directory");
    return;
  }
  const float mean[3] = {0.5f, 0.5f, 0.5f}, std[3] = {0.25f, 0.25f, 0.25f};
  struct mbt_model m[2];
  struct ctx c[2];
  float *in = NULL;
  for (int k = 0; k < 2; k++) {
    mbt_model_build_ex(k ? MBT_NET_V3S : MBT_NET_V2, 0.35, 64, 5, &m[k]);
    snprintf(path[k], sizeof path[k], "%s/%d.mbtw", dir, k);
    mbt_engine_t e;
    mbt_engine_create(&m[k], NULL, NULL, 21 + (uint64_t)k, &e);
    mbt_engine_save(e, mean, std, path[k]);
    if (!in) {
      in = malloc((size_t)64 * 64 * 3 * sizeof *in);
      mbt_engine_fill_input(e, in, 4);
    }
    mbt_engine_run(e, in); /* alone: the logits every threaded run must reproduce */
    memset(&c[k], 0, sizeof c[k]);
    memcpy(c[k].want, mbt_engine_logits(e), sizeof c[k].want);
    c[k].path = path[k], c[k].input = in, c[k].runs = 30;
    mbt_engine_destroy(e);
  }
  pthread_t t[2];
  for (int k = 0; k < 2; k++) pthread_create(&t[k], NULL, worker, &c[k]);
  for (int k = 0; k < 2; k++) pthread_join(t[k], NULL);
  ok(c[0].st == MBT_OK && c[1].st == MBT_OK && c[0].mismatches == 0 && c[1].mismatches == 0,
     "two engines (V2 and V3-Small) opened and run at once on two threads, 30 runs each: "
     "%d and %d runs differ from running alone", c[0].mismatches, c[1].mismatches);
  for (int k = 0; k < 2; k++) {
    unlink(path[k]);
    mbt_model_free(&m[k]);
  }
  rmdir(dir);
  free(in);
}

/* A network described as data: its weight file carries the description, gives the network
 * back and drives an engine; a damaged description is caught. */
static void described(void) {
  static const char desc[] =
      "{\"format\":\"mobitune-net\",\"version\":1,\"name\":\"tiny-tf\",\"res\":40,\"layers\":["
      "{\"name\":\"stem\",\"op\":\"conv\",\"out\":12,\"k\":3,\"stride\":2,\"pad\":[0,1],\"act\":\"relu\"},"
      "{\"name\":\"e\",\"op\":\"pwconv\",\"out\":36,\"act\":\"relu6\"},"
      "{\"name\":\"d\",\"op\":\"dwconv\",\"k\":5,\"stride\":1,\"pad\":[2,2],\"act\":\"relu6\"},"
      "{\"name\":\"p\",\"op\":\"pwconv\",\"out\":12,\"res\":\"stem\"},"
      "{\"name\":\"d2\",\"op\":\"dwconv\",\"k\":3,\"stride\":2,\"pad\":[0,1]},"
      "{\"name\":\"pool\",\"op\":\"gavgpool\"},"
      "{\"name\":\"fc\",\"op\":\"fc\",\"out\":3}]}";
  char dir[] = "/tmp/mbt-test-desc-XXXXXX", path[256], bad[256];
  if (!mkdtemp(dir)) {
    ok(0, "cannot create a temporary directory");
    return;
  }
  snprintf(path, sizeof path, "%s/w.mbtw", dir);
  snprintf(bad, sizeof bad, "%s/bad.mbtw", dir);
  struct mbt_model m, back;
  enum mbt_status st = mbt_model_parse(desc, strlen(desc), "tiny", &m);
  mbt_engine_t a = NULL, b = NULL;
  if (st == MBT_OK) st = mbt_engine_create(&m, NULL, NULL, 3, &a);
  const float mean[3] = {0.4f, 0.5f, 0.6f}, std[3] = {0.2f, 0.25f, 0.3f};
  if (st == MBT_OK) st = mbt_engine_save(a, mean, std, path);
  struct mbt_weights w;
  memset(&w, 0, sizeof w);
  if (st == MBT_OK) st = mbt_weights_load(path, &w);
  if (st == MBT_OK) st = mbt_weights_model(&w, &back);
  ok(st == MBT_OK && w.kind == MBT_NET_CUSTOM && back.nlayers == m.nlayers &&
     back.layers[0].pad_end == 1 && back.layers[4].oh == 10 && back.layers[3].res == 0 &&
     back.macs == m.macs && !strcmp(back.name, "tiny-tf") && mbt_weights_check(&w, &back) == MBT_OK,
     "a described network (TensorFlow padding, a 5x5 layer, a residual) saves and loads with "
     "its description (%s)", st == MBT_OK ? "ok" : mbt_last_error());
  if (st == MBT_OK) {
    st = mbt_engine_create(&back, NULL, NULL, 4, &b);
    float *in = malloc((size_t)40 * 40 * 3 * sizeof *in);
    mbt_engine_fill_input(a, in, 9);
    mbt_engine_run(a, in);
    float la[3];
    memcpy(la, mbt_engine_logits(a), sizeof la);
    if (st == MBT_OK) st = mbt_engine_set_weights(b, &w);
    if (st == MBT_OK) mbt_engine_run(b, in);
    ok(st == MBT_OK && !memcmp(la, mbt_engine_logits(b), sizeof la),
       "an engine built from the file's description and weights gives the saver's logits");
    free(in);
    mbt_model_free(&back);
    mbt_weights_free(&w);
    size_t n;
    unsigned char *orig = slurp(path, &n), *x = malloc(n);
    const size_t at = 128 + (size_t)get32(orig + 56) * 96; /* the description */
    memcpy(x, orig, n), x[at + 20] ^= 1;
    ok(refused(bad, x, n, "checksum", NULL), "a flipped bit in the description: %s", mbt_last_error());
    memcpy(x, orig, n), memcpy(x + at + 2, "formax", 6), reseal(x, n);
    ok(refused(bad, x, n, "not a network description", NULL), "a resealed, damaged description: %s",
       mbt_last_error());
    memcpy(x, orig, n), put32(x + 88, 0), reseal(x, n);
    ok(refused(bad, x, n, "'description bytes'", NULL), "a described network without its "
       "description: %s", mbt_last_error());
    memcpy(x, orig, n), put32(x + 88, get32(orig + 88) + 100000), reseal(x, n);
    ok(refused(bad, x, n, "truncated", NULL), "a description longer than the file: %s",
       mbt_last_error());
    free(x);
    free(orig);
  }
  if (a) mbt_engine_destroy(a);
  if (b) mbt_engine_destroy(b);
  if (m.layers) mbt_model_free(&m);
  unlink(bad);
  unlink(path);
  rmdir(dir);
}

int main(void) {
  described();
  weights();
  images();
  preprocessing();
  readers();
  threads();
  return done();
}
