/*
 * edgerelay_stream.c — the C SDK's stream plugins: the labels of the refs
 * the host told (er_stream_labels), and the series a plugin declares,
 * emits and retires, kept until edgerelay.c's er_stream export encodes
 * them in the StreamResponse layout (docs/plugins.md, "The ABI").
 */
#include "edgerelay.h"
#include "edgerelay_stream.h"

#include <stdlib.h>
#include <string.h>

/* ---- the labels of told refs: an open-addressing table by ref ---- */

/* told is one ref's label set: the er_label array and the strings follow
 * it in the same allocation. */
typedef struct {
	er_series ls;
	uint32_t ref, gen;
} told;

static told **tab;
static uint32_t tab_cap, tab_n, gen_now;

static uint32_t slot(told **t, uint32_t cap, uint32_t ref) {
	uint32_t i = (ref * 2654435761u) & (cap - 1);
	while (t[i] && t[i]->ref != ref) i = (i + 1) & (cap - 1);
	return i;
}

/* rehash moves the entries kept (all, or those of gen when only_gen) into a
 * table of cap slots and frees the others; non-zero when out of memory. */
static int rehash(uint32_t cap, int only_gen, uint32_t gen) {
	told **t = calloc(cap, sizeof *t);
	if (!t) return -1;
	uint32_t n = 0;
	for (uint32_t i = 0; i < tab_cap; i++) {
		told *e = tab[i];
		if (!e) continue;
		if (only_gen && e->gen != gen) {
			free(e);
			continue;
		}
		t[slot(t, cap, e->ref)] = e, n++;
	}
	free(tab);
	tab = t, tab_cap = cap, tab_n = n;
	return 0;
}

uint32_t er__told_begin(void) { return ++gen_now; }

int er__told(uint32_t ref, const er_series *ls, uint32_t gen) {
	if ((tab_n + 1) * 2 > tab_cap && rehash(tab_cap ? tab_cap * 2 : 1024, 0, 0)) return -1;
	size_t size = sizeof(told) + (size_t)ls->count * sizeof(er_label);
	for (uint32_t i = 0; i < ls->count; i++) size += ls->labels[i].name.n + ls->labels[i].value.n;
	told *e = malloc(size);
	if (!e) return -1;
	er_label *l = (er_label *)(e + 1);
	char *p = (char *)(l + ls->count);
	for (uint32_t i = 0; i < ls->count; i++) {
		er_str s[2] = {ls->labels[i].name, ls->labels[i].value};
		for (int k = 0; k < 2; k++) {
			if (s[k].n) memcpy(p, s[k].p, s[k].n);
			s[k].p = p, p += s[k].n;
		}
		l[i] = (er_label){s[0], s[1]};
	}
	e->ls = (er_series){.labels = l, .count = ls->count, .cap = ls->count};
	e->ref = ref, e->gen = gen;
	uint32_t i = slot(tab, tab_cap, ref);
	if (tab[i]) free(tab[i]);
	else tab_n++;
	tab[i] = e;
	return 0;
}

void er__forget_all_but(uint32_t gen) {
	uint32_t cap = tab_cap;
	if (rehash(cap, 1, gen) == 0) return;
	/* no memory for a second table: forget them all */
	for (uint32_t i = 0; i < tab_cap; i++) free(tab[i]), tab[i] = 0;
	tab_n = 0;
}

const er_series *er_stream_labels(const er_stream *s, uint32_t ref) {
	(void)s;
	if (!tab_n) return 0;
	told *e = tab[slot(tab, tab_cap, ref)];
	return e ? &e->ls : 0;
}

/* ---- what the plugin declares, retires and emits ---- */

typedef struct {
	uint8_t *p;
	uint32_t n, cap;
} bytes;

static bytes decl, retired, em_ref, em_t, em_v;
static uint32_t n_decl, n_retired, n_emitted;
static int oom;
static er_series scratch; /* a declaration's labels, sorted */

static void add(bytes *b, const void *p, uint32_t n) {
	if (oom) return;
	if (b->n + (uint64_t)n > b->cap) {
		uint64_t c = b->cap ? b->cap : 1024;
		while (c < b->n + (uint64_t)n) c *= 2;
		uint8_t *q = c > UINT32_MAX ? 0 : realloc(b->p, c);
		if (!q) {
			oom = 1;
			er_fail("out of memory");
			return;
		}
		b->p = q, b->cap = (uint32_t)c;
	}
	memcpy(b->p + b->n, p, n), b->n += n;
}
/* wasm32 is little-endian, as the ABI: integers are stored as they are. */
static void add32(bytes *b, uint32_t v) { add(b, &v, 4); }
static void add_str(bytes *b, er_str s) { add32(b, s.n), add(b, s.p, s.n); }
static void add_cstr(bytes *b, const char *s) { add_str(b, s ? er_cstr(s) : (er_str){"", 0}); }

er_label er_label_of(const char *name, const char *value) { return (er_label){er_cstr(name), er_cstr(value)}; }

void er_stream_declare(er_stream *s, uint32_t id, const er_label *labels, uint32_t n, er_meta meta) {
	(void)s;
	scratch.count = 0;
	for (uint32_t i = 0; i < n; i++) er_series_set_str(&scratch, labels[i].name, labels[i].value);
	add32(&decl, id), add32(&decl, scratch.count);
	for (uint32_t i = 0; i < scratch.count; i++) add_str(&decl, scratch.labels[i].name), add_str(&decl, scratch.labels[i].value);
	add_cstr(&decl, meta.type), add_cstr(&decl, meta.help), add_cstr(&decl, meta.unit);
	n_decl++;
}

void er_stream_emit(er_stream *s, uint32_t id, int64_t t, double v) {
	(void)s;
	add32(&em_ref, id), add(&em_t, &t, 8), add(&em_v, &v, 8);
	n_emitted++;
}

void er_stream_retire(er_stream *s, uint32_t id) {
	(void)s;
	add32(&retired, id);
	n_retired++;
}

void er__stream_reset(void) {
	decl.n = retired.n = em_ref.n = em_t.n = em_v.n = 0;
	n_decl = n_retired = n_emitted = 0, oom = 0;
}

int er__stream_put(void (*put)(const void *b, uint32_t n)) {
	if (oom) return -1;
	put(&n_decl, 4), put(decl.p, decl.n);
	put(&n_retired, 4), put(retired.p, retired.n);
	put(&n_emitted, 4), put(em_ref.p, em_ref.n), put(em_t.p, em_t.n), put(em_v.p, em_v.n);
	return 0;
}
