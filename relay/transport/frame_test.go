package transport

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		f    frame
	}{
		{"hello", frame{typ: frameHello, version: ProtocolVersion, hello: Hello{Tenant: "acme", Site: "plant-7", Token: "t0k", QueueID: 1 << 60}}},
		{"hello empty strings", frame{typ: frameHello, version: ProtocolVersion}},
		{"welcome", frame{typ: frameWelcome, version: ProtocolVersion, maxBody: 1 << 20}},
		{"error", frame{typ: frameError, code: CodeRefused, reason: "unknown token"}},
		{"block", frame{typ: frameBlock, seq: 7, payload: []byte("payload")}},
		{"empty block", frame{typ: frameBlock, seq: 8, payload: []byte{}}},
		{"ack", frame{typ: frameAck, seq: ^uint64(0)}},
		{"ack refused", frame{typ: frameAck, seq: 5, refused: 3000}},
		{"ack resync refused", frame{typ: frameAck, seq: 5, resync: true, refused: 1}},
		{"nack", frame{typ: frameNack, seq: 3, reason: "disk full"}},
		{"redirect", frame{typ: frameRedirect, addr: "10.0.0.2:4433", member: "cloud-b", reason: "site owned by cloud-b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := appendFrame(nil, &tt.f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readFrame(bufio.NewReader(bytes.NewReader(b)), 1024)
			if err != nil {
				t.Fatal(err)
			}
			if got.typ != tt.f.typ || got.version != tt.f.version || got.hello != tt.f.hello ||
				got.maxBody != tt.f.maxBody || got.code != tt.f.code || got.seq != tt.f.seq ||
				got.reason != tt.f.reason || !bytes.Equal(got.payload, tt.f.payload) ||
				got.addr != tt.f.addr || got.member != tt.f.member {
				t.Fatalf("decoded %+v, want %+v", got, tt.f)
			}
		})
	}
}

func TestEncodeBounds(t *testing.T) {
	if _, err := appendFrame(nil, &frame{typ: frameHello, hello: Hello{Tenant: strings.Repeat("x", maxNameLen+1)}}); err == nil {
		t.Error("encoded an over-long tenant")
	}
	b, err := appendFrame(nil, &frame{typ: frameNack, reason: strings.Repeat("é", maxReasonLen) + "\x00\xff"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := readFrame(bufio.NewReader(bytes.NewReader(b)), 0)
	if err != nil {
		t.Fatalf("a long reason was not truncated into a decodable frame: %v", err)
	}
	if len(f.reason) > maxReasonLen {
		t.Fatalf("reason is %d bytes", len(f.reason))
	}
}

// FuzzReadFrame feeds arbitrary bytes to the frame decoder: it must never
// panic or allocate past its bounds, every error must be classified, and a
// frame it accepts must encode back to exactly the bytes it consumed.
func FuzzReadFrame(f *testing.F) {
	seeds := []frame{
		{typ: frameHello, version: ProtocolVersion, hello: Hello{Tenant: "acme", Site: "s", Token: "t", QueueID: 9}},
		{typ: frameWelcome, version: ProtocolVersion, maxBody: 4096},
		{typ: frameWelcome, version: ProtocolVersion, maxBody: 4096, lanes: true},
		{typ: frameWelcome, version: ProtocolVersion, maxBody: 4096, held: []Span{{1, 9}, {12, 12}}},
		{typ: frameBlockLane, seq: 4, lane: 1, payload: []byte("abc")},
		{typ: frameError, code: CodeRefused, reason: "no"},
		{typ: frameBlock, seq: 1, payload: []byte("abc")},
		{typ: frameAck, seq: 2},
		{typ: frameAck, seq: 2, resync: true, refused: 7},
		{typ: frameNack, seq: 3, reason: "why"},
		{typ: frameRedirect, addr: "127.0.0.1:4433", member: "b", reason: "moved"},
	}
	for i := range seeds {
		b, err := appendFrame(nil, &seeds[i])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{frameBlock, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{frameHello, 0, 0, 0, 2, 0, 1})
	const maxBlock = 1024
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		fr, err := readFrame(bufio.NewReader(r), maxBlock)
		if err != nil {
			if err != io.EOF && !errors.Is(err, errMalformed) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if fr.typ == frameBlock && len(fr.payload) > maxBlock {
			t.Fatalf("payload of %d bytes accepted", len(fr.payload))
		}
		out, err := appendFrame(nil, fr)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", fr, err)
		}
		if !bytes.HasPrefix(in, out) {
			t.Fatalf("re-encoded %x is not a prefix of the input %x", out, in)
		}
	})
}
