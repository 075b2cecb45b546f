// sumby: an edgerelay stream plugin in C, on the C SDK (sdk/c/edgerelay.h).
// It sums, per window of `interval` and per metric name and value of the
// label `by`, the samples of the series whose name starts with `prefix`,
// and emits each sum at its window's end as a new series named as
// builtin:aggregate names its `sum` output, so the two agree on the same
// input: <metric>:<interval>_by_<by>_sum. Windows are (k·interval,
// (k+1)·interval], emitted once a sample more than `delay` past the end has
// arrived; a series that had a sum and gets none in a window gets a
// staleness marker and is retired. Its Go twin is go/main.go.
// Config: {"prefix": "", "by": "job", "interval": "1m", "delay": "10s",
// "keep_input": true}; delay shorter than interval, so at most two windows
// are open. A sample too late for its window (or of a third open window)
// is not summed, and passes on even with keep_input: false.
#include "edgerelay.h"

#include <stdlib.h>
#include <string.h>

static char prefix[256], by[256] = "job", ival[32] = "1m", dly[32] = "10s", suffix[300];
static int64_t interval = 60000, delay = 10000;
static int keep_input = 1;

static int duration(const char *s, int64_t *ms) {
	char *end;
	long long n = strtoll(s, &end, 10);
	int64_t unit = !strcmp(end, "ms") ? 1 : !strcmp(end, "s") ? 1000 : !strcmp(end, "m") ? 60000 : !strcmp(end, "h") ? 3600000 : 0;
	if (end == s || n <= 0 || !unit || n > INT64_MAX / 4 / unit) return -1;
	*ms = n * unit;
	return 0;
}

static int configure(er_str config) {
	er_config c = er_config_open(config);
	er_str key, val;
	while (er_config_next(&c, &key, &val)) {
		char *dst = er_str_eq(key, "prefix") ? prefix : er_str_eq(key, "by") ? by : er_str_eq(key, "interval") ? ival : er_str_eq(key, "delay") ? dly : 0;
		size_t cap = dst == ival || dst == dly ? sizeof ival : sizeof prefix;
		if (dst && er_json_string(val, dst, cap) < 0) return er_config_fail(key, "want a short string");
		if (!dst && !er_str_eq(key, "keep_input")) return er_config_fail(key, "unknown field");
		if (!dst && er_json_bool(val, &keep_input) < 0) return er_config_fail(key, "want true or false");
	}
	if (c.err) return -1;
	if (!by[0] || !strcmp(by, ER_METRIC_NAME)) return er_fail("by must name a label other than __name__");
	if (duration(ival, &interval) || duration(dly, &delay)) return er_fail("interval and delay must be durations such as 1m or 10s");
	if (delay >= interval) return er_fail("delay must be shorter than interval");
	strcpy(suffix, ":"), strcat(suffix, ival), strcat(suffix, "_by_"), strcat(suffix, by), strcat(suffix, "_sum");
	return 0;
}

// A group: its key "<name>\xff<by value>" and its two open windows' sums,
// in slot (end / interval) % 2. Its id is its index + 1.
typedef struct {
	char *key;
	uint32_t name_len, declared;
	double sum[2];
	uint32_t n[2];
	int64_t last_end; // of its last emitted sum
} group;

static group *groups;
static uint32_t n_groups, cap_groups, n_live;
static uint32_t *gtab, gtab_cap; // group index + 1 by key hash, open addressing
static int64_t slot_end[2], flushed = INT64_MIN, max_t = INT64_MIN;

// refs: ref -> group index + 1 (0: not summed), open addressing (key
// UINT32_MAX: empty), doubled up to 65536 slots, then emptied when half
// full; the host tells a batch's labels again after making the SDK forget,
// so er_stream_labels knows every ref of the batch at hand.
static uint32_t *rkey, *rval, rcap, rn;

static int refs_resize(uint32_t cap) {
	uint32_t *k = malloc(cap * 4), *v = malloc(cap * 4);
	if (!k || !v) return free(k), free(v), er_fail("out of memory");
	memset(k, 0xff, cap * 4);
	for (uint32_t i = 0; i < rcap; i++) {
		if (rkey[i] == UINT32_MAX) continue;
		uint32_t j = rkey[i] * 2654435761u & (cap - 1);
		while (k[j] != UINT32_MAX) j = (j + 1) & (cap - 1);
		k[j] = rkey[i], v[j] = rval[i];
	}
	free(rkey), free(rval);
	rkey = k, rval = v, rcap = cap;
	return 0;
}

static uint32_t hash(const char *p, size_t n) {
	uint32_t h = 2166136261u;
	while (n--) h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

static int grow_gtab(void) {
	uint32_t cap = gtab_cap ? gtab_cap * 2 : 256, *t = calloc(cap, 4);
	if (!t) return er_fail("out of memory");
	for (uint32_t g = 0; g < n_groups; g++) {
		uint32_t i = hash(groups[g].key, strlen(groups[g].key)) & (cap - 1);
		while (t[i]) i = (i + 1) & (cap - 1);
		t[i] = g + 1;
	}
	free(gtab), gtab = t, gtab_cap = cap;
	return 0;
}

// group_of returns ls's group index + 1, 0 when ls is not summed, or -1.
static int64_t group_of(const er_series *ls) {
	er_str name = er_series_get(ls, ER_METRIC_NAME), v = er_series_get(ls, by);
	if (!name.n || !er_str_has_prefix(name, prefix)) return 0;
	static char key[2 * ER_MAX_STRING + 2]; // not on the stack: 64 KiB in all
	memcpy(key, name.p, name.n), key[name.n] = '\xff', memcpy(key + name.n + 1, v.p, v.n);
	size_t kn = name.n + 1 + v.n;
	key[kn] = 0;
	if ((n_groups + 1) * 2 > gtab_cap && grow_gtab()) return -1;
	uint32_t i = hash(key, kn) & (gtab_cap - 1);
	for (; gtab[i]; i = (i + 1) & (gtab_cap - 1))
		if (!strcmp(groups[gtab[i] - 1].key, key)) return gtab[i];
	if (n_groups == cap_groups) {
		group *g = realloc(groups, (cap_groups ? cap_groups * 2 : 64) * sizeof *g);
		if (!g) return er_fail("out of memory");
		groups = g, cap_groups = cap_groups ? cap_groups * 2 : 64;
	}
	char *k = malloc(kn + 1);
	if (!k) return er_fail("out of memory");
	memcpy(k, key, kn + 1);
	groups[n_groups] = (group){.key = k, .name_len = name.n};
	return gtab[i] = ++n_groups;
}

static int64_t ref_group(const er_stream *s, uint32_t ref) {
	uint32_t i = ref * 2654435761u & (rcap - 1);
	for (; rkey[i] != UINT32_MAX; i = (i + 1) & (rcap - 1))
		if (rkey[i] == ref) return rval[i];
	const er_series *ls = er_stream_labels(s, ref);
	int64_t g = ls ? group_of(ls) : 0;
	if (g < 0) return g;
	if (++rn * 2 > rcap) {
		if (rcap < 1 << 16) {
			if (refs_resize(rcap * 2)) return -1;
		} else { // full: start again
			memset(rkey, 0xff, rcap * 4), rn = 1;
		}
		i = ref * 2654435761u & (rcap - 1);
		while (rkey[i] != UINT32_MAX) i = (i + 1) & (rcap - 1);
	}
	rkey[i] = ref, rval[i] = (uint32_t)g;
	return g;
}

static void declare(er_stream *s, uint32_t g) {
	group *gr = &groups[g];
	static char name[ER_MAX_STRING + sizeof suffix];
	memcpy(name, gr->key, gr->name_len), strcpy(name + gr->name_len, suffix);
	er_label ls[] = {er_label_of(ER_METRIC_NAME, name), er_label_of(by, gr->key + gr->name_len + 1)};
	er_stream_declare(s, g + 1, ls, 2, (er_meta){.type = "gauge", .help = "sumby: sum per window"});
	gr->declared = 1, n_live++;
}

// flush emits the window ending at end: its sums, then a staleness marker
// for every series that had a sum before and has none in it.
static void flush(er_stream *s, int64_t end) {
	int k = (int)(end / interval & 1), mine = slot_end[k] == end; // else the slot holds a later window
	for (uint32_t g = 0; g < n_groups; g++) {
		group *gr = &groups[g];
		if (mine && gr->n[k]) {
			if (!gr->declared) declare(s, g);
			er_stream_emit(s, g + 1, end, gr->sum[k]);
			gr->last_end = end;
		} else if (gr->declared && gr->last_end < end) {
			double stale;
			uint64_t bits = 0x7ff0000000000002ull;
			memcpy(&stale, &bits, 8);
			er_stream_emit(s, g + 1, end, stale);
			er_stream_retire(s, g + 1);
			gr->declared = 0, n_live--;
		}
		if (mine) gr->sum[k] = 0, gr->n[k] = 0;
	}
	if (mine) slot_end[k] = 0;
	flushed = end;
}

// flush_before emits, oldest first, every window ending before bound: those
// with samples, and the one right after an emitted window while series are live.
static void flush_before(er_stream *s, int64_t bound) {
	for (;;) {
		int64_t end = INT64_MAX;
		for (int k = 0; k < 2; k++)
			if (slot_end[k] && slot_end[k] < end) end = slot_end[k];
		if (n_live && flushed != INT64_MIN && flushed + interval < end) end = flushed + interval;
		if (end == INT64_MAX || end >= bound) return;
		flush(s, end);
	}
}

// add sums one sample into its group's window; 0 when too late.
static int add(er_stream *s, uint32_t g, int64_t t, double v) {
	int64_t q = (t - 1) / interval - ((t - 1) % interval < 0);
	int64_t end = q * interval + interval;
	int k = (int)(end / interval & 1);
	if (end <= flushed) return 0;
	if (slot_end[k] && slot_end[k] < end) flush_before(s, slot_end[k] + 1); // a third window
	if (slot_end[k] && slot_end[k] != end) return 0;
	slot_end[k] = end, groups[g].sum[k] += v, groups[g].n[k]++;
	return 1;
}

static int process(er_stream *s) {
	if (!rcap && refs_resize(1024)) return -1;
	er_samples *in = &s->samples;
	uint32_t w = 0;
	for (uint32_t i = 0; i < in->count; i++) {
		if (in->t[i] > max_t) max_t = in->t[i];
		int64_t g = ref_group(s, in->ref[i]);
		if (g < 0) return -1;
		int summed = g && !er_is_stale(in->v[i]) && add(s, (uint32_t)g - 1, in->t[i], in->v[i]);
		if (keep_input || !g || (!summed && !er_is_stale(in->v[i]))) er_samples_keep(in, i, &w);
	}
	in->count = w;
	if (max_t > INT64_MIN + delay) flush_before(s, max_t - delay);
	return 0;
}

const er_plugin er_plugin_def = {.init = configure, .stream = process};
