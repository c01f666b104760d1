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

/* One axis of a resize: for each output sample, the first source index and its weights. */
struct taps {
  int *first, *n;
  float *w; /* n[i] weights per output, at i * maxn */
  int maxn;
};

static int taps_alloc(int out, int maxn, struct taps *t) {
  t->maxn = maxn;
  t->first = malloc((size_t)out * sizeof *t->first);
  t->n = malloc((size_t)out * sizeof *t->n);
  t->w = calloc((size_t)out * (size_t)maxn, sizeof *t->w);
  return t->first && t->n && t->w ? 0 : -1;
}

/* torchvision's antialiased bilinear resize of @p in samples to @p size, as PyTorch computes
 * its weights (interpolate(..., mode="bilinear", antialias=True, align_corners=False)): scale =
 * in / size, support = max(scale, 1), the triangle filter stretched by the scale when reducing,
 * bounds truncated as C casts them, weights normalized; the @p out outputs from @p from on (the
 * crop). */
static int taps_torchvision(int in, int size, int from, int out, struct taps *t) {
  const double scale = (double)in / size, support = scale >= 1 ? scale : 1.0;
  const double inv = scale >= 1 ? 1.0 / scale : 1.0;
  if (taps_alloc(out, (int)ceil(support) * 2 + 1, t)) return -1;
  for (int i = 0; i < out; i++) {
    const double center = scale * (from + i + 0.5);
    long lo = (long)(center - support + 0.5), hi = (long)(center + support + 0.5);
    if (lo < 0) lo = 0;
    if (hi > in) hi = in;
    int n = 0;
    double sum = 0;
    float *w = t->w + (size_t)i * t->maxn;
    for (long j = lo; j < hi && n < t->maxn; j++) {
      const double x = fabs(((double)j - center + 0.5) * inv);
      w[n] = (float)(x < 1 ? 1 - x : 0);
      sum += x < 1 ? 1 - x : 0;
      n++;
    }
    for (int k = 0; k < n; k++) w[k] = (float)(sum != 0 ? w[k] / sum : 0);
    t->first[i] = (int)lo, t->n[i] = n;
  }
  return 0;
}

/* TF-slim's bilinear resize (tf.image.resize_bilinear, align_corners = false, no half-pixel
 * centres, no antialiasing) of the @p in samples from @p start to @p out: output i samples
 * source start + i in / out, between two pixels (the last repeated at the edge). */
static int taps_tf(int start, int in, int out, struct taps *t) {
  if (taps_alloc(out, 2, t)) return -1;
  const float scale = (float)in / (float)out;
  for (int i = 0; i < out; i++) {
    const float x = (float)i * scale;
    const int x0 = (int)floorf(x), x1 = x0 + 1 < in ? x0 + 1 : in - 1;
    const float d = x - (float)x0;
    t->first[i] = start + x0;
    t->n[i] = x1 > x0 ? 2 : 1;
    t->w[(size_t)i * 2] = x1 > x0 ? 1 - d : 1;
    t->w[(size_t)i * 2 + 1] = x1 > x0 ? d : 0;
  }
  return 0;
}

static void taps_free(struct taps *t) {
  free(t->first);
  free(t->n);
  free(t->w);
}

/* Python's round() of a half-integer-or-integer @p x: to the even neighbour at .5. */
static int round_half_even(double x) {
  const double f = floor(x);
  return x - f > 0.5 || (x - f == 0.5 && fmod(f, 2) != 0) ? (int)f + 1 : (int)f;
}

const char *mbt_preprocess_name(enum mbt_preprocess p) {
  return p == MBT_PREPROCESS_TF ? "tf" : p == MBT_PREPROCESS_TORCHVISION ? "torchvision" : "?";
}

enum mbt_status mbt_image_prepare(const struct mbt_image *im, int res, enum mbt_preprocess kind,
                                  int resize, const float mean[3], const float std[3],
                                  float *out) {
  struct taps tx = {0}, ty = {0};
  int bad = 0;
  if (kind == MBT_PREPROCESS_TF) {
    /* tf.image.central_crop(0.875): the start truncated, the size what is left */
    const int sx = (int)((im->w - im->w * 0.875) / 2), sy = (int)((im->h - im->h * 0.875) / 2);
    bad = taps_tf(sx, im->w - 2 * sx, res, &tx) || taps_tf(sy, im->h - 2 * sy, res, &ty);
  } else if (kind == MBT_PREPROCESS_TORCHVISION) {
    /* Resize(S): the shorter side to S, the longer to int(S long / short); CenterCrop(res) at
     * int(round((size - res) / 2)) */
    const int s = resize > 0 ? resize : (int)floor(res / 0.875 + 0.5);
    if (s < res)
      return mbt_fail(MBT_EINVAL, "torchvision preprocessing: Resize(%d) is smaller than the "
                      "%d x %d crop", s, res, res);
    const int w = im->w <= im->h ? s : (int)((double)s * im->w / im->h);
    const int h = im->w <= im->h ? (int)((double)s * im->h / im->w) : s;
    bad = taps_torchvision(im->w, w, round_half_even((w - res) / 2.0), res, &tx) ||
          taps_torchvision(im->h, h, round_half_even((h - res) / 2.0), res, &ty);
  } else {
    return mbt_fail(MBT_EINVAL, "unknown preprocessing %d", (int)kind);
  }
  float *rows = bad ? NULL : malloc((size_t)im->h * res * 3 * sizeof *rows);
  enum mbt_status st = MBT_OK;
  if (!rows) {
    st = mbt_fail(MBT_ENOMEM, "cannot allocate the resize buffers");
    goto done;
  }
  for (int y = 0; y < im->h; y++) /* horizontal pass first, as PyTorch: every row to res */
    for (int x = 0; x < res; x++) {
      float acc[3] = {0, 0, 0};
      const float *w = tx.w + (size_t)x * tx.maxn;
      for (int k = 0; k < tx.n[x]; k++) {
        const unsigned char *p = im->rgb + ((size_t)y * im->w + tx.first[x] + k) * 3;
        for (int c = 0; c < 3; c++) acc[c] += w[k] * (p[c] / 255.0f);
      }
      for (int c = 0; c < 3; c++) rows[((size_t)y * res + x) * 3 + c] = acc[c];
    }
  for (int y = 0; y < res; y++) /* vertical pass, then normalization */
    for (int x = 0; x < res; x++) {
      float acc[3] = {0, 0, 0};
      const float *w = ty.w + (size_t)y * ty.maxn;
      for (int k = 0; k < ty.n[y]; k++)
        for (int c = 0; c < 3; c++) acc[c] += w[k] * rows[((size_t)(ty.first[y] + k) * res + x) * 3 + c];
      for (int c = 0; c < 3; c++) out[((size_t)y * res + x) * 3 + c] = (acc[c] - mean[c]) / std[c];
    }
done:
  free(rows);
  taps_free(&tx);
  taps_free(&ty);
  return st;
}

enum mbt_status mbt_image_input(const struct mbt_image *im, int res, const float mean[3],
                                const float std[3], float *out) {
  return mbt_image_prepare(im, res, MBT_PREPROCESS_TORCHVISION, 0, mean, std, out);
}
