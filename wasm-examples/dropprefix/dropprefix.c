// dropprefix: an edgerelay series-level plugin in C, written on the C SDK
// (sdk/c/edgerelay.h). It drops every series whose metric name starts with
// a prefix, or with strip: true renames it by removing the prefix.
// Config: {"prefix": "go_", "strip": false} (both optional; these are the
// defaults). Its Go twin is go/main.go; both pass the same ABI test suite.
// Build: see README.md or wasm-examples/build.sh.
#include "edgerelay.h"

static char prefix[256] = "go_";
static unsigned plen = 3;
static int strip;

static int configure(er_str config) {
	er_config c = er_config_open(config);
	er_str key, val;
	while (er_config_next(&c, &key, &val)) {
		if (er_str_eq(key, "prefix")) {
			int n = er_json_string(val, prefix, sizeof prefix);
			if (n < 0) return er_config_fail(key, "want a string of at most 255 bytes without NUL");
			plen = (unsigned)n;
		} else if (er_str_eq(key, "strip")) {
			if (er_json_bool(val, &strip) < 0) return er_config_fail(key, "want true or false");
		} else {
			return er_config_fail(key, "unknown field");
		}
	}
	if (c.err) return -1;
	if (plen == 0) return er_fail("prefix must not be empty");
	return 0;
}

static void process(er_series *s) {
	er_str name = er_series_get(s, ER_METRIC_NAME);
	if (!er_str_has_prefix(name, prefix)) return; // kept unchanged
	if (!strip || name.n == plen) {
		er_series_drop(s);
		return;
	}
	// name points into the request, valid until process returns: so is the rest.
	er_series_set_str(s, er_cstr(ER_METRIC_NAME), (er_str){name.p + plen, name.n - plen});
}

const er_plugin er_plugin_def = {.init = configure, .series = process};
