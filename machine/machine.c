/* machine/machine.c -- mbt_machine_detect(): identity, topology, counters, fingerprint. */
#include "config.h"

#include <json-c/json.h>
#include <string.h>

#include "common/common.h"
#include "machine/counters.h"
#include "machine/isa.h"
#include "machine/machine.h"

/* The fingerprint keys plans: it covers what changes which kernel wins (CPU identity, usable
 * ISA, cache sizes, core count) and nothing that varies between boots (clock, load). */
static void fingerprint(struct mbt_machine *m) {
  uint64_t h = MBT_FNV_INIT;
  h = mbt_fnv(h, m->vendor, strlen(m->vendor));
  h = mbt_fnv(h, m->model, strlen(m->model));
  int ids[5] = {m->family, m->cpu_model, m->stepping, m->cores, m->threads};
  h = mbt_fnv(h, ids, sizeof ids);
  h = mbt_fnv(h, &m->isa, sizeof m->isa);
  for (int i = 0; i < m->ncaches; i++) {
    uint64_t c[2] = {(uint64_t)m->caches[i].level, m->caches[i].size};
    h = mbt_fnv(h, c, sizeof c);
  }
  snprintf(m->fingerprint, sizeof m->fingerprint, "%016llx", (unsigned long long)h);
}

enum mbt_status mbt_machine_detect(struct mbt_machine *m) {
  memset(m, 0, sizeof *m);
  mbt_cpu_detect(m);
  mbt_topo_detect(m);
  m->counters = mbt_counters_probe(m->counters_note, sizeof m->counters_note);
  fingerprint(m);
  return MBT_OK;
}

const struct mbt_cache *mbt_machine_cache(const struct mbt_machine *m, int level) {
  for (int i = 0; i < m->ncaches; i++)
    if (m->caches[i].level == level) return &m->caches[i];
  return NULL;
}

static void isa_list(uint32_t mask, char *buf, size_t n) {
  buf[0] = 0;
  for (uint32_t b = 1; b <= MBT_ISA_NEON; b <<= 1)
    if (mask & b) {
      size_t l = strlen(buf);
      snprintf(buf + l, n - l, "%s%s", l ? " " : "", mbt_isa_name(b));
    }
}

static void size_str(uint64_t b, char *buf, size_t n) {
  if (b >= (1u << 20) && b % (1u << 20) == 0)
    snprintf(buf, n, "%llu MiB", (unsigned long long)(b >> 20));
  else
    snprintf(buf, n, "%llu KiB", (unsigned long long)(b >> 10));
}

json_object *mbt_machine_json(const struct mbt_machine *m) {
  char usable[128], cpu[128];
  isa_list(m->isa, usable, sizeof usable);
  isa_list(m->isa_cpu, cpu, sizeof cpu);
  json_object *o = json_object_new_object(), *isa = json_object_new_array();
  json_object_object_add(o, "vendor", json_object_new_string(m->vendor));
  json_object_object_add(o, "model", json_object_new_string(m->model));
  json_object_object_add(o, "family", json_object_new_int(m->family));
  json_object_object_add(o, "cpu_model", json_object_new_int(m->cpu_model));
  json_object_object_add(o, "stepping", json_object_new_int(m->stepping));
  json_object_object_add(o, "features", json_object_new_string(m->features));
  json_object_object_add(o, "isa_cpu", json_object_new_string(cpu));
  json_object_object_add(o, "isa_usable", json_object_new_string(usable));
  for (uint32_t b = 1; b <= MBT_ISA_NEON; b <<= 1) /* the usable ISA, one name each */
    if (m->isa & b) json_object_array_add(isa, json_object_new_string(mbt_isa_name(b)));
  json_object_object_add(o, "isa", isa);
  json_object_object_add(o, "cores", json_object_new_int(m->cores));
  json_object_object_add(o, "threads", json_object_new_int(m->threads));
  json_object_object_add(o, "numa_nodes", json_object_new_int(m->numa_nodes));
  json_object_object_add(o, "mhz", json_object_new_double(m->mhz));
  json_object *caches = json_object_new_array();
  for (int i = 0; i < m->ncaches && i < MBT_MAX_CACHES; i++) {
    const struct mbt_cache *c = &m->caches[i];
    json_object *jc = json_object_new_object();
    json_object_object_add(jc, "level", json_object_new_int(c->level));
    json_object_object_add(jc, "size", json_object_new_int64((int64_t)c->size));
    json_object_object_add(jc, "line", json_object_new_int(c->line));
    json_object_object_add(jc, "assoc", json_object_new_int(c->assoc));
    json_object_object_add(jc, "shared_by", json_object_new_int(c->shared_by));
    json_object_object_add(jc, "instances", json_object_new_int(c->instances));
    json_object_array_add(caches, jc);
  }
  json_object_object_add(o, "caches", caches);
  json_object_object_add(o, "counters", json_object_new_boolean(m->counters));
  json_object_object_add(o, "counters_note", json_object_new_string(m->counters_note));
  json_object_object_add(o, "source", json_object_new_string(m->source));
  json_object_object_add(o, "fingerprint", json_object_new_string(m->fingerprint));
  return o;
}

void mbt_machine_print(const struct mbt_machine *m, FILE *out, int json) {
  char usable[128];
  isa_list(m->isa, usable, sizeof usable);
  if (json) {
    json_object *o = mbt_machine_json(m);
    json_object_object_add(o, "mobitune", json_object_new_string(mbt_version()));
    fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
    json_object_put(o);
    return;
  }
  fprintf(out, "CPU          %s (%s)\n", m->model, m->vendor);
  fprintf(out, "family       %d  model %d  stepping %d\n", m->family, m->cpu_model, m->stepping);
  fprintf(out, "features     %s\n", m->features);
  fprintf(out, "ISA usable   %s%s\n", usable,
          m->isa != (m->isa_cpu & m->isa_built) ? "   (capped by MBT_ISA)" : "");
  fprintf(out, "cores        %d physical, %d hardware threads, %d NUMA node%s\n", m->cores,
          m->threads, m->numa_nodes, m->numa_nodes == 1 ? "" : "s");
  if (m->mhz > 0)
    fprintf(out, "clock        %.0f MHz (nominal, from the OS)\n", m->mhz);
  else
    fprintf(out, "clock        unknown\n");
  for (int i = 0; i < m->ncaches; i++) {
    const struct mbt_cache *c = &m->caches[i];
    char sz[32];
    size_str(c->size, sz, sizeof sz);
    fprintf(out, "L%d cache     %s, %d B lines, %d-way, shared by %d thread%s, %d instance%s\n",
            c->level, sz, c->line, c->assoc, c->shared_by, c->shared_by == 1 ? "" : "s",
            c->instances, c->instances == 1 ? "" : "s");
  }
  fprintf(out, "counters     %s: %s\n", m->counters ? "yes" : "no", m->counters_note);
  fprintf(out, "facts from   %s\n", m->source);
  fprintf(out, "fingerprint  %s\n", m->fingerprint);
}
