/*
 * edgerelay.c — the edgerelay plugin ABI (version 1) for plugins written
 * against edgerelay.h: the module's exports, the request decoding and the
 * response encoding of docs/plugins.md, so the plugin sees label sets and
 * sample columns, never bytes. Standard C plus wasi-libc's malloc.
 */
#include "edgerelay.h"
#include "edgerelay_stream.h"

#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))

enum { STATUS_OK = 0, STATUS_ERROR = 1 };
enum { OP_KEEP = 0, OP_DROP = 1, OP_REPLACE = 2 };

/* in is the request buffer er_buffer hands the host; out holds the last
 * result, valid until the next call. */
static uint8_t *in, *out;
static uint32_t in_cap, out_len, out_cap;
static char fail_msg[512];
static int failed, out_of_memory;

/* ---- bytes ---- */

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static int reserve(uint32_t n) {
	if (out_len + (uint64_t)n <= out_cap) return 0;
	uint64_t c = out_cap ? out_cap : 4096;
	while (c < out_len + (uint64_t)n) c *= 2;
	if (c > UINT32_MAX) return out_of_memory = 1, -1;
	uint8_t *p = realloc(out, c);
	if (!p) return out_of_memory = 1, -1;
	out = p, out_cap = (uint32_t)c;
	return 0;
}
static void put(const void *b, uint32_t n) {
	if (n && reserve(n) == 0) memcpy(out + out_len, b, n), out_len += n;
}
static void put32(uint32_t v) {
	uint8_t b[4] = {v, v >> 8, v >> 16, v >> 24};
	put(b, 4);
}
static void put64(uint64_t v) { put32((uint32_t)v), put32((uint32_t)(v >> 32)); }
static void put_str(er_str s) { put32(s.n), put(s.p, s.n); }

static uint64_t result(void) {
	if (out_of_memory) {
		static const uint8_t oom[] = {STATUS_ERROR, 0, 0, 0, 'o', 'u', 't', ' ', 'o', 'f', ' ', 'm', 'e', 'm', 'o', 'r', 'y'};
		return (uint64_t)(uintptr_t)oom << 32 | sizeof oom;
	}
	return (uint64_t)(uintptr_t)out << 32 | out_len;
}
static uint64_t error_result(const char *fallback) {
	out_len = 0, out_of_memory = 0;
	put32(STATUS_ERROR);
	const char *m = failed ? fail_msg : fallback;
	put(m, (uint32_t)strlen(m));
	return result();
}
static void begin(void) { out_len = 0, out_of_memory = 0, failed = 0, fail_msg[0] = 0; }

int er_fail(const char *msg) { return er_fail_str(msg, (er_str){0, 0}); }

int er_fail_str(const char *msg, er_str s) {
	if (failed) return -1;
	failed = 1;
	size_t n = strlen(msg), m = s.n;
	if (n > sizeof fail_msg - 1) n = sizeof fail_msg - 1;
	if (m > sizeof fail_msg - 1 - n) m = sizeof fail_msg - 1 - n;
	memcpy(fail_msg, msg, n), memcpy(fail_msg + n, s.p, m);
	fail_msg[n + m] = 0;
	return -1;
}

/* ---- strings ---- */

er_str er_cstr(const char *s) { return (er_str){s, (uint32_t)strlen(s)}; }
int er_str_equal(er_str a, er_str b) { return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0); }
int er_str_eq(er_str a, const char *b) { return er_str_equal(a, er_cstr(b)); }
int er_str_has_prefix(er_str s, const char *prefix) {
	size_t n = strlen(prefix);
	return s.n >= n && memcmp(s.p, prefix, n) == 0;
}
int er_str_cmp(er_str a, er_str b) {
	int c = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);
	return c ? c : (a.n > b.n) - (a.n < b.n);
}

/* ---- exports ---- */

EXPORT("er_abi_version") int32_t er_abi_version(void) { return ER_ABI_VERSION; }
EXPORT("er_kind") int32_t er_kind(void) { return er_plugin_def.stream ? 3 : er_plugin_def.samples ? 2 : 1; }

EXPORT("er_buffer") uint8_t *er_buffer(uint32_t size) {
	if (size > in_cap || !in) {
		uint32_t c = size < 4096 ? 4096 : size;
		free(in);
		in = malloc(c), in_cap = in ? c : 0;
	}
	return in;
}

/* request checks ptr, n is the buffer er_buffer returned. */
static const uint8_t *request(const uint8_t *p, uint32_t n) { return p && p == in && n <= in_cap ? p : 0; }

EXPORT("er_init") uint64_t er_init(const uint8_t *p, uint32_t n) {
	begin();
	const uint8_t *cfg = request(p, n);
	if (!cfg) return error_result("abi: config is not in the request buffer");
	if (!!er_plugin_def.series + !!er_plugin_def.samples + !!er_plugin_def.stream != 1)
		return error_result("er_plugin_def needs exactly one of series, samples and stream");
	if (er_plugin_def.init && er_plugin_def.init((er_str){(const char *)cfg, n}) != 0)
		return error_result("init failed");
	if (failed) return error_result("");
	put32(STATUS_OK);
	return result();
}

/* ---- series-level ---- */

static er_series cur;       /* the label set a callback works on */
static er_label *orig;      /* as the host sent it */
static uint32_t orig_n, orig_cap;

static int grow(er_label **a, uint32_t *cap, uint32_t n) {
	if (n <= *cap) return 0;
	uint32_t c = *cap ? *cap : 64;
	while (c < n) c *= 2;
	er_label *p = realloc(*a, (size_t)c * sizeof *p);
	if (!p) return -1;
	*a = p, *cap = c;
	return 0;
}

/* fail_count fails the call with msg, n in decimal, then tail. */
static int fail_count(const char *msg, uint32_t n, const char *tail) {
	char b[96], d[10];
	size_t k = strlen(msg), j = 0;
	do d[j++] = (char)('0' + n % 10); while (n /= 10);
	memcpy(b, msg, k);
	while (j) b[k++] = d[--j];
	b[k] = 0;
	return er_fail_str(b, er_cstr(tail));
}

/* read_labels decodes one Labels layout at *off into cur and orig. */
static int read_labels(const uint8_t *b, uint32_t len, uint32_t *off) {
	if (len - *off < 4) return -1;
	uint32_t n = rd32(b + *off);
	*off += 4;
	if (n > ER_MAX_LABELS) return fail_count("abi: ", n, " labels exceed 512");
	if ((uint64_t)n * 8 > len - *off) return -1;
	if (grow(&cur.labels, &cur.cap, n + 1) || grow(&orig, &orig_cap, n)) return er_fail("out of memory");
	for (uint32_t i = 0; i < n; i++) {
		er_str s[2];
		for (int k = 0; k < 2; k++) {
			if (len - *off < 4) return -1;
			uint32_t m = rd32(b + *off);
			*off += 4;
			if (m > ER_MAX_STRING) return fail_count("abi: string of ", m, " bytes exceeds 65536");
			if (m > len - *off) return -1;
			s[k] = (er_str){(const char *)b + *off, m};
			*off += m;
		}
		orig[i] = cur.labels[i] = (er_label){s[0], s[1]};
	}
	cur.count = orig_n = n, cur.dropped = 0, cur.changed = 0;
	return 0;
}

static int unchanged(void) {
	for (uint32_t i = 0; i < cur.count; i++)
		if (!er_str_equal(cur.labels[i].name, orig[i].name) || !er_str_equal(cur.labels[i].value, orig[i].value)) return 0;
	return 1;
}

EXPORT("er_series") uint64_t er_series_call(const uint8_t *p, uint32_t len) {
	begin();
	const uint8_t *b = request(p, len);
	if (!er_plugin_def.series) return error_result("module has no series function");
	if (!b || len < 4) return error_result("abi: truncated input");
	uint32_t count = rd32(b), off = 4;
	put32(STATUS_OK), put32(count);
	for (uint32_t i = 0; i < count; i++) {
		if (read_labels(b, len, &off) || failed) return error_result("abi: truncated input");
		er_plugin_def.series(&cur);
		if (failed) return error_result("");
		uint8_t op = OP_KEEP;
		if (cur.dropped || cur.count == 0) op = OP_DROP;
		else if (cur.changed && !(cur.count == orig_n && unchanged())) op = OP_REPLACE;
		put(&op, 1);
		if (op == OP_REPLACE) {
			put32(cur.count);
			for (uint32_t j = 0; j < cur.count; j++) put_str(cur.labels[j].name), put_str(cur.labels[j].value);
		}
	}
	return result(); /* as the Go SDK, bytes after the last label set are not read */
}

static uint32_t find(const er_series *s, er_str name, int *found) {
	uint32_t lo = 0, hi = s->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (er_str_cmp(s->labels[mid].name, name) < 0) lo = mid + 1;
		else hi = mid;
	}
	*found = lo < s->count && er_str_equal(s->labels[lo].name, name);
	return lo;
}

er_str er_series_get(const er_series *s, const char *name) {
	int found;
	uint32_t i = find(s, er_cstr(name), &found);
	return found ? s->labels[i].value : (er_str){"", 0};
}
int er_series_has(const er_series *s, const char *name) {
	int found;
	find(s, er_cstr(name), &found);
	return found;
}
void er_series_keep(er_series *s) {
	if (s != &cur) return;
	memcpy(cur.labels, orig, (size_t)orig_n * sizeof *orig);
	cur.count = orig_n, cur.dropped = 0, cur.changed = 0;
}
void er_series_drop(er_series *s) { s->dropped = 1; }

void er_series_set_str(er_series *s, er_str name, er_str value) {
	int found;
	uint32_t i = find(s, name, &found);
	if (value.n == 0) {
		if (!found) return;
		memmove(s->labels + i, s->labels + i + 1, (size_t)(s->count - i - 1) * sizeof *s->labels);
		s->count--, s->changed = 1;
		return;
	}
	s->changed = 1;
	if (found) {
		s->labels[i].value = value;
		return;
	}
	if (grow(&s->labels, &s->cap, s->count + 1)) {
		er_fail("out of memory");
		return;
	}
	memmove(s->labels + i + 1, s->labels + i, (size_t)(s->count - i) * sizeof *s->labels);
	s->labels[i] = (er_label){name, value};
	s->count++;
}
void er_series_set(er_series *s, const char *name, const char *value) { er_series_set_str(s, er_cstr(name), er_cstr(value)); }
void er_series_del(er_series *s, const char *name) { er_series_set_str(s, er_cstr(name), (er_str){"", 0}); }

/* ---- sample-level ---- */

static er_samples cols;
static uint32_t cols_cap;

int er_is_stale(double v) {
	uint64_t bits;
	memcpy(&bits, &v, 8);
	return bits == 0x7ff0000000000002ull;
}

void er_samples_keep(er_samples *s, uint32_t i, uint32_t *w) {
	if (i != *w) s->ref[*w] = s->ref[i], s->t[*w] = s->t[i], memcpy(&s->v[*w], &s->v[i], 8);
	(*w)++;
}

/* read_samples decodes a SamplesRequest at *off into cols; NULL or an error. */
static const char *read_samples(const uint8_t *b, uint32_t len, uint32_t *off) {
	if (len - *off < 4) return "abi: truncated input";
	uint32_t n = rd32(b + *off);
	*off += 4;
	if ((uint64_t)n * 20 > len - *off) return "abi: truncated input";
	if (n > cols_cap) {
		free(cols.ref), free(cols.t), free(cols.v);
		cols.ref = malloc((size_t)n * 4), cols.t = malloc((size_t)n * 8), cols.v = malloc((size_t)n * 8);
		cols_cap = cols.ref && cols.t && cols.v ? n : 0;
		if (!cols_cap) return "out of memory";
	}
	const uint8_t *r = b + *off, *t = r + 4 * (size_t)n, *v = t + 8 * (size_t)n;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t bits = rd64(v + 8 * (size_t)i);
		cols.ref[i] = rd32(r + 4 * (size_t)i), cols.t[i] = (int64_t)rd64(t + 8 * (size_t)i);
		memcpy(&cols.v[i], &bits, 8);
	}
	*off += 20 * n;
	cols.count = n;
	return 0;
}

/* put_samples appends count samples as a SamplesRequest. */
static void put_samples(const uint32_t *ref, const int64_t *t, const double *v, uint32_t count) {
	put32(count);
	for (uint32_t i = 0; i < count; i++) put32(ref[i]);
	for (uint32_t i = 0; i < count; i++) put64((uint64_t)t[i]);
	for (uint32_t i = 0; i < count; i++) {
		uint64_t bits;
		memcpy(&bits, &v[i], 8);
		put64(bits);
	}
}

EXPORT("er_samples") uint64_t er_samples_call(const uint8_t *p, uint32_t len) {
	begin();
	const uint8_t *b = request(p, len);
	if (!er_plugin_def.samples) return error_result("module has no samples function");
	if (!b) return error_result("abi: truncated input");
	uint32_t off = 0, n;
	const char *err = read_samples(b, len, &off);
	if (err) return error_result(err);
	n = cols.count;
	if (er_plugin_def.samples(&cols) != 0 || failed) return error_result("samples failed");
	if (cols.count > n) return error_result("samples columns grew");
	put32(STATUS_OK);
	put_samples(cols.ref, cols.t, cols.v, cols.count);
	return result();
}

/* ---- stream ---- */

static er_stream strm;

/* er_stream: the refs not told yet with their labels (kept by
 * edgerelay_stream.c), then the samples; the answer is the kept samples and
 * what the plugin declared, retired and emitted. As the Go SDK, the labels
 * read before a malformed part stay told, and a forget takes effect once
 * the request's refs are all read. */
EXPORT("er_stream") uint64_t er_stream_call(const uint8_t *p, uint32_t len) {
	begin();
	const uint8_t *b = request(p, len);
	if (!er_plugin_def.stream) return error_result("module has no stream function");
	if (!b || len < 8) return error_result("abi: truncated input");
	uint32_t flags = rd32(b), n = rd32(b + 4), off = 8;
	if ((uint64_t)n * 8 > len - off) return error_result("abi: truncated input");
	uint32_t gen = er__told_begin();
	for (uint32_t i = 0; i < n; i++) {
		if (len - off < 4) return error_result("abi: truncated input");
		uint32_t ref = rd32(b + off);
		off += 4;
		if (read_labels(b, len, &off) || failed) return error_result("abi: truncated input");
		if (er__told(ref, &cur, gen)) return error_result("out of memory");
	}
	if (flags & 1) er__forget_all_but(gen);
	const char *err = read_samples(b, len, &off);
	if (err) return error_result(err);
	uint32_t in_n = cols.count;
	strm.samples = cols;
	er__stream_reset();
	if (er_plugin_def.stream(&strm) != 0 || failed) return error_result("stream failed");
	if (strm.samples.count > in_n) return error_result("samples columns grew");
	put32(STATUS_OK);
	put_samples(strm.samples.ref, strm.samples.t, strm.samples.v, strm.samples.count);
	if (er__stream_put(put)) return error_result("out of memory");
	return result();
}
