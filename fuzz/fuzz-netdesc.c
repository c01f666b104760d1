/* fuzz/fuzz-netdesc.c -- libFuzzer harness for the network-description loader (mbt_model_load,
 * what --net-file and a described network's weight file read): any input is refused or built,
 * never a crash, a sanitizer report or a leak.  A network that builds must be one the engine
 * can take: every layer reads an earlier one, shapes chain, and its description gives the same
 * network back. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include "fuzz/fuzz-common.h"
#include "include/mobitune.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_write("net.json", data, size);
  struct mbt_model m;
  const enum mbt_status st = mbt_model_load(path, &m);
  fuzz_verdict("fuzz-netdesc", st);
  if (st != MBT_OK) return 0;
  for (int i = 0; i < m.nlayers; i++) {
    const struct mbt_layer *l = &m.layers[i];
    if (l->src < -1 || l->src >= i || l->res < -2 || l->res >= i || l->oh < 1 || l->ow < 1 ||
        l->oc < 1 || l->ic < 1 || (l->src >= 0 && m.layers[l->src].oc != l->ic))
      fuzz_die("a built network has a layer that does not chain");
  }
  char *d = mbt_model_describe(&m);
  struct mbt_model back;
  if (!d || mbt_model_parse(d, strlen(d), "again", &back) != MBT_OK) fuzz_die("the description of a built network does not build");
  if (back.nlayers != m.nlayers || back.macs != m.macs || back.bytes != m.bytes)
    fuzz_die("a network's description gives another network back");
  mbt_model_free(&back);
  free(d);
  mbt_model_free(&m);
  return 0;
}
