package main

import (
	"strings"
	"testing"

	"github.com/edgerelay/edgerelay/sdk"
)

func TestAnonymize(t *testing.T) {
	cases := []struct {
		name, config string
		in, want     sdk.Labels
	}{
		// Expected values computed independently: Python hmac.new(b"k1", b"alpha", sha256), base64url.
		{"by name", `{"labels":["host"],"key":"k1","length":8}`,
			sdk.FromStrings("__name__", "up", "host", "alpha"), sdk.FromStrings("__name__", "up", "host", "Hi-ysZOg")},
		{"by regex", `{"label_regex":"ho.*","key":"k1","length":8}`,
			sdk.FromStrings("host", "beta", "other", "x"), sdk.FromStrings("host", "uKBj-ixj", "other", "x")},
		{"default length", `{"labels":["host"],"key":"k1"}`,
			sdk.FromStrings("host", "alpha"), sdk.FromStrings("host", "Hi-ysZOgDuoqVNts")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			names, re, length, seen = nil, nil, 16, sdk.Memo[string]{}
			if err := configure([]byte(tc.config)); err != nil {
				t.Fatal(err)
			}
			got, keep := process(tc.in.Copy())
			if !keep || got.String() != tc.want.String() {
				t.Fatalf("got %s, %v; want %s", got, keep, tc.want)
			}
		})
	}
}

func TestAnonymizeConfigErrors(t *testing.T) {
	for cfg, want := range map[string]string{
		`{"labels":["a"]}`:                       "key",
		`{"key":"k"}`:                            "labels",
		`{"labels":["a"],"key":"k","length":44}`: "length",
		`{"label_regex":"(","key":"k"}`:          "label_regex",
		`{"labels":["a"],"key":"k","lenght":4}`:  "unknown field",
	} {
		if err := configure([]byte(cfg)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("configure(%s) = %v; want an error about %s", cfg, err, want)
		}
	}
}
