package config

import (
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Reloadable are the keys a running process applies when it reloads its
// configuration (SIGHUP, POST /-/reload). Every other key keeps the value
// the process started with: a reload that changes one is refused, naming
// the key (RestartOnly), and the running configuration stays.
var Reloadable = []string{
	"edge.external_labels",
	"edge.scrape_configs",
	"edge.plugins",
	"cloud.tenants",
	"cloud.limits",
}

// RestartOnly returns the keys whose value differs between the running
// configuration and next and that only a restart applies, in the order of
// the schema: "edge.http_listen", "cloud.data_dir", ... A role present in
// one and not the other is named as "edge" or "cloud". Values are compared
// as they were loaded (defaults applied, relative paths resolved);
// comments and layout do not count.
func RestartOnly(running, next *Config) []string {
	var keys []string
	if (running.Edge == nil) != (next.Edge == nil) {
		keys = append(keys, "edge")
	} else if running.Edge != nil {
		keys = diffKeys("edge", reflect.ValueOf(running.Edge).Elem(), reflect.ValueOf(next.Edge).Elem(), keys)
		// builtin:delta is taken out of edge.plugins at load; it is the
		// commit loop's encoder, built once.
		if running.Edge.Delta != next.Edge.Delta {
			keys = append(keys, "edge.plugins ("+DeltaModule+")")
		}
	}
	if (running.Cloud == nil) != (next.Cloud == nil) {
		keys = append(keys, "cloud")
	} else if running.Cloud != nil {
		keys = diffKeys("cloud", reflect.ValueOf(running.Cloud).Elem(), reflect.ValueOf(next.Cloud).Elem(), keys)
	}
	return keys
}

var yamlNode = reflect.TypeFor[yaml.Node]()

// diffKeys appends to keys the fields of structs a and b (of one type,
// named by their yaml tags under prefix) that differ and are not
// Reloadable, descending into nested structs.
func diffKeys(prefix string, a, b reflect.Value, keys []string) []string {
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || name == "" || !f.IsExported() {
			continue // derived at load from a key compared here
		}
		key := prefix + "." + name
		if isReloadable(key) {
			continue
		}
		fa, fb := a.Field(i), b.Field(i)
		switch {
		case f.Type == yamlNode:
			if !sameNode(fa.Addr().Interface().(*yaml.Node), fb.Addr().Interface().(*yaml.Node)) {
				keys = append(keys, key)
			}
		case f.Type.Kind() == reflect.Struct:
			keys = diffKeys(key, fa, fb, keys)
		case !reflect.DeepEqual(fa.Interface(), fb.Interface()):
			keys = append(keys, key)
		}
	}
	return keys
}

func isReloadable(key string) bool {
	for _, k := range Reloadable {
		if k == key {
			return true
		}
	}
	return false
}

// sameNode compares two YAML values by what they decode to, so that
// comments, quoting and line numbers do not count as changes.
func sameNode(a, b *yaml.Node) bool {
	var va, vb any
	if a.Kind != 0 {
		if err := a.Decode(&va); err != nil {
			return false
		}
	}
	if b.Kind != 0 {
		if err := b.Decode(&vb); err != nil {
			return false
		}
	}
	return reflect.DeepEqual(va, vb)
}
