/* bench/compare.c -- the shared set-up of the library comparisons (bench/compare.h). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench/compare.h"
#include "machine/machine.h"

void mbt_cmp_setup(struct mbt_cmp *c, const char *prog, int argc, char **argv) {
  memset(c, 0, sizeof *c);
  c->net = MBT_NET_V1, c->threads = 1, c->runs = 20, c->plan_path = "mobitune-data/plan.txt";
  const char *net_file = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--net") && i + 1 < argc && mbt_net_parse(argv[i + 1], &c->net) == MBT_OK) {
      i++;
    } else if (!strcmp(argv[i], "--net-file") && i + 1 < argc) {
      net_file = argv[++i];
    } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
      c->threads = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
      c->runs = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--plan") && i + 1 < argc) {
      c->plan_path = argv[++i];
    } else {
      fprintf(stderr, "%s: bad option '%s'\nusage: %s [--net v1|v2 | --net-file F] [--threads N] "
                      "[--runs N] [--plan F]\n", prog, argv[i], prog);
      exit(2);
    }
  }
  if (c->threads < 1 || c->threads > 256 || c->runs < 1 || c->runs > 100000) {
    fprintf(stderr, "%s: --threads must be in [1, 256] and --runs in [1, 100000]\n", prog);
    exit(2);
  }
#ifdef _OPENMP
  omp_set_num_threads(c->threads);
#endif
  mbt_pin_threads(c->threads);
  struct mbt_machine mach;
  mbt_machine_detect(&mach);
  if (net_file) {
    if (mbt_model_load(net_file, &c->m) != MBT_OK) {
      fprintf(stderr, "%s: %s\n", prog, mbt_last_error());
      exit(1);
    }
    c->net = MBT_NET_CUSTOM;
  } else {
    mbt_model_build(c->net, 1.0, 224, &c->m);
  }
  c->have_plan = mbt_plan_load(c->plan_path, &mach, &c->pl) == MBT_OK;
  if (!c->have_plan) fprintf(stderr, "%s: %s; mobitune runs its default plan\n", prog, mbt_last_error());
  if (mbt_engine_create(&c->m, c->have_plan ? &c->pl : NULL, NULL, 1, &c->tuned) != MBT_OK ||
      mbt_engine_create(&c->m, NULL, "ref/", 1, &c->ref) != MBT_OK) {
    fprintf(stderr, "%s: %s\n", prog, mbt_last_error());
    exit(1);
  }
  mbt_engine_set_threads(c->tuned, c->threads);
  if (c->have_plan && mbt_engine_apply_plan(c->tuned, &c->pl) != MBT_OK) {
    fprintf(stderr, "%s: %s\n", prog, mbt_last_error());
    exit(1);
  }
  c->in = malloc((size_t)c->m.res * c->m.res * 3 * sizeof *c->in);
  if (!c->in) exit(1);
  mbt_engine_fill_input(c->tuned, c->in, 2);
  mbt_engine_run(c->ref, c->in);
  mbt_engine_run(c->tuned, c->in);
}

double mbt_cmp_max_err(const float *a, const float *b, int n) {
  double e = 0;
  for (int i = 0; i < n; i++) e = fmax(e, fabs((double)a[i] - b[i]));
  return e;
}

void mbt_cmp_free(struct mbt_cmp *c) {
  free(c->in);
  mbt_engine_destroy(c->tuned);
  mbt_engine_destroy(c->ref);
  if (c->have_plan) mbt_plan_free(&c->pl);
  mbt_model_free(&c->m);
}
