/*
 * edgerelay.c — the edgerelay plugin ABI (version 1) for plugins written
 * against edgerelay.h: the module's exports, the request decoding and the
 * response encoding of docs/plugins.md, so the plugin sees label sets and
 * sample columns, never bytes. Standard C plus wasi-libc's malloc.
 */
#include "edgerelay.h"

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
	if (reserve(n) == 0) memcpy(out + out_len, b, n), out_len += n;
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
EXPORT("er_kind") int32_t er_kind(void) { return er_plugin_def.samples ? 2 : 1; }

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
	if (!er_plugin_def.series == !er_plugin_def.samples) return error_result("er_plugin_def needs exactly one of series and samples");
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

EXPORT("er_samples") uint64_t er_samples_call(const uint8_t *p, uint32_t len) {
	begin();
	const uint8_t *b = request(p, len);
	if (!er_plugin_def.samples) return error_result("module has no samples function");
	if (!b || len < 4) return error_result("abi: truncated input");
	uint32_t n = rd32(b);
	if ((uint64_t)n * 20 > len - 4) return error_result("abi: truncated input");
	if (n > cols_cap) {
		free(cols.ref), free(cols.t), free(cols.v);
		cols.ref = malloc((size_t)n * 4), cols.t = malloc((size_t)n * 8), cols.v = malloc((size_t)n * 8);
		cols_cap = cols.ref && cols.t && cols.v ? n : 0;
		if (!cols_cap) return error_result("out of memory");
	}
	const uint8_t *r = b + 4, *t = r + 4 * (size_t)n, *v = t + 8 * (size_t)n;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t bits = rd64(v + 8 * (size_t)i);
		cols.ref[i] = rd32(r + 4 * (size_t)i), cols.t[i] = (int64_t)rd64(t + 8 * (size_t)i);
		memcpy(&cols.v[i], &bits, 8);
	}
	cols.count = n;
	if (er_plugin_def.samples(&cols) != 0 || failed) return error_result("samples failed");
	if (cols.count > n) return error_result("samples columns grew");
	put32(STATUS_OK), put32(cols.count);
	for (uint32_t i = 0; i < cols.count; i++) put32(cols.ref[i]);
	for (uint32_t i = 0; i < cols.count; i++) put64((uint64_t)cols.t[i]);
	for (uint32_t i = 0; i < cols.count; i++) {
		uint64_t bits;
		memcpy(&bits, &cols.v[i], 8);
		put64(bits);
	}
	return result();
}

/* ---- config: a flat JSON object ---- */

static int ws(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int peek(er_config *c) {
	while (c->off < c->src.n && ws(c->src.p[c->off])) c->off++;
	return c->off < c->src.n ? (unsigned char)c->src.p[c->off] : -1;
}
static int config_error(er_config *c, const char *what) {
	c->err = 1;
	return er_fail(what);
}

/* skip_string moves past the string starting at c->off (a '"'). */
static int skip_string(er_config *c) {
	for (c->off++; c->off < c->src.n; c->off++) {
		char ch = c->src.p[c->off];
		if (ch == '\\') c->off++;
		else if (ch == '"') return c->off++, 0;
		else if ((unsigned char)ch < 0x20) return -1;
	}
	return -1;
}

/* skip_value moves past one JSON value (nested ones by bracket depth). */
static int skip_value(er_config *c) {
	int depth = 0;
	do {
		int ch = peek(c);
		if (ch < 0) return -1;
		if (ch == '"') {
			if (skip_string(c)) return -1;
		} else if (ch == '{' || ch == '[') {
			depth++, c->off++;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0) return -1;
			depth--, c->off++;
		} else if (ch == ',' || ch == ':') {
			if (depth == 0) return -1;
			c->off++;
		} else {
			uint32_t start = c->off;
			while (c->off < c->src.n && strchr("{}[],:\" \t\r\n", c->src.p[c->off]) == 0) c->off++;
			if (c->off == start) return -1;
		}
	} while (depth > 0);
	return 0;
}

er_config er_config_open(er_str config) { return (er_config){config, 0, 0, 0}; }

int er_config_next(er_config *c, er_str *key, er_str *val) {
	if (c->err || c->started < 0) return 0;
	if (!c->started) {
		if (peek(c) != '{') return config_error(c, "decode config: not a JSON object"), 0;
		c->off++, c->started = 1;
		if (peek(c) == '}') goto end;
	} else {
		int ch = peek(c);
		if (ch == '}') goto end;
		if (ch != ',') return config_error(c, "decode config: want , or } after a member"), 0;
		c->off++;
	}
	if (peek(c) != '"') return config_error(c, "decode config: want a member name"), 0;
	uint32_t k = c->off;
	if (skip_string(c)) return config_error(c, "decode config: unterminated string"), 0;
	*key = (er_str){c->src.p + k + 1, c->off - k - 2};
	if (peek(c) != ':') return config_error(c, "decode config: want : after a member name"), 0;
	c->off++;
	peek(c);
	uint32_t v = c->off;
	if (skip_value(c)) return config_error(c, "decode config: invalid value"), 0;
	*val = (er_str){c->src.p + v, c->off - v};
	return 1;
end:
	c->off++, c->started = -1;
	if (peek(c) >= 0) return config_error(c, "decode config: bytes after the object"), 0;
	return 0;
}

int er_config_fail(er_str key, const char *what) {
	char b[320] = "decode config: ";
	size_t n = strlen(b), k = key.n > 256 ? 256 : key.n;
	memcpy(b + n, key.p, k), memcpy(b + n + k, ": ", 3);
	return er_fail_str(b, er_cstr(what));
}

static int hex4(const char *p, uint32_t *u) {
	*u = 0;
	for (int i = 0; i < 4; i++) {
		char ch = p[i];
		int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
		if (d < 0) return -1;
		*u = *u << 4 | (uint32_t)d;
	}
	return 0;
}

int er_json_string(er_str val, char *dst, size_t cap) {
	if (er_str_eq(val, "null") && cap > 0) return (int)strnlen(dst, cap - 1);
	if (val.n < 2 || val.p[0] != '"' || val.p[val.n - 1] != '"' || cap == 0) return -1;
	size_t w = 0;
	for (uint32_t i = 1; i < val.n - 1; i++) {
		char ch = val.p[i];
		uint32_t u = (unsigned char)ch;
		if (ch == '\\') {
			if (++i >= val.n - 1) return -1;
			switch (val.p[i]) {
			case '"': case '\\': case '/': u = (unsigned char)val.p[i]; break;
			case 'b': u = '\b'; break;
			case 'f': u = '\f'; break;
			case 'n': u = '\n'; break;
			case 'r': u = '\r'; break;
			case 't': u = '\t'; break;
			case 'u':
				if (i + 4 >= val.n - 1 || hex4(val.p + i + 1, &u)) return -1;
				i += 4;
				if (u >= 0xd800 && u < 0xdc00 && i + 6 < val.n - 1 && val.p[i + 1] == '\\' && val.p[i + 2] == 'u') {
					uint32_t lo;
					if (hex4(val.p + i + 3, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00), i += 6;
				}
				if (u >= 0xd800 && u < 0xe000) u = 0xfffd;
				break;
			default: return -1;
			}
		}
		char enc[4];
		size_t m;
		if (u < 0x80 || ch != '\\') enc[0] = (char)u, m = 1;
		else if (u < 0x800) enc[0] = 0xc0 | u >> 6, enc[1] = 0x80 | (u & 0x3f), m = 2;
		else if (u < 0x10000) enc[0] = 0xe0 | u >> 12, enc[1] = 0x80 | (u >> 6 & 0x3f), enc[2] = 0x80 | (u & 0x3f), m = 3;
		else enc[0] = 0xf0 | u >> 18, enc[1] = 0x80 | (u >> 12 & 0x3f), enc[2] = 0x80 | (u >> 6 & 0x3f), enc[3] = 0x80 | (u & 0x3f), m = 4;
		if (w + m >= cap || u == 0) return -1;
		memcpy(dst + w, enc, m), w += m;
	}
	dst[w] = 0;
	return (int)w;
}

int er_json_number(er_str val, double *out) {
	char buf[64];
	if (er_str_eq(val, "null")) return 0;
	if (val.n == 0 || val.n >= sizeof buf || !(val.p[0] == '-' || (val.p[0] >= '0' && val.p[0] <= '9'))) return -1;
	memcpy(buf, val.p, val.n), buf[val.n] = 0;
	char *end;
	*out = strtod(buf, &end);
	return end == buf + val.n ? 0 : -1;
}

int er_json_bool(er_str val, int *out) {
	if (er_str_eq(val, "true")) return *out = 1, 0;
	if (er_str_eq(val, "false")) return *out = 0, 0;
	if (er_str_eq(val, "null")) return 0;
	return -1;
}
