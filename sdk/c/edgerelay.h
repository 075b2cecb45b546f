/*
 * edgerelay.h — the edgerelay plugin SDK for C (ABI version 1).
 *
 * A plugin written on it is a WebAssembly reactor module: compile it together
 * with the SDK's three .c files (Debian: clang-14, lld-14, wasi-libc; see
 * README.md):
 *
 *   clang-14 --target=wasm32-wasi --sysroot=/usr -isystem /usr/include/wasm32-wasi \
 *     -L/usr/lib/wasm32-wasi -mexec-model=reactor -O2 -s -I sdk/c \
 *     -o plugin.wasm plugin.c sdk/c/edgerelay*.c
 *
 * edgerelay.c exports the ABI (er_abi_version, er_kind, er_buffer, er_init,
 * er_series, er_samples, er_stream); the plugin defines one constant naming
 * its functions, exactly one of series, samples and stream:
 *
 *   static int configure(er_str config) { ... return 0; }
 *   static void process(er_series *s) {
 *       if (er_str_has_prefix(er_series_get(s, ER_METRIC_NAME), "go_")) er_series_drop(s);
 *       else er_series_set(s, "tier", "edge");
 *   }
 *   const er_plugin er_plugin_def = {.init = configure, .series = process};
 *
 * A series-level plugin is a pure function of one label set: the host calls
 * it once per label set it has not seen and remembers the answer. A
 * sample-level plugin gets the samples of each batch as columns and may keep
 * state; a stream plugin is a sample-level one that also learns each ref's
 * labels and may emit new series. The host calls a module from one thread at a time.
 *
 * Lifetimes: every er_str the SDK hands out (config, label names and values)
 * points into the host's request and is valid only until the callback
 * returns; copy what you keep. Strings given to er_series_set* are encoded
 * right after the callback returns, so they must outlive its stack frame:
 * string literals, static or heap buffers, or parts of the request's strings.
 */
#ifndef EDGERELAY_H
#define EDGERELAY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ER_ABI_VERSION 1
#define ER_METRIC_NAME "__name__"
#define ER_MAX_LABELS 512     /* labels in one label set, either way */
#define ER_MAX_STRING 65536   /* bytes in one label name or value, either way */

/* er_str is a string that is not NUL-terminated. */
typedef struct {
	const char *p;
	uint32_t n;
} er_str;

typedef struct {
	er_str name, value;
} er_label;

/* er_series is the label set of one series, sorted by name with unique
 * names, and what becomes of it. Read labels[0..count) directly or with
 * er_series_get; change it only through the functions below. */
typedef struct er_series {
	er_label *labels;
	uint32_t count;
	/* SDK state */
	uint32_t cap;
	int dropped, changed;
} er_series;

/* er_samples are the sample columns of one batch: ref (a series' id, stable
 * while the host remembers its label set), timestamp in ms, value. Change
 * values in place; drop samples by compacting the columns and lowering
 * count (er_samples_keep does both). Never add samples or invent refs. */
typedef struct {
	uint32_t *ref;
	int64_t *t;
	double *v;
	uint32_t count;
} er_samples;

/* er_meta is what a declared series says about its metric family: type
 * ("counter", "gauge", "histogram", "summary", "untyped", ...), help and
 * unit; NULL or "" where unknown. */
typedef struct {
	const char *type, *help, *unit;
} er_meta;

/* er_stream is one batch as a stream plugin sees it: samples as for a
 * samples function (change values, drop with er_samples_keep, never add),
 * plus the labels of each ref (er_stream_labels) and new series of its own
 * (er_stream_declare, er_stream_emit, er_stream_retire). */
typedef struct er_stream {
	er_samples samples;
} er_stream;

typedef struct {
	/* init gets the stage's config as JSON ("{}" when none) once after
	 * instantiation; return 0, or non-zero after er_fail to refuse it
	 * (loading the stage then fails with the message). May be NULL. */
	int (*init)(er_str config);
	/* series is called for each label set the host has not seen. */
	void (*series)(er_series *s);
	/* samples is called with the samples of each batch; return 0, or
	 * non-zero after er_fail to fail the call (the stage's on_error applies). */
	int (*samples)(er_samples *s);
	/* stream is called with each batch of a stream plugin; return as
	 * samples does. */
	int (*stream)(er_stream *s);
} er_plugin;

/* The plugin defines this (a const global); edgerelay.c calls it. */
extern const er_plugin er_plugin_def;

/* er_fail records why the current call fails (copied, up to 511 bytes); the
 * first message of a call wins. A series call that fails fails the whole
 * request: the stage's on_error applies, as for any failed call. Returns -1
 * so that `return er_fail("...");` reads well. */
int er_fail(const char *msg);
/* er_fail_str is er_fail for a message followed by an er_str (a key, a value). */
int er_fail_str(const char *msg, er_str s);

/* ---- strings ---- */
er_str er_cstr(const char *s);                 /* a NUL-terminated string as er_str */
int er_str_eq(er_str a, const char *b);        /* a equals the NUL-terminated b */
int er_str_equal(er_str a, er_str b);
int er_str_has_prefix(er_str s, const char *prefix);
int er_str_cmp(er_str a, er_str b);            /* bytewise, like strcmp */

/* ---- series-level ---- */
/* er_series_get returns the value of name, or an empty er_str (n == 0). */
er_str er_series_get(const er_series *s, const char *name);
int er_series_has(const er_series *s, const char *name);
/* er_series_keep undoes every change made so far: the series passes unchanged. */
void er_series_keep(er_series *s);
/* er_series_drop drops the series (an empty label set is dropped too). */
void er_series_drop(er_series *s);
/* er_series_set sets name to value, keeping the set sorted; an empty value
 * deletes the label (in Prometheus an empty label is an absent one). */
void er_series_set(er_series *s, const char *name, const char *value);
void er_series_set_str(er_series *s, er_str name, er_str value);
void er_series_del(er_series *s, const char *name);

/* ---- sample-level ---- */
/* er_is_stale reports whether v is Prometheus' staleness marker (one NaN bit
 * pattern: compare bits, not values). Keep those samples as they are. */
int er_is_stale(double v);
/* er_samples_keep keeps sample i at position *w and advances *w; after the
 * loop set s->count = *w. Samples not kept are dropped. */
void er_samples_keep(er_samples *s, uint32_t i, uint32_t *w);

/* ---- stream ---- */
/* A stream plugin sees each ref's labels and may emit series of its own. A
 * new series is declared once with an id the plugin chooses, its labels and
 * metadata; its samples then carry only the id (er_stream_emit), in this
 * call or any later one, until er_stream_retire(id). Declaring an id again
 * replaces its labels. The host bounds how many ids may be declared at once
 * (the stage's limits.max_series): past it the call fails and the stage's
 * on_error applies, so retire what will not be emitted again. */

/* er_stream_labels returns the label set of ref (a ref of this batch, or
 * of an earlier one the host has not made the plugin forget), or NULL. The
 * SDK keeps it (a copy, told once per ref): valid until the SDK is told to
 * forget, which happens only at the start of a call. Read it, never change it. */
const er_series *er_stream_labels(const er_stream *s, uint32_t ref);
/* er_stream_declare declares (or re-declares) series id with n labels in
 * any order (a name given twice: the later wins; an empty value: left out,
 * as er_series_set does) and metadata. The labels must hold __name__. They
 * are encoded before it returns, so the strings may be anything. */
void er_stream_declare(er_stream *s, uint32_t id, const er_label *labels, uint32_t n, er_meta meta);
/* er_stream_emit adds a sample (t in ms, v) of declared series id. */
void er_stream_emit(er_stream *s, uint32_t id, int64_t t, double v);
/* er_stream_retire forgets series id: the host frees its place under
 * limits.max_series. */
void er_stream_retire(er_stream *s, uint32_t id);
/* er_label_of makes a label of two NUL-terminated strings. */
er_label er_label_of(const char *name, const char *value);

/* ---- config: a small reader for a flat JSON object ---- */
/* er_config walks the members of the config object in order:
 *
 *   er_config c = er_config_open(config);
 *   er_str key, val;
 *   while (er_config_next(&c, &key, &val)) {
 *       if (er_str_eq(key, "prefix")) { if (er_json_string(val, buf, sizeof buf) < 0) return er_config_fail(key, "want a short string"); }
 *       else return er_config_fail(key, "unknown field");
 *   }
 *   if (c.err) return -1; // er_config_next called er_fail
 *
 * key is the member name as written between its quotes (escapes are not
 * resolved; compare with er_str_eq, which is exact where Go's encoding/json
 * also matches other cases); val is the raw JSON value, any type. */
typedef struct {
	er_str src;
	uint32_t off;
	int err, started;
} er_config;

er_config er_config_open(er_str config);
int er_config_next(er_config *c, er_str *key, er_str *val);
/* er_config_fail fails init with "decode config: <key>: <what>". */
int er_config_fail(er_str key, const char *what);
/* JSON null leaves the destination as it is and succeeds, as Go's
 * encoding/json does (YAML's `key:` with no value arrives as null).
 * er_json_string unescapes a JSON string value into dst (NUL-terminated);
 * returns its length (for null: strlen(dst)), or -1 if val is not a string,
 * does not fit or holds a NUL (\u0000), which a C string cannot carry. */
int er_json_string(er_str val, char *dst, size_t cap);
/* er_json_number parses a JSON number; returns 0, or -1 if val is not one. */
int er_json_number(er_str val, double *out);
/* er_json_bool parses true or false; returns 0, or -1 if val is neither. */
int er_json_bool(er_str val, int *out);

#ifdef __cplusplus
}
#endif
#endif
