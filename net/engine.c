/* net/engine.c -- whole-network inference: seeded weights with BN folded in, one variant per
 * layer (and the fusion of pairs and blocks) as its setup says, layers run in order with rows
 * split over threads.  Plans are the floor above: plan/apply.c turns one into a setup. */
#include "config.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/common.h"
#include "kernels/kernels.h"
#include "net/net.h"
#include "machine/counters.h"

#define MAX_BUFS 8
#define AUTO_KEEP 4     /* MBT_SCHEDULE_AUTO compares the medians of each schedule's last runs */
#define AUTO_EXPLORE 16 /* and runs the slower one every this many runs */
#define AUTO_EXPLORE_MAX 256 /* or up to this many, while the tries change nothing */
#define AUTO_DISTURBED 1.5 /* a layer-schedule run slower than this x its median: disturbed */
#define AUTO_HOLD 32       /* after two in a row, the flow schedule for this many runs */
#define MAX_PACKERS 8

struct mbt_engine {
  struct mbt_model model;
  float **w, **b, **act, **packed; /* act[i] points into bufs (activations share buffers) */
  float *bufs[MAX_BUFS];
  int nbufs;
  size_t ldo[MBT_MAX_LAYERS]; /* pixel stride of layer i's output, 0 = dense (mbt_act_stride) */
  /* packed weights per layer and packer, kept so the tuner can switch variants cheaply */
  struct {
    const struct mbt_packer *packer;
    float *data;
  } pack[MBT_MAX_LAYERS][MAX_PACKERS];
  const struct mbt_variant **var;
  float *probs;
  double *layer_ns; /* time of each layer in the last run */
  int fuse[MBT_MAX_LAYERS];      /* fuse[i] = R > 0: depthwise layer i runs fused with layer i + 1, R rows */
  int block_req[MBT_MAX_LAYERS]; /* block_req[i] = R > 0: run layers i, i + 1, i + 2 as one block, R rows */
  int block[MBT_MAX_LAYERS];     /* the requests that run: left to right, none overlapping an earlier one */
  int team[MBT_MAX_LAYERS][3];   /* team[i][len - 1] = N > 0: that group runs on N threads at most */
  float *scratch;    /* strip buffers (and block windows) of the fused groups, one per thread */
  size_t scratch_per_thread;
  int threads;
  float mean[3], std[3]; /* the input normalization of its weights (ImageNet's by default) */
  int counting;      /* 1: read the counter component around every layer (mbt_engine_count) */
  long long cnt[MBT_MAX_LAYERS][MBT_MAX_EVENTS]; /* the counts of each layer in the last run */
  enum mbt_schedule schedule;
  struct {                   /* MBT_SCHEDULE_AUTO: the last runs of layers [0] and flow [1] */
    double ns[2][AUTO_KEEP]; /* a ring of each one's run times */
    int n[2], since;         /* times kept; runs since the other one last ran */
    int last, again;         /* the last run's; 1: run it again (its first run was not timed) */
    int slow, hold;          /* the last layer run was disturbed; runs left on the flow schedule */
    int every, best, tried;  /* runs between tries of the other one; the better one; 1: tried */
    long runs[2], kept[2];
  } aut;
  float *own[MBT_MAX_LAYERS]; /* the flow schedule's activations: a buffer per tensor */
  const float *logits;        /* where the last run left them */
  float *stage;               /* the staged items' outputs, one buffer per thread */
  size_t stage_per_thread;
  struct mbt_flow *flow; /* the work items of the flow schedule; NULL: to build before a run */
  struct mbt_exec xs[MBT_MAX_LAYERS]; /* each layer's problem in the flow schedule's run */
  /* Squeeze-and-excitation's scale folded into the next layer's weights: fold_ok[i] = 1 when
   * layer i is a scale whose output only the pointwise layer i + 1 reads; fold[i] = 1 when it
   * runs so (an MBT_FOLD variant, and the next one's weights in rows), into folded[i + 1]. */
  unsigned char fold_ok[MBT_MAX_LAYERS], fold[MBT_MAX_LAYERS];
  float *folded[MBT_MAX_LAYERS];
  size_t folded_n[MBT_MAX_LAYERS];
  _Atomic double span[MBT_MAX_LAYERS][2]; /* the flow schedule: first start, last end */
  /* Weights fetched ahead (plan_ahead): layer i's tiles fetch ahead_n[i] lines from ahead[i] */
  const float *ahead[MBT_MAX_LAYERS];
  size_t ahead_n[MBT_MAX_LAYERS];
  int ahead_of[MBT_MAX_LAYERS]; /* the layer those weights are (-1: none) */
  int ahead_stale; /* 1: planned again before the next run */
};

/* The setup changed: the flow schedule's items are cut again before the next run. */
static void flow_stale(struct mbt_engine *e) {
  e->ahead_stale = 1;
  memset(&e->aut, 0, sizeof e->aut); /* the times of another setup */
  mbt_flow_free(e->flow); /* waits for late copies, which may write their staging */
  e->flow = NULL;
  mbt_free(e->stage);
  e->stage = NULL, e->stage_per_thread = 0;
}

/* Counters around one layer (or fused group) i: started before its clock starts and read
 * after it stops, so the reading is outside the timed interval.  With threads > 1 the counts
 * are the calling thread's (PAPI counts per thread). */
static void count_start(struct mbt_engine *e) {
  if (e->counting && mbt_counters_get()->start() != 0) e->counting = 0;
}
static void count_stop(struct mbt_engine *e, int i) {
  if (e->counting && mbt_counters_get()->stop(e->cnt[i]) != 0) e->counting = 0;
}

int mbt_engine_count(mbt_engine_t e, int on) {
  e->counting = on && mbt_counters_get()->nevents > 0;
  memset(e->cnt, 0, sizeof e->cnt);
  return e->counting;
}

const long long *mbt_engine_layer_counts(mbt_engine_t e, int i) {
  return i >= 0 && i < e->model.nlayers ? e->cnt[i] : NULL;
}

/* He-uniform weights, then a random batch norm folded in: w' = w g / sqrt(v + eps),
 * b' = beta - mean g / sqrt(v + eps).  Shared with the tests, which build single layers. */
void mbt_layer_init_weights(const struct mbt_layer *l, float *w, float *b, struct mbt_rng *r) {
  const size_t nw = mbt_layer_weight_count(l);
  const int fan_in = l->op == MBT_OP_DWCONV ? l->k * l->k : l->op == MBT_OP_CONV ? l->k * l->k * l->ic : l->ic;
  const float a = sqrtf(3.0f / (float)fan_in); /* unit gain: activations keep their scale */
  for (size_t i = 0; i < nw; i++) w[i] = mbt_rng_range(r, -a, a);
  if (!b) return;
  for (int c = 0; c < l->oc; c++) {
    if (l->op == MBT_OP_FC) {
      b[c] = mbt_rng_range(r, -0.1f, 0.1f);
      continue;
    }
    const float gamma = mbt_rng_range(r, 0.5f, 1.5f), beta = mbt_rng_range(r, -0.2f, 0.2f);
    const float mean = mbt_rng_range(r, -0.1f, 0.1f), var = mbt_rng_range(r, 0.5f, 1.5f);
    const float scale = gamma / sqrtf(var + 1e-3f);
    /* output channel c is the fastest index in every layout but dwconv, where it is too. */
    for (size_t i = (size_t)c; i < nw; i += (size_t)l->oc) w[i] *= scale;
    b[c] = beta - mean * scale;
  }
}

static enum mbt_status ensure_scratch(struct mbt_engine *e);

/* The variant layer @p l runs: the forced family's where one applies, else @p planned (NULL:
 * none), else the best static rank; NULL when no variant applies to it. */
static const struct mbt_variant *choose(const struct mbt_layer *l,
                                        const struct mbt_variant *planned, const char *force) {
  const struct mbt_variant *cand[32];
  const struct mbt_kshape ks = mbt_layer_kshape(l);
  const int n = mbt_registry_candidates(&ks, cand, 32);
  if (n == 0) return NULL;
  if (force && *force) {
    for (int i = 0; i < n; i++)
      if (strstr(cand[i]->name, force)) return cand[i];
  }
  return planned ? planned : cand[0];
}

/* Activations share a few buffers: a layer's output takes a buffer no live tensor holds, and a
 * tensor's buffer is released after the last layer that reads it (as input or residual).  The
 * working set then stays in the caches from one layer to the next, and repeated runs keep the
 * weights in the last-level cache when they fit, as in a deployed network. */
static enum mbt_status assign_buffers(struct mbt_engine *e) {
  const int n = e->model.nlayers;
  int last[MBT_MAX_LAYERS], owner[MAX_BUFS], readers[MBT_MAX_LAYERS] = {0};
  size_t need = 0;
  /* A pointwise output (with no residual added) that only a depthwise layer reads gets the
   * padded pixel stride of mbt_act_stride; the depthwise one reads it through ldi. */
  for (int i = 0; i < n; i++) {
    const struct mbt_layer *l = &e->model.layers[i];
    if (l->src >= 0) readers[l->src]++;
    if (l->res >= 0) readers[l->res] += 2; /* a residual read: never padded */
  }
  for (int i = 0; i < n; i++) {
    const struct mbt_layer *l = &e->model.layers[i];
    e->ldo[i] = 0;
    if (l->op == MBT_OP_DWCONV && l->src >= 0 && readers[l->src] == 1) {
      const struct mbt_layer *p = &e->model.layers[l->src];
      if (p->op == MBT_OP_PWCONV && p->res < -1 && mbt_act_stride(p->oc) != (size_t)p->oc)
        e->ldo[l->src] = mbt_act_stride(p->oc);
    }
  }
  for (int i = 0; i < n; i++) {
    const struct mbt_layer *l = &e->model.layers[i];
    last[i] = i;
    /* a depthwise layer that may run fused with the next one reads its input until the next
     * layer has written its output, so its input must not be reused before then */
    const int reader = mbt_block_fusable(&e->model, i)  ? i + 2
                       : mbt_pair_fusable(&e->model, i) ? i + 1
                       : e->fold_ok[i]                  ? i + 1 /* folded: i + 1 reads it */
                                                        : i;
    if (l->src >= 0 && last[l->src] < reader) last[l->src] = reader;
    if (l->res >= 0 && last[l->res] < i) last[l->res] = i;
    size_t sz = (size_t)l->oh * l->ow * (e->ldo[i] ? e->ldo[i] : (size_t)l->oc);
    need = sz > need ? sz : need;
  }
  for (int k = 0; k < MAX_BUFS; k++) owner[k] = -1;
  for (int i = 0; i < n; i++) {
    int k = 0;
    while (k < MAX_BUFS && owner[k] >= 0) k++;
    if (k == MAX_BUFS) return mbt_fail(MBT_EUNSUPPORTED, "more than %d live tensors", MAX_BUFS);
    if (k == e->nbufs) {
      if (!(e->bufs[k] = mbt_alloc(need, sizeof(float)))) return MBT_ENOMEM;
      e->nbufs++;
    }
    owner[k] = i;
    e->act[i] = e->bufs[k];
    for (int b = 0; b < MAX_BUFS; b++) /* release what this layer read for the last time */
      if (owner[b] >= 0 && last[owner[b]] <= i && owner[b] != i) owner[b] = -1;
  }
  return MBT_OK;
}

/* The flow schedule's layout: every tensor in a buffer of its own, so that no work item waits
 * for the readers of an older tensor it would overwrite (the padded pixel strides kept).  The
 * shared buffers stay for one thread and the layer-by-layer schedule. */
static enum mbt_status own_buffers(struct mbt_engine *e) {
  for (int i = 0; i < e->model.nlayers; i++) {
    const struct mbt_layer *l = &e->model.layers[i];
    if (!e->own[i] &&
        !(e->own[i] = mbt_alloc((size_t)l->oh * l->ow * (e->ldo[i] ? e->ldo[i] : (size_t)l->oc),
                                sizeof(float))))
      return mbt_fail(MBT_ENOMEM, "cannot allocate the flow schedule's activations");
  }
  return MBT_OK;
}

/* The blocks that run: left to right, a request that overlaps a block already taken is left
 * out (pairs do not take part: a block that a fused pair's layer overlaps simply never runs). */
static void blocks_taken(int n, const int *req, int *block) {
  int next = 0;
  for (int i = 0; i < n; i++) {
    block[i] = i >= next && req[i] > 0 ? req[i] : 0;
    if (block[i]) next = i + 3;
  }
}

void mbt_fusion_runs(int n, const int *fuse, const int *block, int *runs) {
  int taken[MBT_MAX_LAYERS];
  blocks_taken(n, block, taken);
  for (int i = 0; i < n; i++) { /* as mbt_engine_run walks the layers */
    runs[i] = taken[i] && i + 2 < n ? 3 : fuse[i] > 0 && i + 1 < n ? 2 : 0;
    for (int k = 1; k < runs[i]; k++) runs[i + k] = 0;
    if (runs[i]) i += runs[i] - 1;
  }
}

int mbt_engine_group(mbt_engine_t e, int i) {
  const int n = e->model.nlayers;
  int runs[MBT_MAX_LAYERS];
  if (i < 0 || i >= n) return 0;
  mbt_fusion_runs(n, e->fuse, e->block, runs);
  for (int j = i - 1; j >= 0 && j >= i - 2; j--)
    if (runs[j] > i - j) return 0; /* inside the group that runs from layer j */
  return runs[i] ? runs[i] : 1;
}

/* The threads the group of @p len layers from layer @p i runs on. */
static int team_of(const struct mbt_engine *e, int i, int len) {
  const int n = e->team[i][len - 1];
  return n > 0 && n < e->threads ? n : e->threads;
}

int mbt_engine_group_threads(mbt_engine_t e, int i) {
  const int len = mbt_engine_group(e, i);
  return len > 0 ? team_of(e, i, len) : 0;
}

enum mbt_status mbt_engine_team(mbt_engine_t e, int i, int len, int threads) {
  if (i < 0 || i >= e->model.nlayers || len < 1 || len > 3 || i + len > e->model.nlayers ||
      threads < 0)
    return mbt_fail(MBT_EINVAL, "no group of %d layers from layer %d, or %d threads", len, i,
                    threads);
  if (e->team[i][len - 1] != threads) flow_stale(e);
  e->team[i][len - 1] = threads;
  return MBT_OK;
}

static void resolve_blocks(struct mbt_engine *e) {
  flow_stale(e);
  blocks_taken(e->model.nlayers, e->block_req, e->block);
}

/* The fusion of @p s (none when NULL). */
static enum mbt_status set_fusion(struct mbt_engine *e, const struct mbt_engine_setup *s) {
  memset(e->fuse, 0, sizeof e->fuse);
  memset(e->block_req, 0, sizeof e->block_req);
  memset(e->team, 0, sizeof e->team);
  if (s) {
    memcpy(e->fuse, s->fuse, (size_t)e->model.nlayers * sizeof *e->fuse);
    memcpy(e->block_req, s->block, (size_t)e->model.nlayers * sizeof *e->block_req);
    memcpy(e->team, s->team, (size_t)e->model.nlayers * sizeof *e->team);
  }
  resolve_blocks(e);
  return ensure_scratch(e);
}

enum mbt_status mbt_engine_configure(mbt_engine_t e, const struct mbt_engine_setup *s) {
  for (int i = 0; i < e->model.nlayers; i++) {
    const struct mbt_variant *v = choose(&e->model.layers[i], s ? s->var[i] : NULL, NULL);
    enum mbt_status st = v ? mbt_engine_use(e, i, v) : MBT_OK;
    if (st != MBT_OK) return st;
  }
  return set_fusion(e, s);
}

int mbt_engine_threads(mbt_engine_t e) { return e->threads; }

/* Layer @p j's weights as its variant reads them: the floats, and *row per input channel's
 * row (0: a packed layout not in rows). */
static size_t weight_rows(const struct mbt_engine *e, int j, size_t *row) {
  const struct mbt_variant *v = e->var[j];
  const struct mbt_kshape ks = mbt_layer_kshape(&e->model.layers[j]);
  if (!v->packer) return *row = (size_t)ks.oc, (size_t)ks.ic * (size_t)ks.oc; /* [ic][oc] */
  *row = v->packer->row ? v->packer->row(&ks) : 0;
  return v->packer->size(&ks);
}

/* Whether scale layer @p i runs folded, as its variant and the next layer's allow now, with
 * the buffer of the folded weights grown to fit them. */
static enum mbt_status fold_update(struct mbt_engine *e, int i) {
  if (i < 0 || i + 1 >= e->model.nlayers || !e->fold_ok[i] || !e->var[i] || !e->var[i + 1])
    return MBT_OK;
  size_t row;
  const size_t need = weight_rows(e, i + 1, &row);
  const int on = (e->var[i]->flags & MBT_FOLD) && row > 0;
  if (on && e->folded_n[i + 1] < need) {
    mbt_free(e->folded[i + 1]);
    e->folded[i + 1] = mbt_alloc(need, sizeof(float));
    e->folded_n[i + 1] = e->folded[i + 1] ? need : 0;
    if (!e->folded[i + 1]) {
      e->fold[i] = 0;
      return mbt_fail(MBT_ENOMEM, "cannot allocate the folded weights of layer %s",
                      e->model.layers[i + 1].name);
    }
    /* touched now: a first run would take the page faults (the tuner's warm-up timed 143 us
     * for V3-Small's 576 -> 96 fold, 10x its scale kernel, and dropped it) */
    memset(e->folded[i + 1], 0, need * sizeof(float));
  }
  if (e->fold[i] != on) flow_stale(e);
  e->fold[i] = (unsigned char)on;
  return MBT_OK;
}

/* dst = g src, @p n floats.  Restrict parameters and inner loops of a constant count: GCC 12
 * vectorises that at -O2 (its cost model there takes no loop of a variable count). */
static void scale_row(float *restrict dst, const float *restrict src, size_t n, float g) {
  size_t c = 0;
  for (; c + 16 <= n; c += 16)
    for (int q = 0; q < 16; q++) dst[c + q] = src[c + q] * g;
  for (; c < n; c++) dst[c] = src[c] * g;
}

/* Scale layer @p i folded: layer i + 1's weights, row k of each panel times gate[k]. */
static void fold_weights(struct mbt_engine *e, int i, const float *gate) {
  const int j = i + 1;
  size_t row;
  const size_t n = weight_rows(e, j, &row), ic = (size_t)e->model.layers[j].ic;
  const float *src = e->var[j]->packer ? e->packed[j] : e->w[j];
  for (size_t r = 0, k = 0; r + row <= n; r += row, k = k + 1 == ic ? 0 : k + 1)
    scale_row(e->folded[j] + r, src + r, row, gate[k]);
}

int mbt_engine_folds(mbt_engine_t e, int i) {
  return i >= 0 && i < e->model.nlayers && e->fold[i];
}

void mbt_engine_destroy(mbt_engine_t e) {
  if (!e) return;
  flow_stale(e); /* first: no pool worker or late copy looks at the engine after it */
  for (int i = 0; i < e->model.nlayers; i++) {
    if (e->w) mbt_free(e->w[i]);
    if (e->b) mbt_free(e->b[i]);
    for (int k = 0; k < MAX_PACKERS; k++) mbt_free(e->pack[i][k].data);
  }
  for (int i = 0; i < MBT_MAX_LAYERS; i++) mbt_free(e->own[i]), mbt_free(e->folded[i]);
  free(e->packed);
  free(e->layer_ns);
  mbt_free(e->scratch);
  for (int k = 0; k < e->nbufs; k++) mbt_free(e->bufs[k]);
  free(e->w);
  free(e->b);
  free(e->act);
  free(e->var);
  mbt_free(e->probs);
  mbt_model_free(&e->model);
  free(e);
}

enum mbt_status mbt_engine_new(const struct mbt_model *model, const struct mbt_engine_setup *s,
                               const char *force, uint64_t seed, mbt_engine_t *out) {
  *out = NULL;
  struct mbt_engine *e = calloc(1, sizeof *e);
  if (e) e->ahead_stale = 1;
  if (!e) return mbt_fail(MBT_ENOMEM, "cannot allocate the engine");
  const int n = model->nlayers;
  e->model = *model;
  e->model.layers = malloc((size_t)n * sizeof *model->layers);
  e->w = calloc((size_t)n, sizeof *e->w);
  e->b = calloc((size_t)n, sizeof *e->b);
  e->act = calloc((size_t)n, sizeof *e->act);
  e->var = calloc((size_t)n, sizeof *e->var);
  e->packed = calloc((size_t)n, sizeof *e->packed);
  e->layer_ns = calloc((size_t)n, sizeof *e->layer_ns);
  e->threads = 1;
  memcpy(e->mean, mbt_imagenet_mean, sizeof e->mean);
  memcpy(e->std, mbt_imagenet_std, sizeof e->std);
  if (!e->model.layers || !e->w || !e->b || !e->act || !e->var || !e->packed || !e->layer_ns)
    goto nomem;
  memcpy(e->model.layers, model->layers, (size_t)n * sizeof *model->layers);
  for (int i = 0; i + 1 < n; i++) e->fold_ok[i] = (unsigned char)mbt_layer_foldable(&e->model, i);
  struct mbt_rng r;
  mbt_rng_seed(&r, seed);
  for (int i = 0; i < n; i++) {
    const struct mbt_layer *l = &e->model.layers[i];
    e->var[i] = choose(l, s ? s->var[i] : NULL, force);
    if (!e->var[i]) {
      mbt_engine_destroy(e);
      return mbt_fail(MBT_EUNSUPPORTED, "no kernel variant applies to layer %s", l->name);
    }
    if (!mbt_layer_has_weights(l)) continue;
    e->w[i] = mbt_alloc(mbt_layer_weight_count(l), sizeof(float));
    e->b[i] = mbt_alloc((size_t)l->oc, sizeof(float));
    if (!e->w[i] || !e->b[i]) goto nomem;
    mbt_layer_init_weights(l, e->w[i], e->b[i], &r);
    if (mbt_engine_use(e, i, e->var[i]) != MBT_OK) goto nomem;
  }
  for (int i = 0; i < n; i++) /* the scales (no weights: not through mbt_engine_use) */
    if (fold_update(e, i) != MBT_OK) goto nomem;
  if (assign_buffers(e) != MBT_OK) goto nomem;
  if (!force && set_fusion(e, s) != MBT_OK) goto nomem;
  e->probs = mbt_alloc((size_t)e->model.layers[n - 1].oc, sizeof(float));
  if (!e->probs) goto nomem;
  *out = e;
  return MBT_OK;
nomem:
  mbt_engine_destroy(e);
  return mbt_fail(MBT_ENOMEM, "cannot allocate the network's weights and activations");
}

enum mbt_status mbt_engine_set_weights(mbt_engine_t e, const struct mbt_weights *w) {
  enum mbt_status st = mbt_weights_check(w, &e->model);
  if (st != MBT_OK) return st;
  flow_stale(e);
  memcpy(e->mean, w->mean, sizeof e->mean), memcpy(e->std, w->std, sizeof e->std);
  for (int i = 0; i < e->model.nlayers && st == MBT_OK; i++) {
    const struct mbt_layer *l = &e->model.layers[i];
    if (!mbt_layer_has_weights(l)) continue;
    char name[64];
    snprintf(name, sizeof name, "%s.weight", l->name);
    memcpy(e->w[i], mbt_weights_find(w, name)->data, mbt_layer_weight_count(l) * sizeof(float));
    snprintf(name, sizeof name, "%s.bias", l->name);
    memcpy(e->b[i], mbt_weights_find(w, name)->data, (size_t)l->oc * sizeof(float));
    for (int k = 0; k < MAX_PACKERS; k++) { /* packed copies of the old weights are stale */
      mbt_free(e->pack[i][k].data);
      e->pack[i][k].data = NULL, e->pack[i][k].packer = NULL;
    }
    st = mbt_engine_use(e, i, e->var[i]);
  }
  return st;
}

enum mbt_status mbt_engine_use(mbt_engine_t e, int i, const struct mbt_variant *v) {
  if (e->var[i] != v) flow_stale(e);
  e->var[i] = v;
  e->packed[i] = NULL;
  enum mbt_status st = fold_update(e, i);
  if (st == MBT_OK) st = fold_update(e, i - 1);
  if (st != MBT_OK || !v->packer) return st;
  int k = 0;
  while (k < MAX_PACKERS && e->pack[i][k].packer && e->pack[i][k].packer != v->packer) k++;
  if (k == MAX_PACKERS) return mbt_fail(MBT_EUNSUPPORTED, "more than %d weight layouts", k);
  if (!e->pack[i][k].packer) {
    const struct mbt_kshape ks = mbt_layer_kshape(&e->model.layers[i]);
    st = mbt_variant_pack(v, &ks, e->w[i], &e->pack[i][k].data);
    if (st != MBT_OK) return st;
    e->pack[i][k].packer = v->packer;
  }
  e->packed[i] = e->pack[i][k].data;
  return MBT_OK;
}

int mbt_pair_fusable(const struct mbt_model *m, int i) {
  if (i + 1 >= m->nlayers) return 0;
  const struct mbt_layer *d = &m->layers[i], *p = &m->layers[i + 1];
  if (d->op != MBT_OP_DWCONV || p->op != MBT_OP_PWCONV || p->src != i) return 0;
  for (int j = 0; j < m->nlayers; j++) /* the depthwise output must have no other reader */
    if (j != i + 1 && (m->layers[j].src == i || m->layers[j].res == i)) return 0;
  return 1;
}

int mbt_block_fusable(const struct mbt_model *m, int i) {
  if (i + 2 >= m->nlayers ||
      (m->layers[i].op != MBT_OP_PWCONV && m->layers[i].op != MBT_OP_CONV) ||
      m->layers[i + 1].src != i || !mbt_pair_fusable(m, i + 1))
    return 0;
  /* The first layer's output must have no other reader, but for the project layer's residual
   * when the window holds its rows (mbt_drv_pwdwpw_fused): a depthwise layer of stride 1 and
   * same padding, the residual's shape the output's, and a pixel stride the engine cannot pad
   * (the window's pixels are dense). */
  const struct mbt_layer *a = &m->layers[i], *d = &m->layers[i + 1], *p = &m->layers[i + 2];
  const int res_window = p->res == i && d->stride == 1 && d->pad == (d->k - 1) / 2 &&
                         d->pad_end == d->pad && a->oh == p->oh && a->ow == p->ow &&
                         a->oc == p->oc && mbt_act_stride(p->oc) == (size_t)p->oc;
  for (int j = 0; j < m->nlayers; j++)
    if (j != i + 1 && (m->layers[j].src == i || m->layers[j].res == i) &&
        !(j == i + 2 && m->layers[j].src != i && res_window))
      return 0;
  return 1;
}

/* Checked size arithmetic: SIZE_MAX (which no allocation gets) when it overflows. */
static size_t mul_sat(size_t a, size_t b) { return b && a > SIZE_MAX / b ? SIZE_MAX : a * b; }
static size_t add_sat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

/* Floats of scratch one thread needs for the block at @p i: strip, then window. */
static size_t block_strip(const struct mbt_engine *e, int i) {
  const struct mbt_layer *d = &e->model.layers[i + 1];
  const size_t n = mul_sat(mul_sat((size_t)e->block[i], (size_t)d->ow), (size_t)d->oc);
  return n > SIZE_MAX - 15 ? SIZE_MAX : (n + 15) / 16 * 16;
}
static size_t block_scratch(const struct mbt_engine *e, int i) {
  const struct mbt_layer *d = &e->model.layers[i + 1];
  const size_t rows = e->block[i] > 0 ? (size_t)e->block[i] : 1; /* window rows read */
  const size_t win = add_sat(mul_sat(rows - 1, (size_t)d->stride), (size_t)d->k);
  return add_sat(block_strip(e, i), mul_sat(mul_sat(win, (size_t)d->iw), (size_t)d->ic));
}

static enum mbt_status ensure_scratch(struct mbt_engine *e) {
  size_t need = 0;
  for (int i = 0; i < e->model.nlayers; i++) {
    if (e->fuse[i]) {
      const struct mbt_layer *l = &e->model.layers[i];
      const size_t s = mul_sat(mul_sat((size_t)e->fuse[i], (size_t)l->ow), (size_t)l->oc);
      need = s > need ? s : need;
    }
    if (e->block[i]) need = block_scratch(e, i) > need ? block_scratch(e, i) : need;
  }
  need = need > SIZE_MAX - 15 ? SIZE_MAX : (need + 15) / 16 * 16; /* 64-byte aligned strips */
  if (need <= e->scratch_per_thread) return MBT_OK;
  flow_stale(e); /* no pool worker may still hold the old strips */
  mbt_free(e->scratch);
  e->scratch = mbt_alloc(mul_sat(need, (size_t)e->threads), sizeof(float));
  e->scratch_per_thread = e->scratch ? need : 0;
  return e->scratch ? MBT_OK : mbt_fail(MBT_ENOMEM, "cannot allocate fusion strips");
}

enum mbt_status mbt_engine_block(mbt_engine_t e, int i, int rows) {
  if (rows > MBT_FUSE_ROWS_MAX)
    return mbt_fail(MBT_EINVAL, "%d rows per strip: at most %d", rows, MBT_FUSE_ROWS_MAX);
  if (rows > 0 && !mbt_block_fusable(&e->model, i))
    return mbt_fail(MBT_EINVAL, "layers %d to %d cannot run as one block", i, i + 2);
  e->block_req[i] = rows > 0 ? rows : 0;
  resolve_blocks(e);
  return ensure_scratch(e);
}

int mbt_engine_block_runs(mbt_engine_t e, int i) {
  return i >= 0 && i < e->model.nlayers ? e->block[i] : 0;
}

int mbt_engine_asked(mbt_engine_t e, int i, int len) {
  if (i < 0 || i >= e->model.nlayers) return 0;
  return len == 2 ? e->fuse[i] : len == 3 ? e->block_req[i] : 0;
}

enum mbt_status mbt_engine_fuse(mbt_engine_t e, int i, int rows) {
  if (rows > MBT_FUSE_ROWS_MAX)
    return mbt_fail(MBT_EINVAL, "%d rows per strip: at most %d", rows, MBT_FUSE_ROWS_MAX);
  if (rows > 0 && !mbt_pair_fusable(&e->model, i))
    return mbt_fail(MBT_EINVAL, "layers %d and %d cannot be fused", i, i + 1);
  e->fuse[i] = rows > 0 ? rows : 0;
  flow_stale(e);
  return ensure_scratch(e);
}

void mbt_engine_set_threads(mbt_engine_t e, int threads) {
  if (e->threads != threads) flow_stale(e);
  e->threads = threads > 0 ? threads : 1;
  e->scratch_per_thread = 0; /* reallocated for the new thread count */
  if (ensure_scratch(e) != MBT_OK) { /* no memory for strips: run unfused rather than fail */
    memset(e->fuse, 0, sizeof e->fuse);
    memset(e->block_req, 0, sizeof e->block_req);
    memset(e->block, 0, sizeof e->block);
  }
}

void mbt_engine_set_schedule(mbt_engine_t e, enum mbt_schedule s) { e->schedule = s; }

long mbt_engine_schedule_runs(mbt_engine_t e, enum mbt_schedule s) {
  return s == MBT_SCHEDULE_LAYERS ? e->aut.runs[0] : s == MBT_SCHEDULE_FLOW ? e->aut.runs[1] : 0;
}

/* The schedule of the next run: 0 layers, 1 flow.  The first run after a switch is not timed
 * (the other schedule's idle threads still spin for a while: OpenMP's for some milliseconds),
 * so a schedule tried anew runs twice. */
static int pick_schedule(struct mbt_engine *e) {
  if (e->threads <= 1 || e->counting || e->schedule == MBT_SCHEDULE_LAYERS) return 0;
  if (e->schedule == MBT_SCHEDULE_FLOW) return 1;
  if (e->aut.again) return e->aut.last;
  if (e->aut.hold > 0) return e->aut.hold--, 1;
  if (e->aut.n[0] == 0 || e->aut.n[1] == 0) return e->aut.n[0] > 0; /* each one first */
  const int best = mbt_median(e->aut.ns[1], e->aut.n[1]) < mbt_median(e->aut.ns[0], e->aut.n[0]);
  /* a try that changed nothing: the next one comes twice as late (up to AUTO_EXPLORE_MAX) */
  if (e->aut.every == 0 || (e->aut.tried && best != e->aut.best)) e->aut.every = AUTO_EXPLORE;
  else if (e->aut.tried && e->aut.every < AUTO_EXPLORE_MAX) e->aut.every *= 2;
  e->aut.tried = 0, e->aut.best = best;
  if (++e->aut.since < e->aut.every) return best;
  e->aut.since = 0, e->aut.tried = 1;
  return !best;
}

static void record_schedule(struct mbt_engine *e, int s, double ns) {
  e->aut.runs[s]++;
  const int first = e->aut.last != s && e->aut.runs[0] + e->aut.runs[1] > 1;
  e->aut.last = s;
  e->aut.again = first; /* untimed: run it once more, timed */
  if (first) return;
  /* two layer-schedule runs in a row this much slower than the ones before were disturbed (a
   * thread lost its core again and again), which the flow schedule copes with: it holds for
   * the next AUTO_HOLD runs.  One such run alone is a passing preemption. */
  const int slow = s == 0 && e->aut.n[0] >= 2 &&
                   ns > AUTO_DISTURBED * mbt_median(e->aut.ns[0], e->aut.n[0]);
  if (slow && e->aut.slow) e->aut.hold = AUTO_HOLD, e->aut.every = 0;
  if (s == 0) e->aut.slow = slow && !e->aut.slow;
  e->aut.ns[s][e->aut.kept[s]++ % AUTO_KEEP] = ns;
  if (e->aut.n[s] < AUTO_KEEP) e->aut.n[s]++;
}

void mbt_split_2d(int rows, int units, int threads, int by_channel, int *rp, int *cp) {
  *rp = 1, *cp = 1;
  if (threads <= 1 || rows < 1) return;
  if (units < 1 || !by_channel) units = 1;
  double best = -1;
  for (int r = 1; r <= threads && r <= rows; r++) {
    const int c = by_channel ? (threads / r < units ? threads / r : units) : 1;
    /* the busiest thread's share (the parts are as even as whole rows and units allow) over
     * an even share of the whole layer on every thread */
    const double most = (double)((rows + r - 1) / r) * ((units + c - 1) / c);
    const double eff = (double)rows * units / threads / most;
    if (eff > best + 1e-9 || (eff > best - 1e-9 && c < *cp)) best = eff, *rp = r, *cp = c;
  }
}

/* The units a thread's channel part of @p v on @p l is made of: packed panels, else vectors. */
static int channel_units(const struct mbt_variant *v, const struct mbt_kshape *l) {
  int nr = v->packer && v->packer->nr > 0 ? v->packer->nr : 1;
  if (!v->packer)
    nr = v->isa & MBT_ISA_AVX512F ? 16 : v->isa & MBT_ISA_AVX2 ? 8 : v->isa & MBT_ISA_NEON ? 4 : 1;
  return (l->oc + nr - 1) / nr;
}

/* Run one layer over the threads: a grid of row parts x output-channel parts (channels only
 * for variants that can split them), the one that loads the busiest thread least -- rows
 * alone on big maps, channels on 7x7 maps and the fully connected layer, both on many
 * threads (14 rows on 16 threads: 2 x 8). */
void mbt_run_rows(const struct mbt_variant *v, const struct mbt_exec *x, int threads) {
  mbt_run_rows_on(v, x, threads, threads);
}

void mbt_run_rows_on(const struct mbt_variant *v, const struct mbt_exec *x, int parts,
                     int threads) {
  const int rows = x->s.oh;
  int rp = 1, cp = 1;
  mbt_split_2d(rows, channel_units(v, &x->s), parts < threads ? parts : threads,
               (v->flags & MBT_SPLIT_C) != 0, &rp, &cp);
  if (rp * cp <= 1) {
    v->fn(x, 0, rows);
    return;
  }
#ifdef _OPENMP
  /* The whole team always, its spare threads idle: libgomp ends the threads a smaller team
   * leaves out and starts new ones for the next bigger team, which lose their pinning (they
   * inherit the master's core: 16 threads ran 100x slower that way). */
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), ri = t / cp;
    if (t < rp * cp) {
      struct mbt_exec part = *x;
      part.cpart = t % cp;
      part.cparts = cp;
      v->fn(&part, rows * ri / rp, rows * (ri + 1) / rp);
    }
  }
#else
  v->fn(x, 0, rows);
#endif
}

/* Layer @p i's problem, its tensors in @p act (the shared buffers, or the flow's own ones). */
static void exec_in(struct mbt_engine *e, int i, const float *input, float *const *act,
                    struct mbt_exec *x) {
  const struct mbt_layer *l = &e->model.layers[i];
  *x = (struct mbt_exec){mbt_layer_kshape(l), l->src < 0 ? input : act[l->src], act[i],
                         l->res >= 0 ? act[l->res] : l->res == -1 ? input : NULL,
                         e->w[i], e->b[i], 0, 0, NULL, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, NULL, 0};
  if (l->op == MBT_OP_PWCONV) x->ldo = e->ldo[i];
  if (l->op == MBT_OP_DWCONV && l->src >= 0) x->ldi = e->ldo[l->src];
  x->ahead = e->ahead[i], x->ahead_lines = e->ahead_n[i];
  mbt_exec_act(x);
  const float *packed = e->packed[i];
  if (i > 0 && e->fold[i - 1]) { /* the scale before it is in its weights: it reads its input */
    const int src = e->model.layers[i - 1].src;
    x->in = src < 0 ? input : act[src];
    if (e->var[i]->packer) packed = e->folded[i];
    else x->w = e->folded[i];
  }
  mbt_exec_bind(x, e->var[i], packed);
}

static void exec_of(struct mbt_engine *e, int i, const float *input, struct mbt_exec *x) {
  exec_in(e, i, input, e->act, x);
}

/* Weights read once a run (a fully connected layer's, of AHEAD_MIN bytes or more) come from
 * memory: the rest of the network has pushed them out of the caches by the next run.  The
 * pointwise layers before such a layer, the nearest first, fetch its weights while they
 * compute (MBT_AHEAD variants, each layer run alone), AHEAD_MACS multiply-accumulates a line
 * at most: one line every second reduction step of a 384-lane register tile. */
#define AHEAD_MIN ((size_t)256 << 10)
#define AHEAD_MACS 768.0
/* A layer with this many bytes of weights or more streams its own from memory (the tiled
 * driver fetches them itself): inside V1 the 7x7x1024 -> 1024 layer, carrying the classifier's
 * 4 MB, went from 8.5% to 10.0% of the network while the classifier went from 3.2-3.3% to
 * 2.7% (two interleaved rounds), so such layers carry none. */
#define AHEAD_CARRIER_MAX ((size_t)1 << 20)
/* Fetched lines must still be cached when the layer that reads them runs: a layer carries them
 * only when the weights read in between come to this many bytes at most.  (V3-Small's carriers
 * have its 2.4 MB fc1 in between; inside V1 the 28x28x256 -> 256 layer, the nearest that
 * carried the classifier, has 12.5 MB of weights after it: on a Zen 2 with 16 MiB of L3, V1
 * ran 0.96-0.99x the time without fetching ahead, three interleaved rounds.) */
#define AHEAD_REACH ((double)(4 << 20))

static int ahead_carrier(const struct mbt_engine *e, const int *runs, int i) {
  const struct mbt_layer *l = &e->model.layers[i];
  return l->op == MBT_OP_PWCONV && !runs[i] && (e->var[i]->flags & MBT_AHEAD) && !e->ahead[i] &&
         (size_t)l->ic * (size_t)l->oc * sizeof(float) < AHEAD_CARRIER_MAX;
}

static void plan_ahead(struct mbt_engine *e) {
  const int n = e->model.nlayers;
  int runs[MBT_MAX_LAYERS];
  mbt_fusion_runs(n, e->fuse, e->block, runs);
  for (int i = 0; i < n; i++) e->ahead[i] = NULL, e->ahead_n[i] = 0, e->ahead_of[i] = -1;
  e->ahead_stale = 0;
  const char *off = getenv("MBT_NO_AHEAD");
  if (off && *off == '1') return;
  for (int j = n - 1; j > 0; j--) {
    const struct mbt_layer *t = &e->model.layers[j];
    if (t->op != MBT_OP_FC || runs[j]) continue;
    struct mbt_exec x;
    exec_in(e, j, NULL, e->act, &x);
    const float *w = x.packed ? x.packed : x.w;
    const size_t bytes = (x.packed ? e->var[j]->packer->size(&x.s) : (size_t)t->ic * t->oc) *
                         sizeof(float);
    size_t lines = (bytes + 63) / 64, at = 0;
    if (bytes < AHEAD_MIN) continue;
    double between = 0; /* bytes of weights read after layer i and before layer j */
    for (int i = j - 1; i >= 0 && at < lines; between += e->model.layers[i--].params * 4.0) {
      if (between > AHEAD_REACH) break;
      if (!ahead_carrier(e, runs, i)) continue;
      const double cap = e->model.layers[i].macs / AHEAD_MACS;
      const size_t take = cap < (double)(lines - at) ? (size_t)cap : lines - at;
      if (take == 0) continue;
      e->ahead[i] = w + 16 * at, e->ahead_n[i] = take, e->ahead_of[i] = j;
      at += take;
    }
  }
}

/* Layers i (depthwise) and i + 1 (pointwise) in one pass, rows split over the threads. */
static void run_fused(struct mbt_engine *e, int i, const float *input) {
  struct mbt_exec dw, pw;
  exec_of(e, i, input, &dw);
  exec_of(e, i + 1, input, &pw);
  const int rows = e->model.layers[i + 1].oh, team = team_of(e, i, 2);
  const int nt = team < rows ? team : rows;
  count_start(e);
  const double t0 = mbt_now_ns();
#ifdef _OPENMP
#pragma omp parallel num_threads(e->threads) if (nt > 1) /* the whole team (mbt_run_rows) */
  {
    const int t = omp_get_thread_num();
    if (t < nt)
      mbt_drv_dwpw_fused(e->var[i], &dw, e->var[i + 1], &pw, e->fuse[i],
                         e->scratch + (size_t)t * e->scratch_per_thread, rows * t / nt,
                         rows * (t + 1) / nt);
  }
#else
  (void)nt;
  mbt_drv_dwpw_fused(e->var[i], &dw, e->var[i + 1], &pw, e->fuse[i], e->scratch, 0, rows);
#endif
  e->layer_ns[i] = mbt_now_ns() - t0;
  count_stop(e, i);
  e->layer_ns[i + 1] = 0;
}

/* Layers i, i + 1, i + 2 as one block, rows split over the threads. */
static void run_block(struct mbt_engine *e, int i, const float *input) {
  struct mbt_exec ex, dw, pw;
  exec_of(e, i, input, &ex);
  exec_of(e, i + 1, input, &dw);
  exec_of(e, i + 2, input, &pw);
  const int rows = e->model.layers[i + 2].oh, team = team_of(e, i, 3);
  const int nt = team < rows ? team : rows;
  const size_t strip = block_strip(e, i);
  count_start(e);
  const double t0 = mbt_now_ns();
#ifdef _OPENMP
#pragma omp parallel num_threads(e->threads) if (nt > 1) /* the whole team (mbt_run_rows) */
  {
    const int t = omp_get_thread_num();
    float *s = e->scratch + (size_t)t * e->scratch_per_thread;
    if (t < nt)
      mbt_drv_pwdwpw_fused(e->var[i], &ex, e->var[i + 1], &dw, e->var[i + 2], &pw, e->block[i],
                           s + strip, s, rows * t / nt, rows * (t + 1) / nt);
  }
#else
  (void)nt;
  mbt_drv_pwdwpw_fused(e->var[i], &ex, e->var[i + 1], &dw, e->var[i + 2], &pw, e->block[i],
                       e->scratch + strip, e->scratch, 0, rows);
#endif
  e->layer_ns[i] = mbt_now_ns() - t0;
  count_stop(e, i);
  e->layer_ns[i + 1] = e->layer_ns[i + 2] = 0;
}

/* Work items of about this many FLOPs (a few microseconds on a core): enough of them that a
 * thread which loses its core holds up little, few enough that taking one costs little.  A
 * group with less work than this runs as one item, on one thread. */
#define ITEM_FLOPS 2e6

/* 1 when layer @p i's variant sends partial sums through its output (MBT_KBLOCKS with more
 * input channels than its reduction block). */
static int kblocks(const struct mbt_engine *e, int i) {
  return mbt_variant_kblocks(e->var[i], e->model.layers[i].ic);
}

/* Whether group @p len from layer @p i may get backup copies: every one but the stem, whose
 * kernels are not all known to write each output once (a group whose last layer sends partial
 * sums through its output is staged, see staged_item). */
static int copyable(const struct mbt_engine *e, int i, int len) {
  return len > 1 || e->model.layers[i].op != MBT_OP_CONV;
}

/* The flow schedule's group from layer @p i, @p len layers long. */
static struct mbt_flow_group flow_group(const struct mbt_engine *e, int i, int len) {
  const struct mbt_variant *v = e->var[i];
  const struct mbt_kshape ks = mbt_layer_kshape(&e->model.layers[i]);
  /* a tiled pointwise layer in strips of its pixel block at least: its driver reads the
   * weights once per block of mc pixels, so a smaller item reads them for fewer pixels */
  const int mc = v->flags & MBT_KBLOCKS ? (v->mc > 0 ? v->mc : MBT_PW_MC) : 1;
  int strip = len == 3 ? e->block[i] : len == 2 ? e->fuse[i] : (mc + ks.ow - 1) / ks.ow;
  int units = len == 1 && (v->flags & MBT_SPLIT_C) ? channel_units(v, &ks) : 1;
  if (team_of(e, i, len) == 1 || (len == 1 && e->fold[i])) /* one thread, or a fold: one item */
    strip = e->model.layers[i + len - 1].oh, units = 1;
  return (struct mbt_flow_group){i, len, strip, units, copyable(e, i, len)};
}

/* Build the flow schedule's items for the current setup; 0, or -1 when out of memory. */
static int flow_build(struct mbt_engine *e) {
  if (own_buffers(e) != MBT_OK) return -1;
  struct mbt_flow_group g[MBT_MAX_LAYERS];
  int runs[MBT_MAX_LAYERS], ng = 0;
  mbt_fusion_runs(e->model.nlayers, e->fuse, e->block, runs);
  for (int i = 0; i < e->model.nlayers; i++) {
    const int len = runs[i] ? runs[i] : 1;
    g[ng++] = flow_group(e, i, len);
    i += len - 1;
  }
  e->flow = mbt_flow_new(&e->model, g, ng, e->threads, ITEM_FLOPS);
  if (!e->flow) return -1;
  size_t need = 0; /* the staging of the largest staged item */
  for (int k = 0; k < mbt_flow_items(e->flow); k++) {
    const struct mbt_flow_item *it = mbt_flow_item(e->flow, k);
    const int last = it->first + it->len - 1;
    const struct mbt_layer *l = &e->model.layers[last];
    const size_t ld = e->ldo[last] ? e->ldo[last] : (size_t)l->oc;
    if (kblocks(e, last) && (size_t)(it->r1 - it->r0) * l->ow * ld > need)
      need = (size_t)(it->r1 - it->r0) * l->ow * ld;
  }
  need = (need + 15) / 16 * 16;
  if (need > e->stage_per_thread) {
    mbt_free(e->stage);
    e->stage = mbt_alloc(mul_sat(need, (size_t)e->threads), sizeof(float));
    e->stage_per_thread = e->stage ? need : 0;
    if (!e->stage) return -1;
  }
  return 0;
}

static void stamp_min(_Atomic double *a, double v) {
  double o = atomic_load_explicit(a, memory_order_relaxed);
  while ((o == 0 || v < o) && !atomic_compare_exchange_weak(a, &o, v)) {
  }
}
static void stamp_max(_Atomic double *a, double v) {
  double o = atomic_load_explicit(a, memory_order_relaxed);
  while (v > o && !atomic_compare_exchange_weak(a, &o, v)) {
  }
}

/* The item's output (rows r0 .. r1 - 1 of group @p i .. @p last, channel part cpart) into
 * @p stage through the fused driver or the layer's own kernel. */
static void stage_into(struct mbt_engine *e, int i, int last, const struct mbt_flow_item *it,
                       float *stage, float *s) {
  struct mbt_exec pw = e->xs[last];
  pw.out = stage, pw.orow0 = it->r0;
  if (it->len == 3) {
    mbt_drv_pwdwpw_fused(e->var[i], &e->xs[i], e->var[i + 1], &e->xs[i + 1], e->var[last], &pw,
                         e->block[i], s + block_strip(e, i), s, it->r0, it->r1);
  } else if (it->len == 2) {
    mbt_drv_dwpw_fused(e->var[i], &e->xs[i], e->var[last], &pw, e->fuse[i], s, it->r0, it->r1);
  } else { /* one 1x1 layer: its rows r0 .. r1 - 1 as a problem of their own */
    const size_t p0 = (size_t)it->r0 * (size_t)pw.s.ow;
    if (pw.ahead) { /* and their share of the lines ahead */
      const size_t a0 = pw.ahead_lines * (size_t)it->r0 / (size_t)pw.s.oh;
      pw.ahead_lines = pw.ahead_lines * (size_t)it->r1 / (size_t)pw.s.oh - a0;
      pw.ahead += 16 * a0;
    }
    pw.cpart = it->cpart, pw.cparts = it->cparts;
    pw.s.oh = pw.s.ih = it->r1 - it->r0;
    pw.in += p0 * (size_t)pw.s.ic;
    if (pw.res) pw.res += p0 * (pw.ldo ? pw.ldo : (size_t)pw.s.oc);
    pw.orow0 = 0;
    e->var[i]->fn(&pw, 0, it->r1 - it->r0);
  }
}

/* An item whose last layer sends partial sums through its output (kblocks) computed into
 * @p stage, then copied out if this copy of the item claims it first (@p c): a late copy never
 * writes the layer's output.  1 when it did. */
static int staged_item(struct mbt_engine *e, const struct mbt_flow_item *it, float *stage,
                       float *s, const struct mbt_flow_claim *c) {
  const int i = it->first, last = i + it->len - 1;
  const struct mbt_kshape *l = &e->xs[last].s;
  const size_t ldc = e->xs[last].ldo ? e->xs[last].ldo : (size_t)l->oc, pix = (size_t)l->ow;
  const size_t n = (size_t)l->oc, rows = (size_t)(it->r1 - it->r0), p0 = (size_t)it->r0 * pix;
  stage_into(e, i, last, it, stage, s);
  if (!mbt_flow_claim(c)) return 0;
  if (it->cparts == 1) {
    memcpy(e->xs[last].out + p0 * ldc, stage, rows * pix * ldc * sizeof *stage);
    return 1;
  }
  const size_t nr = (size_t)e->var[last]->packer->nr;
  size_t j0, j1; /* the panels this part computed, as the driver splits them */
  mbt_cpart_panels((n + nr - 1) / nr, it->cpart, it->cparts, &j0, &j1);
  const size_t nb0 = j0 * nr, nb1 = j1 * nr < n ? j1 * nr : n;
  for (size_t p = 0; p < rows * pix; p++)
    memcpy(e->xs[last].out + (p0 + p) * ldc + nb0, stage + p * ldc + nb0,
           (nb1 - nb0) * sizeof *stage);
  return 1;
}

/* One work item of the flow schedule, on thread @p t's strips. */
static int flow_item(void *ctx, const struct mbt_flow_item *it, int t,
                     const struct mbt_flow_claim *c) {
  struct mbt_engine *e = ctx;
  const int i = it->first;
  int placed = 1;
  stamp_min(&e->span[i][0], mbt_now_ns());
  float *s = e->scratch + (size_t)t * e->scratch_per_thread;
  if (kblocks(e, i + it->len - 1)) {
    placed = staged_item(e, it, e->stage + (size_t)t * e->stage_per_thread, s, c);
  } else if (it->len == 3) {
    mbt_drv_pwdwpw_fused(e->var[i], &e->xs[i], e->var[i + 1], &e->xs[i + 1], e->var[i + 2],
                         &e->xs[i + 2], e->block[i], s + block_strip(e, i), s, it->r0, it->r1);
  } else if (it->len == 2) {
    mbt_drv_dwpw_fused(e->var[i], &e->xs[i], e->var[i + 1], &e->xs[i + 1], e->fuse[i], s, it->r0,
                       it->r1);
  } else if (e->fold[i]) {
    fold_weights(e, i, e->xs[i].res);
  } else {
    struct mbt_exec part = e->xs[i];
    part.cpart = it->cpart, part.cparts = it->cparts;
    e->var[i]->fn(&part, it->r0, it->r1);
  }
  stamp_max(&e->span[i][1], mbt_now_ns());
  return placed;
}

/* The flow schedule's run: 0, or -1 when its items cannot be built (then run layer by layer). */
static int run_flow(struct mbt_engine *e, const float *input) {
  if (!e->flow && flow_build(e) != 0) return -1;
  for (int i = 0; i < e->model.nlayers; i++) {
    /* a late copy from the run before may be reading xs[i]: built apart, then copied whole
     * (only the input's layers change, and every run waits for their late copies) */
    struct mbt_exec x;
    exec_in(e, i, input, e->own, &x);
    if (memcmp(&x, &e->xs[i], sizeof x) != 0) e->xs[i] = x;
    atomic_init(&e->span[i][0], 0.0), atomic_init(&e->span[i][1], 0.0);
  }
  mbt_flow_run(e->flow, e->threads, flow_item, e);
  for (int i = 0; i < e->model.nlayers; i++) {
    const double a = atomic_load(&e->span[i][0]), b = atomic_load(&e->span[i][1]);
    e->layer_ns[i] = b > a ? b - a : 0;
  }
  return 0;
}

enum mbt_status mbt_engine_run(mbt_engine_t e, const float *input) {
  if (e->ahead_stale) plan_ahead(e);
  const double start = mbt_now_ns();
  const int flow = pick_schedule(e) && run_flow(e, input) == 0;
  if (!flow) mbt_flow_wait(e->flow); /* a late copy of the last flow run shares the strips */
  for (int i = 0; !flow && i < e->model.nlayers; i++) {
    if (e->block[i]) {
      run_block(e, i, input);
      i += 2;
      continue;
    }
    if (e->fuse[i]) {
      run_fused(e, i, input);
      i++;
      continue;
    }
    struct mbt_exec x;
    exec_of(e, i, input, &x);
    count_start(e);
    const double t0 = mbt_now_ns();
    if (e->fold[i]) fold_weights(e, i, x.res);
    else mbt_run_rows_on(e->var[i], &x, team_of(e, i, 1), e->threads);
    e->layer_ns[i] = mbt_now_ns() - t0;
    count_stop(e, i);
  }
  record_schedule(e, flow, mbt_now_ns() - start);
  /* softmax over the logits, in double for a stable sum */
  const struct mbt_layer *last = &e->model.layers[e->model.nlayers - 1];
  e->logits = flow ? e->own[e->model.nlayers - 1] : e->act[e->model.nlayers - 1];
  const float *z = e->logits;
  float mx = z[0];
  for (int c = 1; c < last->oc; c++) mx = z[c] > mx ? z[c] : mx;
  double sum = 0; /* one exp per class (two took ~10 us of V3-Small's 0.9 ms) */
  for (int c = 0; c < last->oc; c++) {
    const double p = exp((double)z[c] - mx);
    sum += p;
    e->probs[c] = (float)p;
  }
  for (int c = 0; c < last->oc; c++) e->probs[c] = (float)(e->probs[c] / sum);
  return MBT_OK;
}

const float *mbt_engine_output(mbt_engine_t e, int *classes) {
  *classes = e->model.layers[e->model.nlayers - 1].oc;
  return e->probs;
}

const float *mbt_engine_logits(mbt_engine_t e) {
  return e->logits ? e->logits : e->act[e->model.nlayers - 1];
}

void mbt_engine_weights(mbt_engine_t e, int i, const float **w, const float **b) {
  *w = e->w[i];
  *b = e->b[i];
}

enum mbt_status mbt_engine_save(mbt_engine_t e, const float mean[3], const float std[3],
                                const char *path) {
  return mbt_weights_write(&e->model, (const float *const *)e->w, (const float *const *)e->b, mean,
                           std, path);
}

double mbt_engine_layer_ns(mbt_engine_t e, int i) {
  return i >= 0 && i < e->model.nlayers ? e->layer_ns[i] : 0;
}

int mbt_engine_ahead(mbt_engine_t e, int i) {
  if (e->ahead_stale) plan_ahead(e);
  return i >= 0 && i < e->model.nlayers ? e->ahead_of[i] : -1;
}

const char *mbt_engine_variant(mbt_engine_t e, int i) {
  return i >= 0 && i < e->model.nlayers ? e->var[i]->name : NULL;
}

void mbt_engine_fill_input(mbt_engine_t e, float *input, uint64_t seed) {
  struct mbt_rng r;
  mbt_rng_seed(&r, seed);
  const size_t n = (size_t)e->model.res * e->model.res * 3;
  for (size_t i = 0; i < n; i++) input[i] = mbt_rng_range(&r, -1.0f, 1.0f);
}

const struct mbt_model *mbt_engine_model(mbt_engine_t e) { return &e->model; }

void mbt_engine_normalization(mbt_engine_t e, float mean[3], float std[3]) {
  memcpy(mean, e->mean, sizeof e->mean), memcpy(std, e->std, sizeof e->std);
}
