/* net/image.c -- images in: JPEG (libjpeg), PNG (libpng) and binary PPM decoded to 8-bit RGB,
 * then the network's input: the shorter side resized to res / 0.875 (256 for 224, as the
 * ImageNet evaluations of torchvision and TF-slim do) with an antialiased bilinear filter (a
 * triangle filter whose support widens with the reduction, as PIL's BILINEAR), a centre crop of
 * res x res, and per-channel (x / 255 - mean) / std in NHWC float. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
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

#define MAX_SIDE 32768 /* and at most 2^28 pixels: sizes beyond are refused, not allocated */
#define MAX_PIXELS (UINT64_C(1) << 28) /* x 3 bytes: 768 MiB of RGB at most */

static enum mbt_status check_size(const char *path, long w, long h) {
  /* the product in 64 bits, which cannot wrap for sides up to 2^15 */
  if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE || (uint64_t)w * (uint64_t)h > MAX_PIXELS)
    return mbt_fail(MBT_EPARSE, "%s: image size %ldx%ld is empty or too large (at most %d per "
                    "side and 2^28 pixels)", path, w, h, MAX_SIDE);
  return MBT_OK;
}

void mbt_image_free(struct mbt_image *im) {
  free(im->rgb);
  memset(im, 0, sizeof *im);
}

static int ppm_space(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* One number of a PPM header at *c (the character after the previous token): whitespace and
 * comments, at least one of them, then decimal digits ending in whitespace or a comment.  -1
 * when malformed; the value stops growing past 10^9 (more is refused by the callers). */
static long ppm_number(FILE *f, int *c) {
  int sep = 0;
  while (ppm_space(*c) || *c == '#') {
    if (*c == '#')
      while (*c != '\n' && *c != EOF) *c = getc(f);
    sep = 1, *c = getc(f);
  }
  long v = 0;
  int digits = 0;
  for (; *c >= '0' && *c <= '9'; *c = getc(f), digits++)
    if (v < 100000000L) v = v * 10 + (*c - '0');
  if (!sep || !digits || !(ppm_space(*c) || *c == '#')) return -1;
  return v;
}

/* Binary PPM (P6, maxval 255): the header, then width x height RGB triples. */
static enum mbt_status load_ppm(const char *path, FILE *f, struct mbt_image *im) {
  static const char *const what[3] = {"the width", "the height", "the maxval"};
  long v[3];
  if (getc(f) != 'P' || getc(f) != '6') return mbt_fail(MBT_EPARSE, "%s: not a binary PPM (P6)", path);
  int c = getc(f);
  for (int k = 0; k < 3; k++) {
    if ((v[k] = ppm_number(f, &c)) < 0)
      return mbt_fail(MBT_EPARSE, "%s: PPM header: %s is missing or not a decimal number followed "
                      "by whitespace%s", path, what[k], c == EOF ? " (truncated)" : "");
  }
  if (!ppm_space(c)) /* the maxval ended in a comment: the pixels would start inside it */
    return mbt_fail(MBT_EPARSE, "%s: PPM header: the maxval is not followed by one whitespace "
                    "character", path);
  if (v[2] != 255) return mbt_fail(MBT_EUNSUPPORTED, "%s: PPM maxval %ld (only 255 is read)", path, v[2]);
  enum mbt_status st = check_size(path, v[0], v[1]);
  if (st != MBT_OK) return st;
  im->w = (int)v[0], im->h = (int)v[1];
  const size_t n = (size_t)im->w * (size_t)im->h * 3;
  if (!(im->rgb = malloc(n))) return mbt_fail(MBT_ENOMEM, "%s: cannot allocate the pixels", path);
  const size_t got = fread(im->rgb, 1, n, f);
  if (got != n) {
    mbt_image_free(im);
    return mbt_fail(MBT_EPARSE, "%s: PPM pixel data is truncated (%zu of %zu bytes)", path, got, n);
  }
  return MBT_OK;
}

#ifdef HAVE_LIBJPEG
struct jerr {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
};
static void jpeg_fail(j_common_ptr cinfo) {
  struct jerr *e = (struct jerr *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, e->msg);
  longjmp(e->jump, 1);
}
static void jpeg_quiet(j_common_ptr cinfo, int level) { /* warnings: corrupt data is an error */
  if (level < 0) jpeg_fail(cinfo);
}

static enum mbt_status load_jpeg(const char *path, FILE *f, struct mbt_image *im) {
  struct jpeg_decompress_struct cinfo;
  struct jerr err;
  unsigned char *volatile rgb = NULL;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.emit_message = jpeg_quiet;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    free(rgb);
    return mbt_fail(MBT_EPARSE, "%s: corrupt JPEG: %s", path, err.msg);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, f);
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_RGB; /* grey and CMYK/YCCK are converted or refused by libjpeg */
  enum mbt_status st = check_size(path, (long)cinfo.image_width, (long)cinfo.image_height);
  if (st != MBT_OK) {
    jpeg_destroy_decompress(&cinfo);
    return st;
  }
  jpeg_start_decompress(&cinfo);
  if (cinfo.output_components != 3) {
    jpeg_destroy_decompress(&cinfo);
    return mbt_fail(MBT_EUNSUPPORTED, "%s: JPEG with %d colour components", path,
                    cinfo.output_components);
  }
  const size_t stride = (size_t)cinfo.output_width * 3;
  rgb = malloc(stride * cinfo.output_height);
  if (!rgb) {
    jpeg_destroy_decompress(&cinfo);
    return mbt_fail(MBT_ENOMEM, "%s: cannot allocate the pixels", path);
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = rgb + stride * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  im->w = (int)cinfo.output_width, im->h = (int)cinfo.output_height, im->rgb = rgb;
  jpeg_destroy_decompress(&cinfo);
  return MBT_OK;
}
#endif

#ifdef HAVE_LIBPNG
static enum mbt_status load_png(const char *path, FILE *f, struct mbt_image *im) {
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_stdio(&img, f))
    return mbt_fail(MBT_EPARSE, "%s: corrupt PNG: %s", path, img.message);
  enum mbt_status st = check_size(path, (long)img.width, (long)img.height);
  if (st != MBT_OK) {
    png_image_free(&img);
    return st;
  }
  img.format = PNG_FORMAT_RGB; /* grey, palette and alpha converted (alpha over black) */
  unsigned char *rgb = malloc(PNG_IMAGE_SIZE(img));
  if (!rgb) {
    png_image_free(&img);
    return mbt_fail(MBT_ENOMEM, "%s: cannot allocate the pixels", path);
  }
  if (!png_image_finish_read(&img, NULL, rgb, 0, NULL)) {
    free(rgb);
    return mbt_fail(MBT_EPARSE, "%s: corrupt PNG: %s", path, img.message);
  }
  im->w = (int)img.width, im->h = (int)img.height, im->rgb = rgb;
  return MBT_OK;
}
#endif

enum mbt_status mbt_image_load(const char *path, struct mbt_image *im) {
  memset(im, 0, sizeof *im);
  struct stat sb;
  enum mbt_status st;
  const int fd = mbt_open_read(path, &sb, &st); /* a directory: EISDIR named */
  if (fd < 0) return st;
  FILE *f = S_ISREG(sb.st_mode) ? fdopen(fd, "rb") : NULL;
  if (!f) {
    const int e = errno;
    close(fd);
    return mbt_fail(MBT_EIO, "%s: %s", path, S_ISREG(sb.st_mode) ? strerror(e) : "not a regular "
                    "file (a pipe or device: give an image file)");
  }
  unsigned char sig[8] = {0};
  const size_t got = fread(sig, 1, sizeof sig, f);
  if (ferror(f) || fseek(f, 0, SEEK_SET) != 0) {
    st = mbt_fail(MBT_EIO, "%s: cannot read: %s", path, strerror(errno));
  } else if (got == 0) {
    st = mbt_fail(MBT_EPARSE, "%s: empty file (not an image)", path);
  } else if (got >= 2 && sig[0] == 'P' && sig[1] == '6') {
    st = load_ppm(path, f, im);
  } else if (got >= 3 && sig[0] == 0xff && sig[1] == 0xd8 && sig[2] == 0xff) {
#ifdef HAVE_LIBJPEG
    st = load_jpeg(path, f, im);
#else
    st = mbt_fail(MBT_EUNSUPPORTED, "%s: JPEG, but this build has no libjpeg", path);
#endif
  } else if (got == 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8)) {
#ifdef HAVE_LIBPNG
    st = load_png(path, f, im);
#else
    st = mbt_fail(MBT_EUNSUPPORTED, "%s: PNG, but this build has no libpng", path);
#endif
  } else {
    st = mbt_fail(MBT_EUNSUPPORTED, "%s: not a JPEG, PNG or binary PPM (P6) image", path);
  }
  fclose(f);
  return st;
}

/* One axis of the resize: for each of @p out samples, the first source index and the weights
 * of a triangle filter of support max(1, in / out) (antialiased when reducing). */
struct taps {
  int *first, *n;
  float *w; /* n[i] weights per output, at i * maxn */
  int maxn;
};

static int taps_make(int in, int out, double offset, double scale, struct taps *t) {
  const double support = scale > 1 ? scale : 1; /* scale = in / out */
  t->maxn = (int)ceil(support) * 2 + 1;
  t->first = malloc((size_t)out * sizeof *t->first);
  t->n = malloc((size_t)out * sizeof *t->n);
  t->w = malloc((size_t)out * (size_t)t->maxn * sizeof *t->w);
  if (!t->first || !t->n || !t->w) return -1;
  for (int i = 0; i < out; i++) {
    const double center = offset + (i + 0.5) * scale; /* in source pixel units */
    int lo = (int)floor(center - support), hi = (int)ceil(center + support);
    if (lo < 0) lo = 0;
    if (hi > in) hi = in;
    double sum = 0;
    int n = 0;
    float *w = t->w + (size_t)i * t->maxn;
    for (int s = lo; s < hi && n < t->maxn; s++) {
      const double d = fabs((s + 0.5 - center) / support);
      const double v = d < 1 ? 1 - d : 0;
      w[n++] = (float)v;
      sum += v;
    }
    for (int k = 0; k < n; k++) w[k] = sum > 0 ? (float)(w[k] / sum) : 1.0f / n;
    t->first[i] = lo, t->n[i] = n;
  }
  return 0;
}

static void taps_free(struct taps *t) {
  free(t->first);
  free(t->n);
  free(t->w);
}

enum mbt_status mbt_image_input(const struct mbt_image *im, int res, const float mean[3],
                                const float std[3], float *out) {
  /* resize the shorter side to round(res / 0.875), then crop the centre res x res: this is one
   * resampling of the crop window straight to res x res */
  const int side = im->w < im->h ? im->w : im->h;
  const int resized = (int)floor(res / 0.875 + 0.5);
  const double scale = (double)side / resized; /* source pixels per resized pixel */
  const double x0 = ((im->w / scale - res) / 2) * scale, y0 = ((im->h / scale - res) / 2) * scale;
  struct taps tx = {0}, ty = {0};
  float *rows = malloc((size_t)im->h * res * 3 * sizeof *rows);
  enum mbt_status st = MBT_OK;
  if (!rows || taps_make(im->w, res, x0, scale, &tx) || taps_make(im->h, res, y0, scale, &ty)) {
    st = mbt_fail(MBT_ENOMEM, "cannot allocate the resize buffers");
    goto done;
  }
  for (int y = 0; y < im->h; y++) /* horizontal pass: every source row to res columns */
    for (int x = 0; x < res; x++) {
      float acc[3] = {0, 0, 0};
      const float *w = tx.w + (size_t)x * tx.maxn;
      for (int k = 0; k < tx.n[x]; k++) {
        const unsigned char *p = im->rgb + ((size_t)y * im->w + tx.first[x] + k) * 3;
        for (int c = 0; c < 3; c++) acc[c] += w[k] * p[c];
      }
      for (int c = 0; c < 3; c++) rows[((size_t)y * res + x) * 3 + c] = acc[c];
    }
  for (int y = 0; y < res; y++) /* vertical pass, then normalization */
    for (int x = 0; x < res; x++) {
      float acc[3] = {0, 0, 0};
      const float *w = ty.w + (size_t)y * ty.maxn;
      for (int k = 0; k < ty.n[y]; k++)
        for (int c = 0; c < 3; c++) acc[c] += w[k] * rows[((size_t)(ty.first[y] + k) * res + x) * 3 + c];
      for (int c = 0; c < 3; c++) {
        const float v = acc[c] < 0 ? 0 : acc[c] > 255 ? 255 : acc[c];
        out[((size_t)y * res + x) * 3 + c] = (v / 255.0f - mean[c]) / std[c];
      }
    }
done:
  free(rows);
  taps_free(&tx);
  taps_free(&ty);
  return st;
}
