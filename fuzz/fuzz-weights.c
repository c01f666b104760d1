/* fuzz/fuzz-weights.c -- libFuzzer harness for the weight-file loader (mbt_weights_load):
 * any input is refused or loaded, never a crash, a sanitizer report or a leak; a file that
 * loads is checked against the network it names (mbt_weights_model, mbt_weights_check), as
 * 'mobitune run --weights' does.  The header's checksum covers the tensor table, the network
 * description and the data
 * (net/weights.c); so that mutations get past it, the harness writes the right checksum into
 * any input whose header locates both within the input (as OSS-Fuzz harnesses fix up CRCs). */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include "common/common.h"
#include "fuzz/fuzz-common.h"
#include "include/mobitune.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t get_le(const unsigned char *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

/* The format's header: 128 bytes; tensors (u32) at 56, data offset (u64) at 64, data bytes
 * (u64) at 72, checksum (u64) at 80, description bytes (u32, version 2) at 88; the table of
 * 96-byte entries starts at byte 128, the network description follows it. */
static void fix_checksum(unsigned char *p, size_t n) {
  if (n < 128) return;
  const uint64_t nt = get_le(p + 56, 4), data = get_le(p + 64, 8), nbytes = get_le(p + 72, 8);
  const uint64_t desc = get_le(p + 8, 4) >= 2 ? get_le(p + 88, 4) : 0;
  const uint64_t table_end = 128 + nt * 96 + desc;
  if (nt > 4096 || table_end > n || data > n || nbytes > n - data) return;
  uint64_t h = mbt_fnv(0xcbf29ce484222325ull, p + 128, (size_t)(table_end - 128));
  h = mbt_fnv(h, p + data, (size_t)nbytes);
  for (int i = 0; i < 8; i++) p[80 + i] = (unsigned char)(h >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned char *copy = malloc(size ? size : 1);
  if (!copy) fuzz_die("out of memory");
  memcpy(copy, data, size);
  fix_checksum(copy, size);
  const char *path = fuzz_write("weights.mbtw", copy, size);
  free(copy);
  struct mbt_weights w;
  const enum mbt_status st = mbt_weights_load(path, &w);
  fuzz_verdict("fuzz-weights", st);
  if (st == MBT_OK) {
    struct mbt_model m;
    for (int i = 0; i < w.ntensors; i++)
      if (!w.t[i].name[0] || !memchr(w.t[i].name, 0, sizeof w.t[i].name) ||
          (const unsigned char *)w.t[i].data < (const unsigned char *)w.map ||
          (const unsigned char *)(w.t[i].data + w.t[i].count) >
              (const unsigned char *)w.map + w.map_len)
        fuzz_die("a loaded tensor lies outside the file");
    enum mbt_status chk = mbt_weights_model(&w, &m);
    if (chk == MBT_OK) {
      chk = mbt_weights_check(&w, &m);
      mbt_model_free(&m);
    }
    fuzz_verdict("fuzz-weights: the network check", chk);
  }
  mbt_weights_free(&w);
  return 0;
}
