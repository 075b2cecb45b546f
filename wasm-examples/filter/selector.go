package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/edgerelay/edgerelay/sdk"
)

// matcher is one label matcher of a PromQL series selector.
type matcher struct {
	name, op, value string
	re              *regexp.Regexp
	memo            *sdk.Memo[bool]
	matchFn         func(string) bool
}

func (m *matcher) matches(v string) bool {
	switch m.op {
	case "=":
		return v == m.value
	case "!=":
		return v != m.value
	case "=~":
		return m.memo.Get(v, m.matchFn)
	default: // "!~"
		return !m.memo.Get(v, m.matchFn)
	}
}

func matchAll(ms []matcher, ls sdk.Labels) bool {
	for i := range ms {
		if !ms[i].matches(ls.Get(ms[i].name)) {
			return false
		}
	}
	return true
}

// parseSelector parses metric{label op "value", ...}, metric, or {...};
// names may be quoted ({"my.metric", "a.b"="c"}).
func parseSelector(s string) ([]matcher, error) {
	p := &parser{s: strings.TrimSpace(s)}
	var ms []matcher
	if name := p.ident(); name != "" {
		ms = append(ms, matcher{name: sdk.MetricName, op: "=", value: name})
	}
	p.space()
	if p.peek() == '{' {
		p.pos++
		for {
			p.space()
			if p.peek() == '}' {
				p.pos++
				break
			}
			m, err := p.matcher()
			if err != nil {
				return nil, fmt.Errorf("selector %q: %w", s, err)
			}
			ms = append(ms, m)
			p.space()
			if p.peek() == ',' {
				p.pos++
				continue
			}
			if p.peek() != '}' {
				return nil, fmt.Errorf("selector %q: expected , or } at offset %d", s, p.pos)
			}
		}
	}
	p.space()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("selector %q: unexpected %q at offset %d", s, p.s[p.pos:], p.pos)
	}
	nonEmpty := false
	for i := range ms {
		if !ms[i].matches("") {
			nonEmpty = true
		}
	}
	if !nonEmpty {
		return nil, fmt.Errorf("selector %q must contain at least one matcher that does not match the empty string", s)
	}
	return ms, nil
}

type parser struct {
	s   string
	pos int
}

func (p *parser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *parser) space() {
	for p.pos < len(p.s) && unicode.IsSpace(rune(p.s[p.pos])) {
		p.pos++
	}
}

func (p *parser) ident() string {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '_' || c == ':' || unicode.IsLetter(rune(c)) || (p.pos > start && c >= '0' && c <= '9') {
			p.pos++
			continue
		}
		break
	}
	return p.s[start:p.pos]
}

func (p *parser) str() (string, error) {
	q := p.peek()
	if q != '"' && q != '\'' && q != '`' {
		return "", fmt.Errorf("expected a quoted string at offset %d", p.pos)
	}
	for end := p.pos + 1; end < len(p.s); end++ {
		if p.s[end] == '\\' && q != '`' {
			end++
			continue
		}
		if p.s[end] == q {
			lit := p.s[p.pos : end+1]
			p.pos = end + 1
			if q == '\'' {
				lit = `"` + strings.ReplaceAll(lit[1:len(lit)-1], `"`, `\"`) + `"`
				lit = strings.ReplaceAll(lit, `\'`, `'`)
			}
			return strconv.Unquote(lit)
		}
	}
	return "", errors.New("unterminated string")
}

func (p *parser) matcher() (matcher, error) {
	var m matcher
	var err error
	if c := p.peek(); c == '"' || c == '\'' || c == '`' {
		if m.name, err = p.str(); err != nil {
			return m, err
		}
	} else if m.name = p.ident(); m.name == "" {
		return m, fmt.Errorf("expected a label name at offset %d", p.pos)
	}
	p.space()
	for _, op := range []string{"=~", "!~", "!=", "="} {
		if strings.HasPrefix(p.s[p.pos:], op) {
			m.op = op
			p.pos += len(op)
			break
		}
	}
	if m.op == "" { // a bare quoted name: {"metric.name"}
		if c := p.peek(); c == ',' || c == '}' {
			return matcher{name: sdk.MetricName, op: "=", value: m.name}, nil
		}
		return m, fmt.Errorf("expected =, !=, =~ or !~ at offset %d", p.pos)
	}
	p.space()
	if m.value, err = p.str(); err != nil {
		return m, err
	}
	if m.op == "=~" || m.op == "!~" {
		if m.re, err = regexp.Compile("^(?s:" + m.value + ")$"); err != nil {
			return m, fmt.Errorf("regex %q: %w", m.value, err)
		}
		m.memo, m.matchFn = &sdk.Memo[bool]{}, m.re.MatchString
	}
	return m, nil
}
