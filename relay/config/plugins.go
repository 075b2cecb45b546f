package config

import (
	"time"

	"gopkg.in/yaml.v3"
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

// PluginLimits bound one plugin instance.
type PluginLimits struct {
	// MemoryPages caps guest memory in 64 KiB pages; zero means 256 (16 MiB).
	MemoryPages uint32 `yaml:"memory_pages"`
	// Timeout bounds one call into the guest; zero means 100ms.
	Timeout time.Duration `yaml:"timeout"`
}
