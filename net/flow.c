/* net/flow.c -- a network as a graph of work items, run on a pool of threads without a
 * barrier between layers.
 *
 * Each run group (a layer, a fused pair or a block) is cut into items: strips of output rows,
 * and channel parts where a layer has few rows and its variant can split channels.  An item
 * may start once the items that write the rows it reads (its input, halo included, and its
 * residual) are done.  The threads take the first ready item, so a thread that the operating
 * system takes off its core holds up one item, not a share of the layer: the others go on to
 * the next layers' rows that do not depend on it.
 *
 * When nothing is ready and an item of a group that allows it has been running far longer than
 * its work takes, an idle thread runs it again from the start (a backup copy, as MapReduce does
 * for stragglers); the first copy to end completes it, and the run does not wait for the other.
 * That is safe because
 *  - every tensor has its own buffer (the engine's flow layout), and nothing rewrites an item's
 *    inputs during a run, so two copies compute the same values;
 *  - a copy that writes its output more than once (the tiled pointwise kernels' partial sums of
 *    a long reduction) writes it to its own thread's staging buffer and copies it out only if it
 *    is the first to claim the item (mbt_flow_claim); the group says whether its items are
 *    copyable at all;
 *  - in the next run an item waits until no copy of it from the run before is still running, and
 *    a run waits for every copy of an item that reads the caller's input;
 *  - freeing a flow waits for every copy and every worker that looks at it.
 * (Two copies writing the same values to the same floats is a data race in C11's terms; the
 * kernels write plain floats, which every architecture built for stores whole.) */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "machine/machine.h"
#include "net/net.h"

/* Items more than this many past the first one not done are not looked at: a look for a ready
 * item stays short. */
#define LOOKAHEAD 256
/* An item running longer than this many ns, plus its work at BACKUP_FLOPS FLOP/ns, gets a
 * backup copy: about 4x what it takes on a free core, far below a scheduler's slice (ms). */
#define BACKUP_NS 30e3
#define BACKUP_FLOPS 60.0

struct dep {
  int g, a, b; /* items a .. b - 1 of group g */
};

struct group {
  int first, len, out; /* layers first .. first + len - 1; out = the last, whose output it writes */
  int item0, nitems;
  int rows, chunk, cparts; /* output rows, rows per item, channel parts per row strip */
  int copy;                /* 1: its items may get backup copies */
  double item_ns;          /* how long an item runs before a backup copy starts */
};

struct mbt_flow {
  int ngroups, nitems, ndeps, cap;
  struct group *gr;
  struct mbt_flow_item *it;
  int *dep0, *ndep; /* item i's dependencies: dep[dep0[i]] .. */
  struct dep *dep;
  int *group_of;    /* the group whose output layer is i, else -1 */
  unsigned char *reads_input; /* 1: item i reads the caller's input */
  int *home; /* the thread whose band of rows item i is in (-1: a group of one item) */
  /* per item: the run that took it, completed it, copied it and claimed its output; copies
   * running; when it was taken */
  _Atomic unsigned *taken, *done, *copied, *claimed;
  _Atomic int *active;
  _Atomic double *since;
  /* Both tagged with their run (run << 32 | value), so that a thread still in the run before,
   * which may touch them after the next run began, changes nothing of the new one's: */
  _Atomic uint64_t *gdone; /* items of each group done in the run */
  _Atomic uint64_t low;    /* every item before it is done in the run */
  _Atomic unsigned run; /* this run's number, from 1 */
  _Atomic int visitors; /* pool workers that took this flow's job and may still read it */
  int bad;              /* 1: out of memory while building */
};

/* Rows [*a, *b) of layer @p l's input that its output rows [*a, *b) read. */
static void rows_read(const struct mbt_layer *l, int *a, int *b) {
  if (l->op == MBT_OP_GAVGPOOL || l->op == MBT_OP_FC) {
    *a = 0, *b = l->ih;
    return;
  }
  if (l->op == MBT_OP_PWCONV || l->op == MBT_OP_SCALE) return;
  int lo = *a * l->stride - l->pad, hi = (*b - 1) * l->stride - l->pad + l->k;
  *a = lo < 0 ? 0 : lo, *b = hi > l->ih ? l->ih : hi;
}

static void add_dep(struct mbt_flow *f, int g, int a, int b) {
  if (f->bad || a >= b) return;
  if (f->ndeps == f->cap) {
    const int cap = f->cap ? 2 * f->cap : 1024;
    struct dep *d = realloc(f->dep, (size_t)cap * sizeof *d);
    if (!d) {
      f->bad = 1;
      return;
    }
    f->dep = d, f->cap = cap;
  }
  f->dep[f->ndeps++] = (struct dep){g, a, b};
}

/* The items of group @p g that hold rows [a, b) of its output. */
static void dep_rows(struct mbt_flow *f, int g, int a, int b) {
  const struct group *p = &f->gr[g];
  if (a < 0) a = 0;
  if (b > p->rows) b = p->rows;
  if (a < b) add_dep(f, g, a / p->chunk * p->cparts, ((b - 1) / p->chunk + 1) * p->cparts);
}

/* [*a, *b) grown to hold [lo, hi) too (an empty one, *a >= *b, becomes it). */
static void widen(int *a, int *b, int lo, int hi) {
  if (*a >= *b) *a = lo, *b = hi;
  else *a = lo < *a ? lo : *a, *b = hi > *b ? hi : *b;
}

/* What rows of tensor @p t item @p k of group @p h reads (as input or residual): *a >= *b if
 * none. */
static void item_reads(const struct mbt_flow *f, const struct mbt_model *m, int h, int k, int t,
                       int *a, int *b) {
  const struct group *q = &f->gr[h];
  const struct mbt_flow_item *it = &f->it[q->item0 + k];
  int ra = it->r0, rb = it->r1;
  *a = 0, *b = 0;
  for (int j = q->out; j >= q->first; j--) { /* rows of layer j's output, then of its input */
    const struct mbt_layer *l = &m->layers[j];
    if (l->res == t) {
      const int whole = m->layers[t].oh != l->oh; /* the squeeze-and-excitation gate */
      widen(a, b, whole ? 0 : ra, whole ? m->layers[t].oh : rb);
    }
    rows_read(l, &ra, &rb);
    if (j == q->first && l->src == t) widen(a, b, ra, rb);
  }
}

/* Item @p i (of group @p g): the items that write what it reads. */
static void item_deps(struct mbt_flow *f, const struct mbt_model *m, int g, int i) {
  const struct group *q = &f->gr[g];
  for (int t = 0; t < q->first; t++) {
    if (f->group_of[t] < 0) continue;
    int a, b;
    item_reads(f, m, g, i - q->item0, t, &a, &b);
    if (a < b) dep_rows(f, f->group_of[t], a, b);
  }
}

/* Cut group @p q into items of about @p item_flops each (or of the bytes that take as long):
 * row strips (a multiple of @p strip rows), then channel parts (up to @p units) where the rows
 * are fewer than the items wanted. */
#define ITEM_FLOPS_PER_BYTE 8.0 /* ~250 GFLOP/s of FMA against ~30 GB/s from L3 or DRAM */
static void cut(struct group *q, double flops, double bytes, double item_flops, int strip,
                int units, int threads) {
  /* a memory-bound group (the classifier's weights) by its bytes: its compulsory bytes
   * take about as long as ITEM_FLOPS_PER_BYTE FLOPs of compute-bound work */
  const double work = flops > bytes * ITEM_FLOPS_PER_BYTE ? flops : bytes * ITEM_FLOPS_PER_BYTE;
  int want = (int)(work / item_flops + 0.5);
  if (want < 1) want = 1;
  if (want > 1 && want < threads) want = threads;
  const int strips = (q->rows + strip - 1) / strip;
  int n = want < strips ? want : strips;
  q->chunk = (strips + n - 1) / n * strip;
  if (q->chunk > q->rows) q->chunk = q->rows;
  n = (q->rows + q->chunk - 1) / q->chunk;
  q->cparts = 1;
  if (want > n && units > 1) {
    q->cparts = (want + n - 1) / n;
    if (q->cparts > units) q->cparts = units;
  }
  q->nitems = n * q->cparts;
}

static void forget(struct mbt_flow *f);

/* Wait until no copy of any item is running. */
static void quiesce(struct mbt_flow *f) {
  for (int i = 0; i < f->nitems; i++)
    while (atomic_load_explicit(&f->active[i], memory_order_acquire) > 0) mbt_cpu_relax();
}

void mbt_flow_wait(struct mbt_flow *f) {
  if (f) quiesce(f);
}

void mbt_flow_free(struct mbt_flow *f) {
  if (!f) return;
  forget(f);
  if (f->active) quiesce(f);
  free(f->gr), free(f->it), free(f->dep0), free(f->ndep), free(f->dep), free(f->group_of);
  free(f->reads_input), free(f->home), free((void *)f->taken), free((void *)f->done);
  free((void *)f->copied);
  free((void *)f->claimed), free((void *)f->active), free((void *)f->since);
  free((void *)f->gdone);
  free(f);
}

static int build_groups(struct mbt_flow *f, const struct mbt_model *m,
                        const struct mbt_flow_group *spec, int ng, int threads, double item_flops) {
  f->ngroups = ng;
  f->gr = calloc((size_t)ng, sizeof *f->gr);
  f->group_of = malloc((size_t)m->nlayers * sizeof *f->group_of);
  if (!f->gr || !f->group_of) return -1;
  for (int i = 0; i < m->nlayers; i++) f->group_of[i] = -1;
  for (int g = 0; g < ng; g++) {
    struct group *q = &f->gr[g];
    q->first = spec[g].first, q->len = spec[g].len, q->out = q->first + q->len - 1;
    q->rows = m->layers[q->out].oh;
    double flops = 0, bytes = 0;
    for (int j = q->first; j <= q->out; j++)
      flops += 2 * m->layers[j].macs, bytes += m->layers[j].bytes;
    cut(q, flops, bytes, item_flops, spec[g].strip > 0 ? spec[g].strip : 1, spec[g].units, threads);
    q->copy = spec[g].copy;
    q->item_ns = BACKUP_NS + flops / q->nitems / BACKUP_FLOPS;
    q->item0 = f->nitems;
    f->nitems += q->nitems;
    f->group_of[q->out] = g;
  }
  return 0;
}

struct mbt_flow *mbt_flow_new(const struct mbt_model *m, const struct mbt_flow_group *spec,
                              int ng, int threads, double item_flops) {
  struct mbt_flow *f = calloc(1, sizeof *f);
  if (!f || build_groups(f, m, spec, ng, threads, item_flops) != 0) goto fail;
  const size_t n = (size_t)f->nitems;
  f->it = malloc(n * sizeof *f->it);
  f->dep0 = malloc(n * sizeof *f->dep0);
  f->ndep = malloc(n * sizeof *f->ndep);
  f->reads_input = calloc(n, 1);
  f->home = malloc(n * sizeof *f->home);
  f->taken = calloc(n, sizeof *f->taken);
  f->done = calloc(n, sizeof *f->done);
  f->copied = calloc(n, sizeof *f->copied);
  f->claimed = calloc(n, sizeof *f->claimed);
  f->active = calloc(n, sizeof *f->active);
  f->since = calloc(n, sizeof *f->since);
  f->gdone = calloc((size_t)ng, sizeof *f->gdone);
  if (!f->it || !f->dep0 || !f->ndep || !f->reads_input || !f->home || !f->taken || !f->done ||
      !f->copied || !f->claimed || !f->active || !f->since || !f->gdone)
    goto fail;
  for (int g = 0; g < ng; g++) {
    const struct group *q = &f->gr[g];
    for (int k = 0; k < q->nitems; k++) {
      const int s = k / q->cparts, r0 = s * q->chunk, r1 = r0 + q->chunk;
      f->home[q->item0 + k] = q->nitems > 1 ? k * threads / q->nitems : -1;
      f->it[q->item0 + k] = (struct mbt_flow_item){g, q->first, q->len, r0,
                                                   r1 < q->rows ? r1 : q->rows, k % q->cparts,
                                                   q->cparts};
    }
  }
  for (int g = 0; g < ng; g++)
    for (int i = f->gr[g].item0; i < f->gr[g].item0 + f->gr[g].nitems; i++) {
      f->dep0[i] = f->ndeps;
      item_deps(f, m, g, i);
      f->ndep[i] = f->ndeps - f->dep0[i];
      for (int j = f->gr[g].first; j <= f->gr[g].out; j++)
        f->reads_input[i] |=
            m->layers[j].res == -1 || (j == f->gr[g].first && m->layers[j].src < 0);
    }
  if (f->bad) goto fail;
  return f;
fail:
  mbt_flow_free(f);
  return NULL;
}

int mbt_flow_items(const struct mbt_flow *f) { return f->nitems; }

const struct mbt_flow_item *mbt_flow_item(const struct mbt_flow *f, int i) { return &f->it[i]; }

/* @p v's value when it is tagged with run @p run, else 0 (a value of another run). */
static unsigned tagged(uint64_t v, unsigned run) {
  return (unsigned)(v >> 32) == run ? (unsigned)v : 0;
}

/* Raise @p a to @p x of run @p run (from 0 when it holds another run's value), or add 1 to it
 * (@p x < 0), unless it holds a later run's: a thread of an old run leaves a new one alone. */
static void tag_raise(_Atomic uint64_t *a, unsigned run, long x) {
  uint64_t v = atomic_load_explicit(a, memory_order_acquire);
  for (;;) {
    const unsigned vr = (unsigned)(v >> 32);
    if (vr != run && (int)(vr - run) > 0) return; /* a later run's */
    const unsigned now = tagged(v, run), to = x < 0 ? now + 1 : (unsigned)x;
    if (x >= 0 && to <= now) return;
    if (atomic_compare_exchange_weak_explicit(a, &v, (uint64_t)run << 32 | to,
                                              memory_order_acq_rel, memory_order_acquire))
      return;
  }
}

static int dep_done(struct mbt_flow *f, const struct dep *d, unsigned run) {
  const struct group *q = &f->gr[d->g];
  if (tagged(atomic_load_explicit(&f->gdone[d->g], memory_order_acquire), run) ==
      (unsigned)q->nitems)
    return 1;
  for (int k = d->a; k < d->b; k++)
    if (atomic_load_explicit(&f->done[q->item0 + k], memory_order_acquire) != run) return 0;
  return 1;
}

/* 1 when item @p i may start in run @p run: what it reads is written, and no copy of it from
 * the run before still runs. */
static int ready(struct mbt_flow *f, int i, unsigned run) {
  if (atomic_load_explicit(&f->active[i], memory_order_acquire) > 0) return 0;
  for (int d = f->dep0[i]; d < f->dep0[i] + f->ndep[i]; d++)
    if (!dep_done(f, &f->dep[d], run)) return 0;
  return 1;
}

/* Claim @p flag for run @p run: 1 if this thread is the first to.  Runs only move forward, so
 * a thread still in an old run claims nothing of a newer one. */
static int claim(_Atomic unsigned *flag, unsigned run) {
  unsigned v = atomic_load(flag);
  while (v < run)
    if (atomic_compare_exchange_weak(flag, &v, run)) return 1;
  return 0;
}

/* The item to run next for the thread on @p slot, from the first one not done on: the first
 * ready one not taken in its own band of rows (the rows it wrote in the layers before may be
 * in its caches), else in any band, else a backup copy of a copyable one taken long ago
 * (*copy = 1); -1 if none now, -2 when every item is done.  (Waiting a little for an item of
 * its own band before taking another's was slower here: 3-7% on V1.) */
static int take(struct mbt_flow *f, unsigned run, int slot, int *copy) {
  int low = (int)tagged(atomic_load_explicit(&f->low, memory_order_relaxed), run);
  while (low < f->nitems && atomic_load_explicit(&f->done[low], memory_order_relaxed) >= run)
    low++;
  if (low >= f->nitems) return -2;
  tag_raise(&f->low, run, low);
  const int end = low + LOOKAHEAD < f->nitems ? low + LOOKAHEAD : f->nitems;
  for (int own = 1; own >= 0; own--)
    for (int i = low; i < end; i++)
      if ((!own || f->home[i] < 0 || f->home[i] == slot) &&
          atomic_load_explicit(&f->taken[i], memory_order_relaxed) < run && ready(f, i, run) &&
          claim(&f->taken[i], run)) {
        atomic_store_explicit(&f->since[i], mbt_now_ns(), memory_order_release);
        *copy = 0;
        return i;
      }
  const double now = mbt_now_ns();
  for (int i = low; i < end; i++) {
    const struct group *q = &f->gr[f->it[i].g];
    if (q->copy && atomic_load_explicit(&f->taken[i], memory_order_acquire) == run &&
        atomic_load_explicit(&f->active[i], memory_order_acquire) > 0 && /* since is set */
        atomic_load_explicit(&f->done[i], memory_order_acquire) < run &&
        now - atomic_load_explicit(&f->since[i], memory_order_acquire) > q->item_ns &&
        claim(&f->copied[i], run)) {
      *copy = 1;
      return i;
    }
  }
  return -1;
}

int mbt_flow_claim(const struct mbt_flow_claim *c) { return claim(&c->f->claimed[c->i], c->run); }

/* The pool: workers started on demand and kept for the process, worker k on slot k + 1 (its
 * scratch) pinned as mbt_topo_pin(k + 1) pins; a run's caller works on slot 0.  Between runs a
 * worker spins for SPIN_NS, then sleeps until the next run. */
#define MAX_WORKERS 255
#define SPIN_NS 200e3

struct job {
  struct mbt_flow *f;
  unsigned run;
  int threads;
  mbt_flow_fn fn;
  void *ctx;
};

static struct {
  pthread_mutex_t lock, caller;
  pthread_cond_t wake;
  int n;
  _Atomic unsigned seq; /* odd while the job is written */
  _Atomic int sleeping;
  struct job job;
  _Atomic long copies; /* backup copies run, by every flow */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0,
            {0}, 0};

long mbt_flow_copies(void) { return atomic_load(&pool.copies); }

/* The tests' straggler (mbt_flow_delay); only that slot's thread touches n. */
static struct {
  int slot;
  long every, n;
  double ns;
} delay = {-1, 0, 0, 0};

void mbt_flow_delay(int slot, long every, double ns) {
  delay.slot = slot, delay.every = every, delay.n = 0, delay.ns = ns;
}

/* Run items of run @p run on @p slot (this thread's scratch) until every one is done. */
static void work(struct mbt_flow *f, unsigned run, int slot, mbt_flow_fn fn, void *ctx) {
  for (;;) {
    if (atomic_load_explicit(&f->run, memory_order_acquire) != run) return;
    int copy = 0;
    const int i = take(f, run, slot, &copy);
    if (i == -2) return;
    if (i == -1) {
      mbt_cpu_relax();
      continue;
    }
    atomic_fetch_add(&f->active[i], 1);
    if (atomic_load(&f->done[i]) >= run) { /* a copy ended first: the run may be over */
      atomic_fetch_sub(&f->active[i], 1);
      continue;
    }
    if (slot == delay.slot && delay.every > 0 && ++delay.n % delay.every == 0)
      mbt_sleep_ns(delay.ns);
    const struct mbt_flow_claim c = {f, i, run};
    if (fn(ctx, &f->it[i], slot, &c) && claim(&f->done[i], run)) { /* the first to end */
      tag_raise(&f->gdone[f->it[i].g], run, -1);
    }
    if (copy) atomic_fetch_add_explicit(&pool.copies, 1, memory_order_relaxed);
    atomic_fetch_sub(&f->active[i], 1);
  }
}


/* No worker takes @p f's job from now on, and none that took it still reads it. */
static void forget(struct mbt_flow *f) {
  pthread_mutex_lock(&pool.lock);
  if (pool.job.f == f) pool.job.f = NULL;
  pthread_mutex_unlock(&pool.lock);
  while (atomic_load(&f->visitors) > 0) mbt_cpu_relax();
}

/* The job after @p seen for the worker on @p slot: waits for it.  j->f is NULL when the job is
 * not this worker's (fewer threads) or its flow is gone. */
static unsigned next_job(unsigned seen, int slot, struct job *j) {
  for (;;) {
    const double t0 = mbt_now_ns();
    unsigned s;
    while ((s = atomic_load_explicit(&pool.seq, memory_order_acquire)) == seen || (s & 1)) {
      if (mbt_now_ns() - t0 > SPIN_NS) {
        pthread_mutex_lock(&pool.lock);
        atomic_fetch_add(&pool.sleeping, 1);
        while (atomic_load(&pool.seq) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
        atomic_fetch_sub(&pool.sleeping, 1);
        pthread_mutex_unlock(&pool.lock);
      }
      mbt_cpu_relax();
    }
    pthread_mutex_lock(&pool.lock);
    *j = pool.job;
    s = atomic_load(&pool.seq);
    if (j->f && slot < j->threads) atomic_fetch_add(&j->f->visitors, 1);
    else j->f = NULL;
    pthread_mutex_unlock(&pool.lock);
    if (!(s & 1)) return s;
    if (j->f) atomic_fetch_sub(&j->f->visitors, 1);
  }
}

static void *worker(void *arg) {
  const int slot = (int)(intptr_t)arg;
  mbt_topo_pin(slot);
  unsigned seen = 0;
  for (;;) {
    struct job j;
    seen = next_job(seen, slot, &j);
    if (!j.f) continue;
    work(j.f, j.run, slot, j.fn, j.ctx);
    atomic_fetch_sub(&j.f->visitors, 1);
  }
  return NULL;
}

static int grow_pool(int workers) {
  while (pool.n < workers && pool.n < MAX_WORKERS) {
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    const int rc = pthread_create(&t, &a, worker, (void *)(intptr_t)(pool.n + 1));
    pthread_attr_destroy(&a);
    if (rc != 0) break;
    pool.n++;
  }
  return pool.n;
}

void mbt_flow_run(struct mbt_flow *f, int threads, mbt_flow_fn fn, void *ctx) {
  pthread_mutex_lock(&pool.caller);
  const unsigned run = atomic_load(&f->run) + 1;
  atomic_store(&f->run, run); /* low and gdone of the run before count for nothing now */
  if (threads > 1) {
    threads = 1 + grow_pool(threads - 1) < threads ? 1 + pool.n : threads;
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add(&pool.seq, 1);
    pool.job = (struct job){f, run, threads, fn, ctx};
    atomic_fetch_add(&pool.seq, 1);
    if (atomic_load(&pool.sleeping)) pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
  }
  work(f, run, 0, fn, ctx);
  for (int i = 0; i < f->nitems; i++) /* the caller may free or change its input now */
    while (f->reads_input[i] && atomic_load_explicit(&f->active[i], memory_order_acquire) > 0)
      mbt_cpu_relax();
  pthread_mutex_unlock(&pool.caller);
}
