// scale: a sample-level plugin for the ABI test suite (TestABISuite), the
// C twin of scale/main.go. It multiplies every value by factor, drops
// values below drop_below, keeps staleness markers as they are, and fails
// the call when a value equals fail_on.
// Config: {"factor": 1, "drop_below": <none>, "fail_on": <none>}.
#include "edgerelay.h"

static double factor = 1, drop_below, fail_on;
static int has_drop_below, has_fail_on;

static int configure(er_str config) {
	er_config c = er_config_open(config);
	er_str key, val;
	while (er_config_next(&c, &key, &val)) {
		double *dst = er_str_eq(key, "factor") ? &factor : er_str_eq(key, "drop_below") ? &drop_below : er_str_eq(key, "fail_on") ? &fail_on : 0;
		if (!dst) return er_config_fail(key, "unknown field");
		if (er_json_number(val, dst) < 0) return er_config_fail(key, "want a number");
		has_drop_below |= dst == &drop_below, has_fail_on |= dst == &fail_on;
	}
	return c.err ? -1 : 0;
}

static int process(er_samples *s) {
	uint32_t w = 0;
	for (uint32_t i = 0; i < s->count; i++) {
		double v = s->v[i];
		if (er_is_stale(v)) {
			er_samples_keep(s, i, &w);
			continue;
		}
		if (has_fail_on && v == fail_on) return er_fail("refused value");
		if (has_drop_below && v < drop_below) continue;
		s->v[i] = v * factor;
		er_samples_keep(s, i, &w);
	}
	s->count = w;
	return 0;
}

const er_plugin er_plugin_def = {.init = configure, .samples = process};
