package expfmt

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
)

// The label syntax of the native form: a series as the text format writes
// it, and strings quoted as appendExactQuoted writes them.

// series reads a label set in the text format's series syntax.
func (p *nparser) series() (labels.Labels, error) {
	b := labels.NewScratchBuilder(8)
	if p.pos < len(p.s) && p.s[p.pos] != '{' {
		name := p.word()
		if !validMetricName(name) {
			return labels.EmptyLabels(), fmt.Errorf("invalid metric name %q", name)
		}
		b.Add(labels.MetricName, name)
		if !p.skip('{') {
			return labels.EmptyLabels(), errors.New("want { after the metric name")
		}
		return p.finish(&b, false)
	}
	if !p.skip('{') {
		return labels.EmptyLabels(), errors.New("want a series")
	}
	// {"name",...} or {"name"} names the metric; {"label"="v"} does not.
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		save := p.pos
		s, err := p.quoted()
		if err != nil {
			return labels.EmptyLabels(), err
		}
		if p.pos < len(p.s) && p.s[p.pos] != '=' {
			b.Add(labels.MetricName, s)
			if p.skip('}') {
				return b.Labels(), nil
			}
			if !p.skip(',') {
				return labels.EmptyLabels(), errors.New("want , or } after the quoted metric name")
			}
			return p.finish(&b, true)
		}
		p.pos = save
	}
	return p.finish(&b, false)
}

// finish reads the label pairs after the opening brace into b.
func (p *nparser) finish(b *labels.ScratchBuilder, needOne bool) (labels.Labels, error) {
	rest, err := p.labelPairs(needOne)
	if err != nil {
		return labels.EmptyLabels(), err
	}
	rest.Range(func(l labels.Label) { b.Add(l.Name, l.Value) })
	b.Sort()
	lset := b.Labels()
	if name, dup := lset.HasDuplicateLabelNames(); dup {
		return labels.EmptyLabels(), fmt.Errorf("label %q given twice", name)
	}
	return lset, nil
}

// labelPairs reads name="value" pairs up to and including the closing
// brace; needOne asks for at least one.
func (p *nparser) labelPairs(needOne bool) (labels.Labels, error) {
	b := labels.NewScratchBuilder(4)
	if !needOne && p.skip('}') {
		return b.Labels(), nil
	}
	for {
		var name string
		if p.pos < len(p.s) && p.s[p.pos] == '"' {
			var err error
			if name, err = p.quoted(); err != nil {
				return labels.EmptyLabels(), err
			}
		} else if name = p.word(); !validLabelName(name) {
			return labels.EmptyLabels(), fmt.Errorf("invalid label name %q", name)
		}
		if !p.skip('=') {
			return labels.EmptyLabels(), fmt.Errorf("want = after label %q", name)
		}
		v, err := p.quoted()
		if err != nil {
			return labels.EmptyLabels(), err
		}
		b.Add(name, v)
		if p.skip('}') {
			break
		}
		if !p.skip(',') {
			return labels.EmptyLabels(), errors.New("want , or } after a label value")
		}
	}
	b.Sort()
	lset := b.Labels()
	if name, dup := lset.HasDuplicateLabelNames(); dup {
		return labels.EmptyLabels(), fmt.Errorf("label %q given twice", name)
	}
	return lset, nil
}

// quoted reads a double-quoted string as appendExactQuoted writes it.
func (p *nparser) quoted() (string, error) {
	if !p.skip('"') {
		return "", fmt.Errorf("want a quoted string at %q", p.rest())
	}
	var sb strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			return sb.String(), nil
		case c == '\\' && p.pos+1 < len(p.s):
			switch e := p.s[p.pos+1]; e {
			case '\\', '"':
				sb.WriteByte(e)
				p.pos += 2
			case 'n':
				sb.WriteByte('\n')
				p.pos += 2
			case 'x':
				if p.pos+4 > len(p.s) {
					return "", errors.New("short \\x escape")
				}
				v, err := strconv.ParseUint(p.s[p.pos+2:p.pos+4], 16, 8)
				if err != nil || v < utf8.RuneSelf {
					return "", fmt.Errorf("bad \\x escape %q", p.s[p.pos:p.pos+4])
				}
				sb.WriteByte(byte(v))
				p.pos += 4
			default:
				return "", fmt.Errorf("unknown escape \\%c", e)
			}
		case c == '\\':
			return "", errors.New("lone backslash")
		default:
			sb.WriteByte(c)
			p.pos++
		}
	}
	return "", errors.New("unterminated quoted string")
}

// word reads up to the next space, brace, comma, '=' or '"'.
func (p *nparser) word() string {
	start := p.pos
	for p.pos < len(p.s) && !strings.ContainsRune(" {},=\"", rune(p.s[p.pos])) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *nparser) skip(c byte) bool {
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *nparser) lit(s string) bool {
	if strings.HasPrefix(p.s[p.pos:], s) {
		p.pos += len(s)
		return true
	}
	return false
}

func (p *nparser) rest() string {
	r := p.s[p.pos:]
	if len(r) > 40 {
		r = r[:40] + "..."
	}
	return r
}
