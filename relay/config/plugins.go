package config

import (
	"bytes"
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// PluginConfig is one stage of the edge's ordered WebAssembly plugin chain.
type PluginConfig struct {
	// Name identifies the stage in logs and metrics; defaults to Module.
	Name string `yaml:"name"`
	// Module is "builtin:<name>" or a path to a .wasm file.
	Module string `yaml:"module"`
	// Config is handed to the plugin as it is written; its schema is the plugin's.
	Config yaml.Node `yaml:"config"`
	// OnError is "fail_open" (the batch passes on unchanged, the default)
	// or "fail_closed" (the batch is held back).
	OnError string `yaml:"on_error"`
	// Limits bound what one instance of the plugin may use.
	Limits PluginLimits `yaml:"limits"`
	// Clock is what the plugin's WASI clocks read: "fake" (the default: a
	// fixed start in 2022, advancing on each read, the same on every run)
	// or "real" (the host's wall and monotonic clocks). Sleeping stays a
	// no-op either way.
	Clock string `yaml:"clock"`
}

// MaxMemoryPages is the most 64 KiB pages a WebAssembly memory can have.
const MaxMemoryPages = 65536

// PluginLimits bound one plugin instance.
type PluginLimits struct {
	// MemoryPages caps guest memory in 64 KiB pages; zero means 256 (16 MiB).
	MemoryPages uint32 `yaml:"memory_pages"`
	// Timeout bounds one call into the guest; zero means 100ms. It does not
	// apply to built-in modules, which run without a deadline: setting it
	// for one is refused.
	Timeout time.Duration `yaml:"timeout"`
	// MaxSeries bounds the new series a stream stage (builtin:aggregate,
	// builtin:rules, a .wasm stream plugin) may have declared at once;
	// zero means 10000. Past it the call fails (kind limit) and on_error
	// applies.
	MaxSeries uint32 `yaml:"max_series"`
}

// NativeModules are the built-in stages that run as Go inside the edge,
// not as WebAssembly: no guest memory and no guest clock, so
// limits.memory_pages and clock do not apply to them and are refused.
var NativeModules = map[string]bool{"builtin:aggregate": true, "builtin:rules": true}

// DeltaModule is the plugin chain's delta stage. It runs in the edge itself
// (package internal/wire/delta), after every WebAssembly stage: its output is the
// wire encoding, not a batch another stage could read.
const DeltaModule = "builtin:delta"

// Delta configures delta encoding of scrapes on the wire and in the queue.
// It is on unless disabled; edge.plugins may hold one builtin:delta stage,
// the last, to set it.
type Delta struct {
	// FullEvery starts a new generation (a full frame of every target) at
	// least this often; default 10m.
	FullEvery time.Duration `yaml:"full_every"`
	// Disabled sends every scrape whole (each block self-contained).
	Disabled bool `yaml:"disabled"`
}

// DefaultDelta is the delta configuration of an edge without a
// builtin:delta stage.
var DefaultDelta = Delta{FullEvery: 10 * time.Minute}

// splitDelta takes the builtin:delta stage out of e.Plugins into e.Delta.
func (e *Edge) splitDelta() error {
	e.Delta = DefaultDelta
	for i, p := range e.Plugins {
		if p.Module != DeltaModule {
			continue
		}
		if i != len(e.Plugins)-1 {
			return fmt.Errorf("edge.plugins[%d]: %s must be the last stage", i, DeltaModule)
		}
		if p.Config.Kind != 0 {
			if err := decodeStrict(&p.Config, &e.Delta); err != nil {
				return fmt.Errorf("edge.plugins[%d].config: %w", i, err)
			}
		}
		setDefault(&e.Delta.FullEvery, DefaultDelta.FullEvery)
		if e.Delta.FullEvery < time.Second {
			return fmt.Errorf("edge.plugins[%d].config.full_every must be at least 1s; got %s", i, e.Delta.FullEvery)
		}
		e.Plugins = e.Plugins[:i]
	}
	return nil
}

// decodeStrict decodes n into v, refusing unknown fields.
func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}
