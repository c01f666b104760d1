/* fuzz/fuzz-image.c -- libFuzzer harness for the image decoder (mbt_image_load: JPEG, PNG and
 * binary PPM by their signatures): any input is refused or decoded, never a crash, a sanitizer
 * report or a leak; a decoded image of at most 2^20 pixels is made into a 32 x 32 network
 * input (mbt_image_input), as 'mobitune run --image' does (bigger ones are only decoded, to
 * keep each run short). */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include "fuzz/fuzz-common.h"
#include "include/mobitune.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_write("image", data, size);
  struct mbt_image im;
  const enum mbt_status st = mbt_image_load(path, &im);
  fuzz_verdict("fuzz-image", st);
  if (st == MBT_OK) {
    if (im.w < 1 || im.h < 1 || !im.rgb) fuzz_die("a decoded image has no pixels");
    static float in[32 * 32 * 3];
    if ((long long)im.w * im.h <= 1 << 20)
      (void)mbt_image_input(&im, 32, mbt_imagenet_mean, mbt_imagenet_std, in);
    mbt_image_free(&im);
  }
  return 0;
}
