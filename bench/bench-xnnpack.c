/* bench/bench-xnnpack.c -- MobileNet V1/V2 in XNNPACK (Debian's libxnnpack-dev) beside mobitune,
 * on the same weights and input, measured in one run with the two interleaved round by round.
 * XNNPACK is used through its operator API as its own MobileNet benchmarks use it: NHWC
 * activations, one operator per layer created once (weights packed at creation), depthwise
 * layers with XNN_FLAG_DEPTHWISE_CONVOLUTION, ReLU6 as the operators' output clamp, the V2
 * residual as an add operator, a pthreadpool of N threads.  The logits are compared with
 * mobitune's reference path.
 *
 * Caveat printed with the figures: Debian builds XNNPACK with GCC, whose register allocation
 * spills an accumulator in XNNPACK's main GEMM micro-kernel; the same code built with clang runs
 * about 2.3x faster on this machine, so oneDNN (bench-onednn) is the bar, not this.
 *
 * usage: bench-xnnpack [--net v1|v2 | --net-file FILE] [--threads N] [--runs N] [--plan FILE] */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthreadpool.h>
#include <xnnpack.h>

#include "bench/compare.h"

#define CHECK(call)                                                                            \
  do {                                                                                         \
    enum xnn_status s_ = (call);                                                               \
    if (s_ != xnn_status_success) {                                                            \
      fprintf(stderr, "bench-xnnpack: %s failed (status %d) at %s:%d\n", #call, (int)s_,        \
              __FILE__, __LINE__);                                                             \
      exit(1);                                                                                 \
    }                                                                                          \
  } while (0)

struct xnet {
  int n;
  xnn_operator_t op[MBT_MAX_LAYERS], add[MBT_MAX_LAYERS]; /* add: the residual, if any */
  float *out[MBT_MAX_LAYERS], *tmp[MBT_MAX_LAYERS]; /* tmp: the convolution's output before it */
  pthreadpool_t pool;
};

/* Weights in XNNPACK's layout: [oc][kh][kw][ic] from mobitune's HWIO / [ic][oc]. */
static float *ohwi(const struct mbt_layer *l, const float *w) {
  const size_t kk = (size_t)l->k * l->k, ic = (size_t)l->ic, oc = (size_t)l->oc;
  float *t = malloc(kk * ic * oc * sizeof *t);
  for (size_t p = 0; p < kk; p++)
    for (size_t i = 0; i < ic; i++)
      for (size_t o = 0; o < oc; o++) t[(o * kk + p) * ic + i] = w[(p * ic + i) * oc + o];
  return t;
}

static void build(struct xnet *x, const struct mbt_model *m, mbt_engine_t eng, const float *in) {
  x->n = m->nlayers;
  for (int i = 0; i < m->nlayers; i++) {
    const struct mbt_layer *l = &m->layers[i];
    const float lo = l->act == MBT_ACT_RELU6 || l->act == MBT_ACT_RELU ? 0.0f : -INFINITY;
    const float hi = l->act == MBT_ACT_RELU6 ? 6.0f : INFINITY;
    const float *w, *b;
    mbt_engine_weights(eng, i, &w, &b);
    x->out[i] = malloc((size_t)l->oh * l->ow * l->oc * sizeof(float));
    x->tmp[i] = l->res >= -1 ? malloc((size_t)l->oh * l->ow * l->oc * sizeof(float)) : NULL;
    float *dst = x->tmp[i] ? x->tmp[i] : x->out[i];
    const float *src = l->src < 0 ? in : x->out[l->src];
    const uint32_t p = (uint32_t)l->pad, q = (uint32_t)l->pad_end; /* before; after */
    if (l->op == MBT_OP_DWCONV) {
      CHECK(xnn_create_convolution2d_nhwc_f32(p, q, q, p, l->k, l->k, l->stride, l->stride, 1, 1,
                                              l->ic, 1, 1, l->ic, l->oc, w, b, lo, hi,
                                              XNN_FLAG_DEPTHWISE_CONVOLUTION, &x->op[i]));
    } else if (l->op == MBT_OP_CONV || l->op == MBT_OP_PWCONV) {
      float *t = ohwi(l, w);
      CHECK(xnn_create_convolution2d_nhwc_f32(p, q, q, p, l->k, l->k, l->stride, l->stride, 1, 1,
                                              1, l->ic, l->oc, l->ic, l->oc, t, b, lo, hi, 0,
                                              &x->op[i]));
      free(t);
    } else if (l->op == MBT_OP_GAVGPOOL) {
      CHECK(xnn_create_global_average_pooling_nwc_f32(l->ic, l->ic, l->ic, -INFINITY, INFINITY,
                                                      0, &x->op[i]));
      CHECK(xnn_setup_global_average_pooling_nwc_f32(x->op[i], 1, (size_t)l->ih * l->iw, src,
                                                     dst, x->pool));
      continue;
    } else { /* fully connected */
      float *t = ohwi(l, w);
      CHECK(xnn_create_fully_connected_nc_f32(l->ic, l->oc, l->ic, l->oc, t, b, lo, hi, 0,
                                              &x->op[i]));
      free(t);
      CHECK(xnn_setup_fully_connected_nc_f32(x->op[i], 1, src, dst, x->pool));
      continue;
    }
    CHECK(xnn_setup_convolution2d_nhwc_f32(x->op[i], 1, l->ih, l->iw, src, dst, x->pool));
    if (x->tmp[i]) {
      const size_t shape[4] = {1, (size_t)l->oh, (size_t)l->ow, (size_t)l->oc};
      CHECK(xnn_create_add_nd_f32(-INFINITY, INFINITY, 0, &x->add[i]));
      CHECK(xnn_setup_add_nd_f32(x->add[i], 4, shape, 4, shape, x->tmp[i],
                                 l->res < 0 ? in : x->out[l->res], x->out[i], x->pool));
    }
  }
}

static void run(struct xnet *x) {
  for (int i = 0; i < x->n; i++) {
    CHECK(xnn_run_operator(x->op[i], x->pool));
    if (x->add[i]) CHECK(xnn_run_operator(x->add[i], x->pool));
  }
}

int main(int argc, char **argv) {
  /* The pool is made before mobitune pins this thread to core 0, so that its workers do not
   * inherit that pin (they would share one core with this thread). */
  long want = 1;
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--threads")) want = strtol(argv[i + 1], NULL, 10);
  pthreadpool_t pool = want > 1 && want <= 256 ? pthreadpool_create((size_t)want) : NULL;
  struct mbt_cmp cmp;
  mbt_cmp_setup(&cmp, "bench-xnnpack", argc, argv);
  const struct mbt_model *m = &cmp.m;
  const int runs = cmp.runs;
  for (int i = 0; i < m->nlayers; i++) { /* what the operators below express */
    const struct mbt_layer *l = &m->layers[i];
    if (l->op == MBT_OP_SCALE ||
        (l->act != MBT_ACT_NONE && l->act != MBT_ACT_RELU && l->act != MBT_ACT_RELU6)) {
      fprintf(stderr, "bench-xnnpack: layer %s (%s, %s) is not one this comparison builds (conv, "
              "dwconv, pwconv, pool and fc with linear, relu or relu6)\n", l->name,
              mbt_op_name(l->op), mbt_act_name(l->act));
      return 1;
    }
  }
  CHECK(xnn_initialize(NULL));
  struct xnet x;
  memset(&x, 0, sizeof x);
  x.pool = pool;
  build(&x, m, cmp.tuned, cmp.in);
  run(&x);
  const int classes = m->layers[m->nlayers - 1].oc;
  const float *rl = mbt_engine_logits(cmp.ref);
  char title[64];
  mbt_model_title(m, title, sizeof title);
  printf("# %s %d/%d, %d thread(s), %d interleaved rounds, each timed run after %d untimed "
         "ones of the same library; XNNPACK (Debian's libxnnpack-dev)\n", title, m->res, m->res,
         cmp.threads, runs, MBT_WARM_RUNS);
  printf("# caveat: Debian's XNNPACK is built with GCC, which spills an accumulator in its main "
         "GEMM kernel (about 2.3x slower here than a clang build); oneDNN is the bar\n");
  printf("# max |logit - mobitune reference|: mobitune tuned %.3g, XNNPACK %.3g\n",
         mbt_cmp_max_err(mbt_engine_logits(cmp.tuned), rl, classes),
         mbt_cmp_max_err(x.out[m->nlayers - 1], rl, classes));
  double *t = malloc(2 * (size_t)runs * sizeof *t);
  for (int r = 0; r < 3; r++) mbt_engine_run(cmp.tuned, cmp.in), run(&x); /* warm-up rounds */
  /* Interleaved, each library's runs after a pause: pthreadpool's idle workers spin about 20
   * ms after a parallel call before they sleep (OpenMP's for a shorter while), and would take
   * a core from the other library's next run.  A pause of 40 ms lets both pools fall asleep;
   * the untimed runs then wake the next library's own pool, warm its caches and take back the
   * core that the host lends away while a vCPU idles.  Both sides get the same treatment. */
  const struct timespec pause = {0, 40 * 1000 * 1000};
  for (int r = 0; r < runs; r++) { /* and MBT_WARM_RUNS untimed runs of its own */
    if (cmp.threads > 1) nanosleep(&pause, NULL);
    for (int w = 0; w < MBT_WARM_RUNS; w++) mbt_engine_run(cmp.tuned, cmp.in);
    const double t0 = mbt_now_ns();
    mbt_engine_run(cmp.tuned, cmp.in);
    t[r] = mbt_now_ns() - t0;
    if (cmp.threads > 1) nanosleep(&pause, NULL);
    for (int w = 0; w < MBT_WARM_RUNS; w++) run(&x);
    const double t1 = mbt_now_ns();
    run(&x);
    t[runs + r] = mbt_now_ns() - t1;
  }
  const double a = mbt_median(t, runs), b = mbt_median(t + runs, runs);
  printf("%-22s %10s %14s\n", "configuration", "median ms", "XNNPACK / this");
  printf("%-22s %10.3f %14.3f\n", cmp.have_plan ? "mobitune tuned" : "mobitune default", a / 1e6, b / a);
  printf("%-22s %10.3f %14.3f\n", "XNNPACK (GCC build)", b / 1e6, 1.0);
  free(t);
  for (int i = 0; i < x.n; i++) {
    xnn_delete_operator(x.op[i]);
    if (x.add[i]) xnn_delete_operator(x.add[i]);
    free(x.out[i]), free(x.tmp[i]);
  }
  if (x.pool) pthreadpool_destroy(x.pool);
  mbt_cmp_free(&cmp);
  return 0;
}
