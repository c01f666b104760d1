/* net/weights.c -- the weight file: a versioned, checksummed, memory-mappable container of the
 * folded fp32 tensors of one network (the format is in README.md, "Weight files").
 *
 * Loading trusts nothing: every size is checked for overflow before it is used, every tensor
 * must lie inside the data region, names must be terminated, and the checksum covers the tensor
 * table and the data, so a flipped byte anywhere past the header is caught.  The loader maps
 * the file read-only; tensors point into the mapping. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "net/net.h"

#define MAGIC "MOBITUNW"
#define HEADER_BYTES 128
#define ENTRY_BYTES 96
#define MAX_TENSORS 4096
#define MAX_VALUES (UINT64_C(1) << 32) /* per tensor */
#define MAX_DESC (UINT32_C(16) << 20)   /* bytes of a network description */

/* Little-endian field access (the format is little-endian on every host). */
static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
  put32(p, (uint32_t)v);
  put32(p + 4, (uint32_t)(v >> 32));
}
static float getf(const unsigned char *p) {
  const uint32_t u = get32(p);
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static void putf(unsigned char *p, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  put32(p, u);
}

static int little_endian(void) {
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

void mbt_weights_free(struct mbt_weights *w) {
  if (w->map) munmap(w->map, w->map_len);
  free(w->t);
  free(w->desc);
  memset(w, 0, sizeof *w);
}

const struct mbt_tensor *mbt_weights_find(const struct mbt_weights *w, const char *name) {
  for (int i = 0; i < w->ntensors; i++)
    if (!strcmp(w->t[i].name, name)) return &w->t[i];
  return NULL;
}

/* What the header says of the rest of the file: its tensors and where their values lie. */
struct layout {
  uint32_t nt;           /* tensors in the table */
  uint32_t desc;         /* bytes of the network description after the table (version 2) */
  uint64_t data, nbytes; /* the data region: its offset in the file and its size */
};

/* Check the header fields that describe the network into @p w. */
static enum mbt_status parse_network(const char *path, const unsigned char *p,
                                     struct mbt_weights *w) {
  const uint32_t kind = get32(p + 12);
  double alpha;
  const uint64_t ab = get64(p + 16);
  memcpy(&alpha, &ab, 8);
  const uint32_t res = get32(p + 24), classes = get32(p + 28);
  if (kind < MBT_NET_V1 || kind > MBT_NET_CUSTOM)
    return mbt_fail(MBT_EPARSE, "%s: field 'network': unknown kind %u", path, kind);
  if (!(alpha > 0 && alpha <= 1.5))
    return mbt_fail(MBT_EPARSE, "%s: field 'alpha': %g is outside (0, 1.5]", path, alpha);
  if (res < 32 || res > 1024)
    return mbt_fail(MBT_EPARSE, "%s: field 'resolution': %u is outside [32, 1024]", path, res);
  if (classes < 1 || classes > 100000)
    return mbt_fail(MBT_EPARSE, "%s: field 'classes': %u is outside [1, 100000]", path, classes);
  w->kind = (enum mbt_net_kind)kind, w->alpha = alpha, w->res = (int)res, w->classes = (int)classes;
  const uint32_t prep = get32(p + 8) >= 2 ? get32(p + 92) : 0, rs = get32(p + 8) >= 2 ? get32(p + 96) : 0;
  if (prep > MBT_PREPROCESS_TF)
    return mbt_fail(MBT_EPARSE, "%s: field 'preprocessing': %u (0 none, 1 torchvision, 2 tf)", path, prep);
  if (rs && (prep != MBT_PREPROCESS_TORCHVISION || rs < res || rs > 8192))
    return mbt_fail(MBT_EPARSE, "%s: field 'resize': %u (torchvision's Resize(S): S in [res, 8192] "
                    "with torchvision preprocessing, else 0)", path, rs);
  w->preprocess = (int)prep, w->resize = (int)rs;
  for (int c = 0; c < 3; c++) {
    w->mean[c] = getf(p + 32 + 4 * c), w->std[c] = getf(p + 44 + 4 * c);
    if (!(w->std[c] >= 1e-6f && w->std[c] <= 1e6f) || !(w->mean[c] >= -1e6f && w->mean[c] <= 1e6f))
      return mbt_fail(MBT_EPARSE, "%s: field 'normalization': channel %d has mean %g std %g "
                      "(finite, mean in [-1e6, 1e6] and std in [1e-6, 1e6] allowed)", path, c,
                      (double)w->mean[c], (double)w->std[c]);
  }
  return MBT_OK;
}

/* Check where the header puts the tensor table and the data of a file of @p len bytes, and the
 * checksum over both, into @p lo. */
static enum mbt_status parse_layout(const char *path, const unsigned char *p, size_t len,
                                    uint32_t version, struct layout *lo) {
  const uint32_t nt = get32(p + 56), table = get32(p + 60), kind = get32(p + 12);
  const uint32_t desc = version >= 2 ? get32(p + 88) : 0;
  const uint64_t data = get64(p + 64), nbytes = get64(p + 72), sum = get64(p + 80);
  if (nt == 0 || nt > MAX_TENSORS)
    return mbt_fail(MBT_EPARSE, "%s: field 'tensors': %u is outside [1, %d]", path, nt, MAX_TENSORS);
  if (table != HEADER_BYTES)
    return mbt_fail(MBT_EPARSE, "%s: field 'table offset': %u, expected %d", path, table,
                    HEADER_BYTES);
  if ((kind == MBT_NET_CUSTOM) != (desc > 0) || desc > MAX_DESC)
    return mbt_fail(MBT_EPARSE, "%s: field 'description bytes': %u (a described network has 1 to "
                    "%u bytes of description, a built-in one none)", path, desc, MAX_DESC);
  const uint64_t table_end = (uint64_t)HEADER_BYTES + (uint64_t)nt * ENTRY_BYTES + desc;
  if (data < table_end || data % 64 != 0 || data > len)
    return mbt_fail(MBT_EPARSE, "%s: field 'data offset': %llu is not a 64-byte boundary after "
                    "the tensor table and description within the file (%zu bytes; truncated?)", path,
                    (unsigned long long)data, len);
  if (nbytes > len - data)
    return mbt_fail(MBT_EPARSE, "%s: field 'data bytes': %llu bytes of data do not fit in the "
                    "file (%llu after the header; truncated?)", path, (unsigned long long)nbytes,
                    (unsigned long long)(len - data));
  if (nbytes < len - data)
    return mbt_fail(MBT_EPARSE, "%s: %llu bytes after the data region (the header says %llu data "
                    "bytes; trailing junk)", path, (unsigned long long)(len - data - nbytes),
                    (unsigned long long)nbytes);
  uint64_t h = mbt_fnv(0xcbf29ce484222325ull, p + HEADER_BYTES, (size_t)(table_end - HEADER_BYTES));
  h = mbt_fnv(h, p + data, (size_t)nbytes);
  if (h != sum)
    return mbt_fail(MBT_EPARSE, "%s: checksum mismatch (file says %016llx, contents give %016llx): "
                    "the file is damaged", path, (unsigned long long)sum, (unsigned long long)h);
  lo->nt = nt, lo->desc = desc, lo->data = data, lo->nbytes = nbytes;
  return MBT_OK;
}

/* Check table entry @p i into w->t[i]; @p end grows to where its values end in the data. */
static enum mbt_status parse_tensor(const char *path, const unsigned char *p,
                                    const struct layout *lo, uint32_t i, struct mbt_weights *w,
                                    uint64_t *end) {
  const unsigned char *e = p + HEADER_BYTES + (size_t)i * ENTRY_BYTES;
  struct mbt_tensor *t = &w->t[i];
  if (memchr(e, 0, sizeof t->name) == NULL || e[0] == 0)
    return mbt_fail(MBT_EPARSE, "%s: tensor %u: empty or unterminated name", path, i);
  memcpy(t->name, e, sizeof t->name);
  const uint32_t ndim = get32(e + 48);
  if (ndim < 1 || ndim > 4)
    return mbt_fail(MBT_EPARSE, "%s: tensor %s: %u dimensions (1 to 4 allowed)", path, t->name, ndim);
  t->ndim = (int)ndim;
  uint64_t count = 1; /* checked before each multiply: at most MAX_VALUES, never wrapped */
  for (uint32_t d = 0; d < 4; d++) {
    const uint32_t s = get32(e + 52 + 4 * d);
    if (d >= ndim) {
      if (s != 0)
        return mbt_fail(MBT_EPARSE, "%s: tensor %s: dimension %u of a %u-dimensional tensor is "
                        "%u (0 expected)", path, t->name, d, ndim, s);
      continue;
    }
    if (s == 0 || s > (1u << 24) || count > MAX_VALUES / s)
      return mbt_fail(MBT_EPARSE, "%s: tensor %s: dimension %u of size %u is zero or too large "
                      "(at most 2^24 per dimension and 2^32 values)", path, t->name, d, s);
    t->shape[d] = (int)s;
    count *= s;
  }
  const uint64_t off = get64(e + 72), cnt = get64(e + 80), nbytes = lo->nbytes;
  if (cnt != count)
    return mbt_fail(MBT_EPARSE, "%s: tensor %s: %llu values but its shape holds %llu", path,
                    t->name, (unsigned long long)cnt, (unsigned long long)count);
  if (off % 4 != 0 || off > nbytes || cnt > (nbytes - off) / 4)
    return mbt_fail(MBT_EPARSE, "%s: tensor %s: [%llu, +%llu floats) lies outside the %llu data "
                    "bytes", path, t->name, (unsigned long long)off, (unsigned long long)cnt,
                    (unsigned long long)nbytes);
  t->count = (size_t)cnt;
  t->data = (const float *)(const void *)(p + lo->data + off);
  if (off + cnt * 4 > *end) *end = off + cnt * 4;
  for (uint32_t k = 0; k < i; k++)
    if (!strcmp(w->t[k].name, t->name))
      return mbt_fail(MBT_EPARSE, "%s: tensor %s appears twice", path, t->name);
  return MBT_OK;
}

/* Parse and check a mapped file of @p len bytes at @p p into @p w. */
static enum mbt_status parse(const char *path, const unsigned char *p, size_t len,
                             struct mbt_weights *w) {
  if (len < HEADER_BYTES)
    return mbt_fail(MBT_EPARSE, "%s: %zu bytes is shorter than the %d-byte header (truncated?)",
                    path, len, HEADER_BYTES);
  if (memcmp(p, MAGIC, 8) != 0)
    return mbt_fail(MBT_EPARSE, "%s: not a mobitune weight file (bad magic)", path);
  const uint32_t version = get32(p + 8);
  if (version < 1 || version > MBT_WEIGHTS_VERSION)
    return mbt_fail(MBT_EPARSE, "%s: weight file version %u, this build reads versions 1 to %d",
                    path, version, MBT_WEIGHTS_VERSION);
  struct layout lo = {0};
  enum mbt_status st = parse_network(path, p, w);
  if (st == MBT_OK) st = parse_layout(path, p, len, version, &lo);
  if (st != MBT_OK) return st;
  if (lo.desc) { /* a NUL-terminated copy for the JSON parser */
    if (!(w->desc = malloc((size_t)lo.desc + 1)))
      return mbt_fail(MBT_ENOMEM, "cannot allocate the network description");
    memcpy(w->desc, p + HEADER_BYTES + (size_t)lo.nt * ENTRY_BYTES, lo.desc);
    w->desc[lo.desc] = 0;
    w->desc_len = lo.desc;
  }
  if (!(w->t = calloc(lo.nt, sizeof *w->t)))
    return mbt_fail(MBT_ENOMEM, "cannot allocate the tensor table");
  w->ntensors = (int)lo.nt;
  uint64_t end = 0; /* where the last tensor's values end in the data */
  for (uint32_t i = 0; i < lo.nt; i++)
    if ((st = parse_tensor(path, p, &lo, i, w, &end)) != MBT_OK) return st;
  if (lo.nbytes > (end + 63) / 64 * 64)
    return mbt_fail(MBT_EPARSE, "%s: field 'data bytes': %llu, but the tensors end at byte %llu "
                    "of the data (trailing bytes after the last tensor)", path,
                    (unsigned long long)lo.nbytes, (unsigned long long)end);
  return MBT_OK;
}

enum mbt_status mbt_weights_load(const char *path, struct mbt_weights *w) {
  memset(w, 0, sizeof *w);
  if (!little_endian())
    return mbt_fail(MBT_EUNSUPPORTED, "weight files are little-endian; this host is not");
  struct stat sb;
  enum mbt_status st;
  const int fd = mbt_open_read(path, &sb, &st); /* a directory: EISDIR named */
  if (fd < 0) return st;
  if (!S_ISREG(sb.st_mode)) {
    close(fd);
    return mbt_fail(MBT_EIO, "%s: not a regular file (a weight file is mapped: no pipe or device)",
                    path);
  }
  if ((uintmax_t)sb.st_size > SIZE_MAX / 2) {
    close(fd);
    return mbt_fail(MBT_EUNSUPPORTED, "%s: %jd bytes cannot be mapped here", path,
                    (intmax_t)sb.st_size);
  }
  const size_t len = (size_t)sb.st_size;
  if (len < HEADER_BYTES) {
    close(fd);
    return mbt_fail(MBT_EPARSE, "%s: %zu bytes is shorter than the %d-byte header (truncated?)",
                    path, len, HEADER_BYTES);
  }
  void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return mbt_fail(MBT_EIO, "%s: cannot map: %s", path, strerror(errno));
  w->map = map, w->map_len = len;
  st = parse(path, map, len, w);
  if (st != MBT_OK) mbt_weights_free(w);
  return st;
}

enum mbt_status mbt_weights_model(const struct mbt_weights *w, struct mbt_model *m) {
  if (w->kind != MBT_NET_CUSTOM) return mbt_model_build_ex(w->kind, w->alpha, w->res, w->classes, m);
  enum mbt_status st = mbt_model_parse(w->desc, w->desc_len, "the weight file's network", m);
  if (st == MBT_OK && (m->res != w->res || m->classes != w->classes)) {
    st = mbt_fail(MBT_EPARSE, "the weight file's network description has a %d x %d input and %d "
                  "classes; its header says %d and %d", m->res, m->res, m->classes, w->res,
                  w->classes);
    mbt_model_free(m);
  }
  return st;
}

/* The shape layer @p l's weight tensor must have: conv [k, k, ic, oc], depthwise [k, k, c],
 * pointwise and fully connected [ic, oc]. */
static int weight_shape(const struct mbt_layer *l, int *shape) {
  switch (l->op) {
    case MBT_OP_CONV: shape[0] = shape[1] = l->k, shape[2] = l->ic, shape[3] = l->oc; return 4;
    case MBT_OP_DWCONV: shape[0] = shape[1] = l->k, shape[2] = l->ic; return 3;
    default: shape[0] = l->ic, shape[1] = l->oc; return 2;
  }
}

static enum mbt_status check_tensor(const struct mbt_weights *w, const char *name, int ndim,
                                    const int *shape, const struct mbt_tensor **out) {
  const struct mbt_tensor *t = mbt_weights_find(w, name);
  if (!t) return mbt_fail(MBT_EPARSE, "the weight file has no tensor %s", name);
  int same = t->ndim == ndim;
  for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
  if (!same) {
    char want[64] = "", got[64] = "";
    for (int d = 0; d < ndim; d++)
      snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", d ? "x" : "", shape[d]);
    for (int d = 0; d < t->ndim; d++)
      snprintf(got + strlen(got), sizeof got - strlen(got), "%s%d", d ? "x" : "", t->shape[d]);
    return mbt_fail(MBT_EPARSE, "tensor %s has shape %s; the network needs %s", name, got, want);
  }
  *out = t;
  return MBT_OK;
}

enum mbt_status mbt_weights_check(const struct mbt_weights *w, const struct mbt_model *m) {
  for (int i = 0; i < m->nlayers; i++) {
    const struct mbt_layer *l = &m->layers[i];
    if (!mbt_layer_has_weights(l)) continue;
    char name[64];
    int shape[4];
    const struct mbt_tensor *t;
    const int nd = weight_shape(l, shape);
    snprintf(name, sizeof name, "%s.weight", l->name);
    enum mbt_status st = check_tensor(w, name, nd, shape, &t);
    if (st != MBT_OK) return st;
    snprintf(name, sizeof name, "%s.bias", l->name);
    if ((st = check_tensor(w, name, 1, &l->oc, &t)) != MBT_OK) return st;
  }
  return MBT_OK;
}

enum mbt_status mbt_weights_write(const struct mbt_model *m, const float *const *w,
                                  const float *const *b, const float mean[3], const float std[3],
                                  const char *path) {
  int nt = 0;
  size_t nbytes = 0;
  for (int i = 0; i < m->nlayers; i++) {
    if (!mbt_layer_has_weights(&m->layers[i])) continue;
    nt += 2;
    nbytes += (mbt_layer_weight_count(&m->layers[i]) * 4 + 63) / 64 * 64;
    nbytes += ((size_t)m->layers[i].oc * 4 + 63) / 64 * 64;
  }
  char *desc = m->kind == MBT_NET_CUSTOM ? mbt_model_describe(m) : NULL;
  const size_t dlen = desc ? strlen(desc) : 0;
  if (m->kind == MBT_NET_CUSTOM && (!desc || dlen > MAX_DESC)) {
    free(desc);
    return mbt_fail(MBT_ENOMEM, "cannot write the network description");
  }
  const size_t table_end = (size_t)HEADER_BYTES + (size_t)nt * ENTRY_BYTES;
  const size_t data = (table_end + dlen + 63) / 64 * 64;
  unsigned char *buf = calloc(1, data + nbytes);
  if (!buf) {
    free(desc);
    return mbt_fail(MBT_ENOMEM, "cannot allocate the weight file");
  }
  if (dlen) memcpy(buf + table_end, desc, dlen);
  free(desc);
  put32(buf + 88, (uint32_t)dlen);
  memcpy(buf, MAGIC, 8);
  put32(buf + 8, MBT_WEIGHTS_VERSION);
  put32(buf + 12, (uint32_t)m->kind);
  uint64_t ab;
  memcpy(&ab, &m->alpha, 8);
  put64(buf + 16, ab);
  put32(buf + 24, (uint32_t)m->res);
  put32(buf + 28, (uint32_t)m->classes);
  for (int c = 0; c < 3; c++) putf(buf + 32 + 4 * c, mean[c]), putf(buf + 44 + 4 * c, std[c]);
  put32(buf + 56, (uint32_t)nt);
  put32(buf + 60, HEADER_BYTES);
  put64(buf + 64, data);
  put64(buf + 72, nbytes);
  size_t off = 0;
  int k = 0;
  for (int i = 0; i < m->nlayers; i++) {
    const struct mbt_layer *l = &m->layers[i];
    if (!mbt_layer_has_weights(l)) continue;
    for (int part = 0; part < 2; part++, k++) {
      unsigned char *en = buf + HEADER_BYTES + (size_t)k * ENTRY_BYTES;
      int shape[4] = {l->oc, 0, 0, 0};
      const int nd = part ? 1 : weight_shape(l, shape);
      const size_t cnt = part ? (size_t)l->oc : mbt_layer_weight_count(l);
      snprintf((char *)en, 48, "%s.%s", l->name, part ? "bias" : "weight");
      put32(en + 48, (uint32_t)nd);
      for (int d = 0; d < nd; d++) put32(en + 52 + 4 * d, (uint32_t)shape[d]);
      put64(en + 72, off);
      put64(en + 80, cnt);
      const float *src = part ? b[i] : w[i];
      for (size_t j = 0; j < cnt; j++) putf(buf + data + off + 4 * j, src[j]);
      off += (cnt * 4 + 63) / 64 * 64;
    }
  }
  uint64_t h = mbt_fnv(0xcbf29ce484222325ull, buf + HEADER_BYTES, table_end + dlen - HEADER_BYTES);
  put64(buf + 80, mbt_fnv(h, buf + data, nbytes));
  const enum mbt_status st = mbt_write_atomic(path, (const char *)buf, data + nbytes);
  free(buf);
  return st;
}
