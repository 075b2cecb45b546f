/*
 * edgerelay_config.c — the C SDK's reader of a stage's config: a flat JSON
 * object walked member by member (er_config_open, er_config_next) and its
 * values parsed (er_json_string, er_json_number, er_json_bool). Part of the
 * SDK with edgerelay.c; standard C only.
 */
#include "edgerelay.h"

#include <stdlib.h>
#include <string.h>

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
