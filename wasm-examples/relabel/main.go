// Command relabel is edgerelay's built-in relabel plugin (builtin:relabel):
// Prometheus relabel_config semantics applied to each new series, with
// __name__ as a label. Build with
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o relabel.wasm .
package main

import (
	"github.com/edgerelay/edgerelay/sdk"
)

var rules []rule

func init() {
	sdk.Register(sdk.Plugin{Init: configure, Series: process})
}

func main() {}

type pluginConfig struct {
	RelabelConfigs []ruleConfig `json:"relabel_configs"`
}

func configure(raw []byte) error {
	var c pluginConfig
	if err := sdk.DecodeConfig(raw, &c); err != nil {
		return err
	}
	rs, err := compile(c.RelabelConfigs)
	if err != nil {
		return err
	}
	rules = rs
	return nil
}

func process(ls sdk.Labels) (sdk.Labels, bool) {
	b := builder{base: ls}
	for i := range rules {
		if !rules[i].apply(&b) {
			return nil, false
		}
	}
	return b.labels(), true
}
