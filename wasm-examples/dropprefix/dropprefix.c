// dropprefix: an edgerelay series-level plugin in C, to show the ABI is
// language-neutral. It drops every series whose metric name starts with a
// prefix taken from the config {"prefix": "..."} (default "go_").
// Build: see README.md or wasm-examples/build.sh.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))

static uint8_t in[1 << 20], out[1 << 16];
static char prefix[256] = "go_";

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static void wr32(uint8_t *p, uint32_t v) { p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24; }
static uint64_t result(uint32_t n) { return (uint64_t)(uintptr_t)out << 32 | n; }

EXPORT("er_abi_version") int32_t abi_version(void) { return 1; }
EXPORT("er_kind") int32_t kind(void) { return 1; /* series-level */ }
EXPORT("er_buffer") uint8_t *buffer(uint32_t size) { return size <= sizeof in ? in : 0; }

EXPORT("er_init") uint64_t init(uint8_t *cfg, uint32_t len) {
	char *k = memmem(cfg, len, "\"prefix\":\"", 10);
	if (k) {
		char *v = k + 10, *end = memchr(v, '"', (char *)cfg + len - v);
		if (end && end - v < (long)sizeof prefix) { memcpy(prefix, v, end - v); prefix[end - v] = 0; }
	}
	wr32(out, 0); /* status OK */
	return result(4);
}

EXPORT("er_series") uint64_t series(uint8_t *req, uint32_t len) {
	uint32_t count = rd32(req), o = 8, p = 4;
	size_t plen = strlen(prefix);
	wr32(out, 0); wr32(out + 4, count);
	for (uint32_t i = 0; i < count && o < sizeof out; i++) {
		uint32_t nl = rd32(req + p), drop = 0;
		p += 4;
		for (uint32_t j = 0; j < nl; j++) {
			uint32_t n = rd32(req + p), v = rd32(req + p + 4 + n);
			if (n == 8 && !memcmp(req + p + 4, "__name__", 8) && v >= plen && !memcmp(req + p + 8 + n, prefix, plen)) drop = 1;
			p += 8 + n + v;
		}
		out[o++] = drop; /* 0 keep, 1 drop */
	}
	return result(o);
}
