package main

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/edgerelay/edgerelay/sdk"
)

// ruleConfig is one relabel_config as Prometheus writes it in YAML, reaching
// the plugin as JSON. Pointers tell an absent field from an empty one.
type ruleConfig struct {
	SourceLabels []str  `json:"source_labels"`
	Separator    *str   `json:"separator"`
	Regex        *str   `json:"regex"`
	Modulus      uint64 `json:"modulus"`
	TargetLabel  str    `json:"target_label"`
	Replacement  *str   `json:"replacement"`
	Action       str    `json:"action"`
}

// str accepts what YAML may have typed as a number or boolean.
type str string

func (s *str) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var v string
		err := json.Unmarshal(b, &v)
		*s = str(v)
		return err
	}
	if string(b) == "null" {
		*s = ""
		return nil
	}
	*s = str(b)
	return nil
}

type rule struct {
	source      []string
	separator   string
	regex       *regexp.Regexp
	defaultRe   bool
	modulus     uint64
	target      string
	replacement string
	action      string
	// per-rule memos: values and label names repeat across series.
	matches  sdk.Memo[bool]
	replaced sdk.Memo[replaceResult]
	// method values made once: making one per call allocates.
	matchFn   func(string) bool
	replaceFn func(string) replaceResult
}

type replaceResult struct {
	ok            bool
	target, value string
}

func (r *rule) match(s string) bool { return r.matches.Get(s, r.matchFn) }

const defaultRegex = "(.*)"

func compile(cfgs []ruleConfig) ([]rule, error) {
	var rules []rule
	for i, c := range cfgs {
		r := rule{separator: ";", replacement: "$1", action: "replace", modulus: c.Modulus, target: string(c.TargetLabel)}
		re := defaultRegex
		for _, s := range c.SourceLabels {
			r.source = append(r.source, string(s))
		}
		if c.Separator != nil {
			r.separator = string(*c.Separator)
		}
		if c.Regex != nil {
			re = string(*c.Regex)
		}
		if c.Replacement != nil {
			r.replacement = string(*c.Replacement)
		}
		if c.Action != "" {
			r.action = strings.ToLower(string(c.Action))
		}
		var err error
		if r.regex, err = regexp.Compile("^(?s:" + re + ")$"); err != nil {
			return nil, fmt.Errorf("relabel_configs[%d]: regex: %w", i, err)
		}
		r.defaultRe = re == defaultRegex
		if err := r.validate(c); err != nil {
			return nil, fmt.Errorf("relabel_configs[%d]: %w", i, err)
		}
		rules = append(rules, r)
	}
	for i := range rules {
		rules[i].matchFn = rules[i].regex.MatchString
		rules[i].replaceFn = rules[i].replace
	}
	return rules, nil
}

func validName(s string) bool { return s != "" && utf8.ValidString(s) }

func (r *rule) validate(c ruleConfig) error {
	switch r.action {
	case "replace", "keep", "drop", "keepequal", "dropequal", "hashmod", "labelmap", "labeldrop", "labelkeep", "lowercase", "uppercase":
	default:
		return fmt.Errorf("unknown relabel action %q", r.action)
	}
	if r.action == "hashmod" && r.modulus == 0 {
		return fmt.Errorf("hashmod requires non-zero modulus")
	}
	switch r.action {
	case "replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal":
		if r.target == "" {
			return fmt.Errorf("%s action requires 'target_label'", r.action)
		}
		if !validName(r.target) {
			return fmt.Errorf("%q is invalid 'target_label' for %s action", r.target, r.action)
		}
	}
	switch r.action {
	case "lowercase", "uppercase", "keepequal", "dropequal":
		if r.replacement != "$1" {
			return fmt.Errorf("'replacement' can not be set for %s action", r.action)
		}
	case "labelmap":
		if !validName(r.replacement) {
			return fmt.Errorf("%q is invalid 'replacement' for labelmap action", r.replacement)
		}
	}
	if (r.action == "keepequal" || r.action == "dropequal") && (!r.defaultRe || r.modulus != 0 || r.separator != ";") {
		return fmt.Errorf("%s action requires only 'source_labels' and 'target_label'", r.action)
	}
	if (r.action == "labeldrop" || r.action == "labelkeep") && (c.SourceLabels != nil || r.target != "" || r.modulus != 0 || r.separator != ";" || r.replacement != "$1") {
		return fmt.Errorf("%s action requires only 'regex'", r.action)
	}
	return nil
}

// apply runs one rule; false drops the series.
func (r *rule) apply(b *builder) bool {
	var val string
	switch len(r.source) {
	case 0:
	case 1:
		val = b.get(r.source[0])
	default:
		var sb strings.Builder
		for i, n := range r.source {
			if i > 0 {
				sb.WriteString(r.separator)
			}
			sb.WriteString(b.get(n))
		}
		val = sb.String()
	}
	switch r.action {
	case "drop":
		return !r.match(val)
	case "keep":
		return r.match(val)
	case "dropequal":
		return b.get(r.target) != val
	case "keepequal":
		return b.get(r.target) == val
	case "replace":
		if val == "" && r.defaultRe && !strings.Contains(r.target, "$") && !strings.Contains(r.replacement, "$") {
			b.set(r.target, r.replacement)
			break
		}
		res := r.replaced.Get(val, r.replaceFn)
		switch {
		case !res.ok:
		case res.value == "":
			b.remove(res.target)
		default:
			b.set(res.target, res.value)
		}
	case "lowercase":
		b.set(r.target, strings.ToLower(val))
	case "uppercase":
		b.set(r.target, strings.ToUpper(val))
	case "hashmod":
		sum := md5.Sum([]byte(val))
		b.set(r.target, strconv.FormatUint(binary.BigEndian.Uint64(sum[8:])%r.modulus, 10))
	case "labelmap":
		b.each(func(l sdk.Label) {
			if r.match(l.Name) {
				b.set(r.regex.ReplaceAllString(l.Name, r.replacement), l.Value)
			}
		})
	case "labeldrop":
		b.each(func(l sdk.Label) {
			if r.match(l.Name) {
				b.remove(l.Name)
			}
		})
	case "labelkeep":
		b.each(func(l sdk.Label) {
			if !r.match(l.Name) {
				b.remove(l.Name)
			}
		})
	}
	return true
}

// replace computes the replace action's outcome for a source value.
func (r *rule) replace(val string) replaceResult {
	idx := r.regex.FindStringSubmatchIndex(val)
	if idx == nil {
		return replaceResult{}
	}
	target := string(r.regex.ExpandString(nil, r.target, val, idx))
	if !validName(target) {
		return replaceResult{}
	}
	return replaceResult{ok: true, target: target, value: string(r.regex.ExpandString(nil, r.replacement, val, idx))}
}
