package sdk

import (
	"errors"
	"strings"
	"testing"

	"github.com/edgerelay/edgerelay/sdk/abi"
)

func seriesRequest(sets ...Labels) []byte {
	b := abi.AppendU32(nil, uint32(len(sets)))
	for _, ls := range sets {
		b = abi.AppendLabels(b, ls)
	}
	return b
}

func TestServeSeries(t *testing.T) {
	p := Plugin{Series: func(ls Labels) (Labels, bool) {
		switch ls.Get("op") {
		case "drop":
			return nil, false
		case "rename":
			ls.Set("op", "renamed")
		case "panic":
			panic("boom")
		}
		return ls, true
	}}
	cases := []struct {
		name string
		in   []Labels
		want string // ops, or the error text
	}{
		{"keep drop replace", []Labels{FromStrings("op", "keep"), FromStrings("op", "drop"), FromStrings("op", "rename")}, "0,1,2"},
		{"empty request", nil, ""},
		{"panic becomes an error", []Labels{FromStrings("op", "panic")}, "panic: boom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := serveSeries(&p, seriesRequest(tc.in...), nil)
			r := abi.NewReader(out)
			if err := r.Status(); err != nil {
				var ge *abi.GuestError
				if !errors.As(err, &ge) || !strings.Contains(ge.Msg, tc.want) {
					t.Fatalf("error %v; want %q", err, tc.want)
				}
				return
			}
			n, _ := r.U32()
			var ops []string
			for range n {
				op, _ := r.U8()
				ops = append(ops, string('0'+op))
				if op == abi.OpReplace {
					ls, err := r.AppendLabelsTo(nil)
					if err != nil || Labels(ls).Get("op") != "renamed" {
						t.Fatalf("replacement %v, %v", ls, err)
					}
				}
			}
			if got := strings.Join(ops, ","); got != tc.want {
				t.Fatalf("ops %q; want %q", got, tc.want)
			}
		})
	}
}

func TestServeInitError(t *testing.T) {
	p := Plugin{Init: func([]byte) error { return errors.New("bad key") }, Series: func(ls Labels) (Labels, bool) { return ls, true }}
	err := abi.NewReader(serveInit(&p, []byte("{}"), nil)).Status()
	if err == nil || !strings.Contains(err.Error(), "bad key") {
		t.Fatalf("err = %v", err)
	}
}

func TestServeSamples(t *testing.T) {
	p := Plugin{Samples: func(s *Samples) error {
		s.Refs, s.T, s.V = s.Refs[:1], s.T[:1], s.V[:1] // keep the first sample only
		s.V[0] *= 2
		return nil
	}}
	var in Samples
	in.Append(7, 100, 1.5)
	in.Append(8, 200, 3)
	r := abi.NewReader(serveSamples(&p, abi.AppendSamples(nil, &in), nil))
	if err := r.Status(); err != nil {
		t.Fatal(err)
	}
	var out Samples
	if err := r.Samples(&out); err != nil || out.Len() != 1 || out.Refs[0] != 7 || out.T[0] != 100 || out.V[0] != 3 {
		t.Fatalf("samples %+v, %v", out, err)
	}
}
