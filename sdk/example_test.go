package sdk_test

import (
	"fmt"

	"github.com/edgerelay/edgerelay/sdk"
)

// A series-level plugin is a function over one label set. This one drops
// debug metrics and tags the rest; register it from init in package main.
func Example() {
	process := func(ls sdk.Labels) (sdk.Labels, bool) {
		if ls.Get(sdk.MetricName) == "debug_info" {
			return nil, false
		}
		ls.Set("site", "plant-7")
		return ls, true
	}
	// In a plugin: func init() { sdk.Register(sdk.Plugin{Series: process}) }
	out, keep := process(sdk.FromStrings("__name__", "up", "job", "node"))
	fmt.Println(out, keep)
	_, keep = process(sdk.FromStrings("__name__", "debug_info"))
	fmt.Println(keep)
	// Output:
	// {__name__="up", job="node", site="plant-7"} true
	// false
}

func ExampleLabels_Set() {
	ls := sdk.FromStrings("b", "2", "a", "1")
	ls.Set("c", "3")
	ls.Set("a", "") // an empty value removes the label
	fmt.Println(ls, ls.Has("a"), ls.Get("b"))
	// Output: {b="2", c="3"} false 2
}

func ExampleDecodeConfig() {
	var cfg struct {
		Prefix string `json:"prefix"`
	}
	err := sdk.DecodeConfig([]byte(`{"prefix": "go_"}`), &cfg)
	fmt.Println(cfg.Prefix, err)
	err = sdk.DecodeConfig([]byte(`{"prefx": "go_"}`), &cfg)
	fmt.Println(err)
	// Output:
	// go_ <nil>
	// decode config: json: unknown field "prefx"
}

func ExampleMemo() {
	calls := 0
	upper := func(s string) string { calls++; return fmt.Sprintf("<%s>", s) }
	var m sdk.Memo[string]
	fmt.Println(m.Get("a", upper), m.Get("a", upper), calls)
	// Output: <a> <a> 1
}
