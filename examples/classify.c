/* examples/classify.c -- classify a photo with a converted model: the smallest complete use of
 * libmobitune (build: cc classify.c $(pkg-config --cflags --libs mobitune)).
 *
 *   classify MODEL.mbtw IMAGE [PLAN]
 *
 * Opens the model (and the plan store, when given), decodes and prepares the image as the
 * model expects, runs the network twice (the first run warms caches and packs nothing new:
 * weights are packed when the engine is opened), and prints the top-5 classes and the time of
 * every layer in the second run. */
#include <mobitune.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, enum mbt_status st) {
  fprintf(stderr, "classify: %s: %s: %s\n", what, mbt_status_str(st), mbt_last_error());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: classify MODEL.mbtw IMAGE [PLAN]\n");
    return 2;
  }
  mbt_engine_t e;
  enum mbt_status st = mbt_open(argv[1], argc > 3 ? argv[3] : NULL, 1, &e);
  if (st != MBT_OK) return fail(argv[1], st);
  const struct mbt_model *m = mbt_engine_model(e);
  struct mbt_image im;
  if ((st = mbt_image_load(argv[2], &im)) != MBT_OK) {
    mbt_engine_destroy(e);
    return fail(argv[2], st);
  }
  float mean[3], std[3];
  mbt_engine_normalization(e, mean, std);
  float *in = malloc((size_t)m->res * m->res * 3 * sizeof *in);
  st = in ? mbt_image_input(&im, m->res, mean, std, in) : MBT_ENOMEM;
  mbt_image_free(&im);
  if (st == MBT_OK) st = mbt_engine_run(e, in);
  if (st == MBT_OK) st = mbt_engine_run(e, in);
  if (st != MBT_OK) {
    free(in);
    mbt_engine_destroy(e);
    return fail("run", st);
  }
  int classes;
  const float *p = mbt_engine_output(e, &classes);
  char title[64];
  mbt_model_title(m, title, sizeof title);
  printf("%s: %s, %dx%d, %d classes\ntop-5:", argv[2], title, m->res, m->res, classes);
  int top[5];
  mbt_topk(p, classes, 5, top);
  for (int k = 0; k < 5 && top[k] >= 0; k++) printf(" %d (%.4f)", top[k], p[top[k]]);
  printf("\nlayers:\n");
  double total = 0;
  for (int i = 0; i < m->nlayers; i++) {
    const double us = mbt_engine_layer_ns(e, i) / 1e3;
    total += us;
    printf("  %-12s %9.1f us  %s\n", m->layers[i].name, us, mbt_engine_variant(e, i));
  }
  printf("total %.1f us\n", total);
  free(in);
  mbt_engine_destroy(e);
  return 0;
}
