/* net/input.c -- what a network is run on besides its weights: the ImageNet normalization,
 * raw input tensors and class names. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

/* torchvision's: the normalization of seeded weights and of weight files made from them. */
const float mbt_imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
const float mbt_imagenet_std[3] = {0.229f, 0.224f, 0.225f};

enum mbt_status mbt_input_load(const char *path, float *in, size_t n) {
  enum mbt_status st;
  size_t len;
  char *raw = mbt_read_file_max(path, n * sizeof *in, &len, &st);
  if (!raw && st == MBT_EINVAL) /* too large: the same words as too small */
    return mbt_fail(MBT_EPARSE, "%s: more than %zu bytes, not res x res x 3 float32 values",
                    path, n * sizeof *in);
  if (!raw) return st;
  if (len != n * sizeof *in) {
    free(raw);
    return mbt_fail(MBT_EPARSE, "%s: %zu bytes, not res x res x 3 float32 values (%zu bytes)",
                    path, len, n * sizeof *in);
  }
  memcpy(in, raw, len);
  free(raw);
  for (size_t i = 0; i < n; i++)
    if (!isfinite(in[i]))
      return mbt_fail(MBT_EPARSE, "%s: value %zu (byte %zu) is %s, not a finite number", path, i,
                      i * sizeof *in, isnan(in[i]) ? "NaN" : "infinite");
  return MBT_OK;
}

enum mbt_status mbt_labels_load(const char *path, int classes, struct mbt_labels *lab) {
  memset(lab, 0, sizeof *lab);
  enum mbt_status st;
  size_t len;
  char *text = mbt_read_file_max(path, MBT_LABELS_MAX, &len, &st);
  if (!text) return st;
  const char *nul = memchr(text, 0, len);
  if (nul) {
    int line = 1;
    for (const char *q = text; q < nul; q++) line += *q == '\n';
    free(text);
    return mbt_fail(MBT_EPARSE, "%s: line %d holds a NUL byte (not a text file?)", path, line);
  }
  const char **name = calloc((size_t)classes, sizeof *name);
  if (!name) {
    free(text);
    return mbt_fail(MBT_ENOMEM, "cannot allocate the labels of %s", path);
  }
  int n = 0;
  for (char *s = text; *s;) {
    char *nl = strchr(s, '\n');
    if (nl) *nl = 0;
    if (n < classes) name[n] = s;
    n++;
    size_t l = strlen(s);
    if (l && s[l - 1] == '\r') s[l - 1] = 0;
    if (!nl) break;
    s = nl + 1;
  }
  if (n != classes) {
    free(name);
    free(text);
    return mbt_fail(MBT_EPARSE, "%s: %d lines for a network of %d classes", path, n, classes);
  }
  lab->n = classes, lab->name = name, lab->text = text;
  return MBT_OK;
}

void mbt_labels_free(struct mbt_labels *lab) {
  free(lab->name);
  free(lab->text);
  memset(lab, 0, sizeof *lab);
}
