/* reports/data.c -- the report data a section renders (tuner/record.c says the format): found
 * in the data directory by what it holds (network, width, resolution, classes, thread count),
 * never matched against the machine the report is made on.  A file that does not parse, or
 * holds another network's layers, is passed over: the section then says less. */
#include "config.h"

#include <dirent.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "reports/report.h"

#define DATA_MAX (64u << 20)

static json_object *field(json_object *o, const char *name, json_type t) {
  json_object *v;
  return json_object_object_get_ex(o, name, &v) && json_object_is_type(v, t) ? v : NULL;
}

static void get_str(json_object *o, const char *name, char *out, size_t n) {
  json_object *v = field(o, name, json_type_string);
  snprintf(out, n, "%s", v ? json_object_get_string(v) : "");
}

static int get_int(json_object *o, const char *name) {
  json_object *v = field(o, name, json_type_int);
  return v ? json_object_get_int(v) : 0;
}

static double get_double(json_object *o, const char *name) {
  json_object *v;
  if (!json_object_object_get_ex(o, name, &v) ||
      !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
    return 0;
  const double x = json_object_get_double(v);
  return isfinite(x) ? x : 0;
}

static void machine_of(json_object *o, struct mbt_machine *m) {
  memset(m, 0, sizeof *m);
  get_str(o, "vendor", m->vendor, sizeof m->vendor);
  get_str(o, "model", m->model, sizeof m->model);
  m->family = get_int(o, "family"), m->cpu_model = get_int(o, "cpu_model");
  m->stepping = get_int(o, "stepping");
  get_str(o, "features", m->features, sizeof m->features);
  json_object *isa = field(o, "isa", json_type_array), *caches = field(o, "caches", json_type_array);
  for (size_t i = 0; isa && i < json_object_array_length(isa); i++)
    for (uint32_t b = 1; b <= MBT_ISA_NEON; b <<= 1)
      if (!strcmp(json_object_get_string(json_object_array_get_idx(isa, i)), mbt_isa_name(b)))
        m->isa |= b;
  m->cores = get_int(o, "cores"), m->threads = get_int(o, "threads");
  m->numa_nodes = get_int(o, "numa_nodes");
  m->mhz = get_double(o, "mhz");
  for (size_t i = 0; caches && i < json_object_array_length(caches) && i < MBT_MAX_CACHES; i++) {
    json_object *c = json_object_array_get_idx(caches, i);
    struct mbt_cache *mc = &m->caches[m->ncaches++];
    mc->level = get_int(c, "level"), mc->line = get_int(c, "line");
    const double size = get_double(c, "size");
    mc->size = size > 0 && size < 0x1p48 ? (uint64_t)size : 0;
    mc->assoc = get_int(c, "assoc"), mc->shared_by = get_int(c, "shared_by");
    mc->instances = get_int(c, "instances");
  }
  json_object *cnt = field(o, "counters", json_type_boolean);
  m->counters = cnt ? json_object_get_boolean(cnt) : 0;
  get_str(o, "counters_note", m->counters_note, sizeof m->counters_note);
  get_str(o, "fingerprint", m->fingerprint, sizeof m->fingerprint);
}

/* The layers of @p js into @p s: 0 unless they are @p m's, name by name. */
static int layers_of(json_object *js, const struct mbt_model *m, struct saved *s) {
  json_object *arr = field(js, "layers", json_type_array);
  if (!arr || (int)json_object_array_length(arr) != m->nlayers) return 0;
  s->nlayers = m->nlayers;
  for (int i = 0; i < m->nlayers; i++) {
    json_object *o = json_object_array_get_idx(arr, (size_t)i), *c;
    json_object *name = field(o, "name", json_type_string);
    if (!name || strcmp(json_object_get_string(name), m->layers[i].name)) return 0;
    struct saved_layer *l = &s->l[i];
    l->ncand = 0;
    if ((c = field(o, "candidates", json_type_array)))
      for (size_t k = 0; k < json_object_array_length(c) && l->ncand < MBT_MAX_CANDS; k++) {
        json_object *v = json_object_array_get_idx(c, k);
        if (json_object_is_type(v, json_type_string))
          snprintf(l->cand[l->ncand++], sizeof l->cand[0], "%s", json_object_get_string(v));
      }
    l->counted_i = get_double(o, "counted_intensity");
  }
  return 1;
}

static void groups_of(json_object *js, const struct mbt_model *m, struct saved *s) {
  json_object *arr = field(js, "groups", json_type_array);
  s->ngroups = 0;
  for (size_t k = 0; arr && k < json_object_array_length(arr); k++) {
    json_object *o = json_object_array_get_idx(arr, k), *f = field(o, "fused", json_type_boolean);
    struct saved_group *g = &s->g[s->ngroups];
    g->first = get_int(o, "first"), g->layers = get_int(o, "layers");
    g->fused = f ? json_object_get_boolean(f) : 0;
    get_str(o, "key", g->key, sizeof g->key);
    if (g->first >= 0 && (g->layers == 2 || g->layers == 3) && g->first + g->layers <= m->nlayers &&
        s->ngroups < (int)(sizeof s->g / sizeof s->g[0]))
      s->ngroups++;
  }
}

/* 1 when @p js is the report data of @p m at @p threads (and then loaded into @p s). */
static int matches(json_object *js, const struct mbt_model *m, int threads, struct saved *s) {
  json_object *fmt = field(js, "format", json_type_string), *net = field(js, "net", json_type_string);
  json_object *mach = field(js, "machine", json_type_object);
  char id[64];
  mbt_model_id(m, id, sizeof id);
  if (!fmt || strcmp(json_object_get_string(fmt), "mobitune-report-data") ||
      get_int(js, "version") < 1 || !net || strcmp(json_object_get_string(net), id) ||
      fabs(get_double(js, "alpha") - m->alpha) > 1e-9 || get_int(js, "res") != m->res ||
      get_int(js, "classes") != m->classes || get_int(js, "threads") != threads || !mach ||
      !layers_of(js, m, s))
    return 0;
  machine_of(mach, &s->m);
  groups_of(js, m, s);
  return 1;
}

static int load_file(const char *path, const struct mbt_model *m, int threads, struct saved *s) {
  enum mbt_status st;
  size_t len = 0;
  char *text = mbt_read_file_max(path, DATA_MAX, &len, &st);
  json_object *js = text && strlen(text) == len ? json_tokener_parse(text) : NULL;
  const int ok = js && matches(js, m, threads, s);
  json_object_put(js);
  free(text);
  return ok;
}

void mbt_report_data_load(const char *dir, const struct mbt_model *m, int threads,
                          struct saved *s) {
  DIR *d = dir ? opendir(dir) : NULL;
  const struct dirent *e;
  s->have = 0;
  while (d && !s->have && (e = readdir(d))) {
    const size_t n = strlen(e->d_name);
    char path[4400];
    if (strncmp(e->d_name, "report-data-", 12) || n < 17 || strcmp(e->d_name + n - 5, ".json"))
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    s->have = load_file(path, m, threads > 1 ? threads : 1, s);
  }
  if (d) closedir(d);
}
