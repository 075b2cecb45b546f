package host

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// configJSON turns a stage's yaml config into the JSON its guest receives
// through er_init. The guest has no filesystem, so the host reads files for
// it: a top-level key "<x>_file" naming a path is replaced by key "<x>"
// holding the file's content (trailing newline removed).
func configJSON(n *yaml.Node) ([]byte, error) {
	if n == nil || n.Kind == 0 {
		return []byte("{}"), nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	if v == nil {
		return []byte("{}"), nil
	}
	v, err := jsonable(v)
	if err != nil {
		return nil, err
	}
	if m, ok := v.(map[string]any); ok {
		for k, val := range m {
			base, ok := strings.CutSuffix(k, "_file")
			path, isStr := val.(string)
			if !ok || !isStr || base == "" {
				continue
			}
			if _, dup := m[base]; dup {
				return nil, fmt.Errorf("config sets both %s and %s", base, k)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("config %s: %w", k, err)
			}
			delete(m, k)
			m[base] = strings.TrimRight(string(b), "\r\n")
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode config as json: %w", err)
	}
	return b, nil
}

// jsonable converts yaml's map[any]any (non-string keys) into JSON objects.
func jsonable(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
		return x, nil
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = c
		}
		return m, nil
	case []any:
		for i, e := range x {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
		return x, nil
	default:
		return v, nil
	}
}
