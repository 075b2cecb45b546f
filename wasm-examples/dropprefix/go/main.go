// Command dropprefix is the Go twin of the C example dropprefix.c, written
// on package sdk: it drops every series whose metric name starts with a
// prefix, or with strip: true renames it by removing the prefix. Both pass
// the same ABI test suite (plugins/host TestABISuite).
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o dropprefix-go.wasm ./wasm-examples/dropprefix/go
package main

import (
	"errors"
	"strings"

	"github.com/edgerelay/edgerelay/sdk"
)

var conf = struct {
	Prefix string `json:"prefix"`
	Strip  bool   `json:"strip"`
}{Prefix: "go_"}

func init() { sdk.Register(sdk.Plugin{Init: configure, Series: process}) }

func main() {}

func configure(raw []byte) error {
	if err := sdk.DecodeConfig(raw, &conf); err != nil {
		return err
	}
	if conf.Prefix == "" {
		return errors.New("prefix must not be empty")
	}
	if len(conf.Prefix) > 255 || strings.IndexByte(conf.Prefix, 0) >= 0 { // as the C twin's char[256]
		return errors.New("decode config: prefix: want a string of at most 255 bytes without NUL")
	}
	return nil
}

func process(ls sdk.Labels) (sdk.Labels, bool) {
	name := ls.Get(sdk.MetricName)
	if !strings.HasPrefix(name, conf.Prefix) {
		return ls, true
	}
	if !conf.Strip || name == conf.Prefix {
		return nil, false
	}
	ls.Set(sdk.MetricName, strings.TrimPrefix(name, conf.Prefix))
	return ls, true
}
