// emit: a stream plugin for the ABI test suite (TestABISuite), the C twin
// of emit/main.go. For every metric name (and job) it sees it declares a
// series "<name>:seen" (a counter, job label kept) and emits, per batch,
// the number of samples of that name seen so far at the batch's last
// timestamp, in the order of the series' ids; it also emits "emit_told",
// the number of refs it was given samples of. With drop_input it keeps no
// input sample; with unbounded it declares a new series for every sample
// and never retires one; with retire it retires every series right after
// emitting it. A test plugin: its lookups are linear.
// Config: {"drop_input": false, "unbounded": false, "retire": false}.
#include "edgerelay.h"

#include <stdlib.h>
#include <string.h>

static int drop_input, unbounded, retire;

static int configure(er_str config) {
	er_config c = er_config_open(config);
	er_str key, val;
	while (er_config_next(&c, &key, &val)) {
		int *dst = er_str_eq(key, "drop_input") ? &drop_input : er_str_eq(key, "unbounded") ? &unbounded : er_str_eq(key, "retire") ? &retire : 0;
		if (!dst) return er_config_fail(key, "unknown field");
		if (er_json_bool(val, dst) < 0) return er_config_fail(key, "want true or false");
	}
	return c.err ? -1 : 0;
}

// A name's series: its key "<name>\xff<job>" (heap), id, count; id 0 once retired.
typedef struct {
	char *key;
	uint32_t id, touched;
	double count;
} named;

static named *names;
static uint32_t n_names, cap_names, next_id;
static uint32_t *told, n_told, cap_told; // refs given samples of

static int grow(void **p, uint32_t *cap, uint32_t want, size_t size) {
	if (want <= *cap) return 0;
	uint32_t c = *cap ? *cap * 2 : 64;
	void *q = realloc(*p, (size_t)c * size);
	if (!q) return er_fail("out of memory");
	*p = q, *cap = c;
	return 0;
}

static int note_told(uint32_t ref) {
	for (uint32_t i = 0; i < n_told; i++)
		if (told[i] == ref) return 0;
	if (grow((void **)&told, &cap_told, n_told + 1, sizeof *told)) return -1;
	told[n_told++] = ref;
	return 0;
}

static char *join(er_str name, er_str job, const char *sep) {
	size_t k = strlen(sep);
	char *s = malloc(name.n + k + job.n + 1);
	if (!s) return 0;
	memcpy(s, name.p, name.n), memcpy(s + name.n, sep, k), memcpy(s + name.n + k, job.p, job.n);
	s[name.n + k + job.n] = 0;
	return s;
}

// lookup returns the entry of name and job, declaring its series when new.
static named *lookup(er_stream *s, er_str name, er_str job) {
	char *key = join(name, job, "\xff");
	if (!key) return er_fail("out of memory"), (named *)0;
	for (uint32_t i = 0; i < n_names; i++)
		if (names[i].id && strcmp(names[i].key, key) == 0) return free(key), &names[i];
	if (grow((void **)&names, &cap_names, n_names + 1, sizeof *names)) return free(key), (named *)0;
	named *e = &names[n_names++];
	*e = (named){key, ++next_id, 0, 0};
	char *seen = join(name, er_cstr(":seen"), "");
	if (!seen) return er_fail("out of memory"), (named *)0;
	er_label ls[] = {er_label_of(ER_METRIC_NAME, seen), {er_cstr("job"), job}};
	er_stream_declare(s, e->id, ls, 2, (er_meta){.type = "counter", .help = "samples seen"});
	free(seen); // declared: encoded already
	return e;
}

static int emit_unbounded(er_stream *s) {
	for (uint32_t i = 0; i < s->samples.count; i++) {
		char n[16];
		uint32_t id = ++next_id, k = 0, d = id;
		n[k++] = (char)('a' + id % 26);
		char digits[11];
		int j = 0;
		do digits[j++] = (char)('0' + d % 10); while (d /= 10);
		while (j) n[k++] = digits[--j];
		n[k] = 0;
		er_label ls[] = {er_label_of(ER_METRIC_NAME, "unbounded"), er_label_of("n", n)};
		er_stream_declare(s, id, ls, 2, (er_meta){0});
		er_stream_emit(s, id, s->samples.t[i], 1);
	}
	return 0;
}

static int process(er_stream *s) {
	int64_t last = 0;
	for (uint32_t i = 0; i < s->samples.count; i++) {
		if (note_told(s->samples.ref[i])) return -1;
		if (s->samples.t[i] > last) last = s->samples.t[i];
	}
	if (unbounded) return emit_unbounded(s);
	for (uint32_t i = 0; i < s->samples.count; i++) {
		const er_series *ls = er_stream_labels(s, s->samples.ref[i]);
		er_str name = {"", 0}, job = {"", 0};
		if (ls) name = er_series_get(ls, ER_METRIC_NAME), job = er_series_get(ls, "job");
		named *e = lookup(s, name, job);
		if (!e) return -1;
		e->count++, e->touched = 1;
	}
	for (uint32_t i = 0; i < n_names; i++) { // in id order: ids grow with the index
		named *e = &names[i];
		if (!e->id || !e->touched) continue;
		e->touched = 0;
		er_stream_emit(s, e->id, last, e->count);
		if (retire) er_stream_retire(s, e->id), e->id = 0;
	}
	er_label told_ls[] = {er_label_of(ER_METRIC_NAME, "emit_told")};
	er_stream_declare(s, 0, told_ls, 1, (er_meta){.type = "gauge"});
	er_stream_emit(s, 0, last, n_told);
	if (drop_input) s->samples.count = 0;
	return 0;
}

const er_plugin er_plugin_def = {.init = configure, .stream = process};
