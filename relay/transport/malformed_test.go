package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/edgerelay/edgerelay/internal/metrictest"
)

func rawFrame(typ byte, body []byte) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(len(body)))
	return append(b, body...)
}

func mustFrame(t *testing.T, f *frame) []byte {
	t.Helper()
	b, err := appendFrame(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawStream dials the server with plain QUIC and opens the stream, for
// tests that write frames by hand. The connection closes with the test.
func rawStream(ctx context.Context, t *testing.T, s testServer, p pki) (*quic.Conn, *quic.Stream) {
	t.Helper()
	tlsConf := p.client(t, false)
	tlsConf.NextProtos = []string{ALPN}
	qc, err := quic.DialAddr(ctx, s.Addr().String(), tlsConf, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qc.CloseWithError(0, "") })
	str, err := qc.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return qc, str
}

// TestBadPeers speaks raw QUIC to the server and checks that every bad
// stream ends the connection with the right application error code.
func TestBadPeers(t *testing.T) {
	p := newPKI(t)
	rec := &recorder{}
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: rec.handle, MaxBlockBytes: 1024})
	hello := mustFrame(t, &frame{typ: frameHello, version: ProtocolVersion,
		hello: Hello{Tenant: "acme", Site: "s", Token: "secret", QueueID: 1}})
	block := func(seq uint64, n int) []byte {
		return mustFrame(t, &frame{typ: frameBlock, seq: seq, payload: make([]byte, n)})
	}
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	tests := []struct {
		name      string
		send      []byte
		code      Code
		malformed bool // counted as a malformed frame
	}{
		{"unknown frame type", rawFrame(0x7f, nil), CodeMalformed, true},
		{"block before hello", block(1, 10), CodeMalformed, true},
		{"hello with trailing bytes", cat(hello[:1], []byte{0, 0, 0, byte(len(hello) - 4)}, hello[5:], []byte{0}), CodeMalformed, true},
		{"hello with a short body", rawFrame(frameHello, []byte{0, 1, 0}), CodeMalformed, true},
		{"hello with a NUL in the tenant", rawFrame(frameHello, cat([]byte{0, 1}, make([]byte, 8), []byte{0, 1, 0}, []byte{0, 0}, []byte{0, 0})), CodeMalformed, true},
		{"huge control frame", rawFrame(frameHello, make([]byte, maxControlBody+1)), CodeTooLarge, true},
		{"unsupported version", mustFrame(t, &frame{typ: frameHello, version: 0, hello: Hello{Token: "secret"}}), CodeVersion, false},
		{"block over the limit", cat(hello, block(1, 1025)), CodeTooLarge, true},
		{"seq not increasing", cat(hello, block(5, 1), block(5, 1)), CodeMalformed, true},
		{"ack from the edge", cat(hello, mustFrame(t, &frame{typ: frameAck, seq: 1})), CodeMalformed, true},
		{"frame cut short", cat(hello, block(1, 100)[:50]), CodeMalformed, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := metrictest.Value(t, s.reg, "edgerelay_transport_malformed_frames_total")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			qc, str := rawStream(ctx, t, s, p)
			// The server may close before it has read all of a bad
			// frame, failing the write: what counts is how it closed.
			str.Write(tt.send)
			if tt.name == "frame cut short" {
				str.Close() // FIN in the middle of a frame
			}
			br := bufio.NewReader(str)
			for {
				f, err := readFrame(br, 0)
				if err != nil {
					break
				}
				if f.typ == frameError && f.code != tt.code {
					t.Errorf("ERROR frame code %v, want %v", f.code, tt.code)
				}
				if f.typ == frameError {
					qc.CloseWithError(0, "")
				}
			}
			select {
			case <-qc.Context().Done():
			case <-ctx.Done():
				t.Fatal("server did not close the connection")
			}
			var ae *quic.ApplicationError
			if err := context.Cause(qc.Context()); errors.As(err, &ae) && ae.Remote && Code(ae.ErrorCode) != tt.code {
				t.Errorf("closed with %v, want %v", err, tt.code)
			}
			if tt.malformed {
				s.waitMetric(t, "edgerelay_transport_malformed_frames_total", before+1)
			}
		})
	}
	if got := rec.got(); len(got) != 1 || got[0] != 5 {
		t.Errorf("handler got %v, want only the first block of the seq test", got)
	}
}

func TestNoHelloTimesOut(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the hello timeout")
	}
	p := newPKI(t)
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: (&recorder{}).handle})
	ctx, cancel := context.WithTimeout(context.Background(), 2*helloTimeout)
	defer cancel()
	tlsConf := p.client(t, false)
	tlsConf.NextProtos = []string{ALPN}
	qc, err := quic.DialAddr(ctx, s.Addr().String(), tlsConf, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer qc.CloseWithError(0, "")
	select {
	case <-qc.Context().Done():
	case <-ctx.Done():
		t.Fatal("server kept a silent connection")
	}
	var ae *quic.ApplicationError
	if err := context.Cause(qc.Context()); !errors.As(err, &ae) || Code(ae.ErrorCode) != CodeTimeout {
		t.Fatalf("closed with %v, want timeout code", err)
	}
}
