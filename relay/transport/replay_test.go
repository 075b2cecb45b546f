package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
)

// TestReplayBases: a handler's NeedBaseError reaches a version 6 edge as a
// NACK with the need-base flag; on its next connection the edge's BASE
// frames go to the Base handler, answered in order, and after REPLAYED
// the block handler sees that the edge has nothing more to resend for the
// lane. A server without a Base handler speaks version 5: no BASE frames.
func TestReplayBases(t *testing.T) {
	p := newPKI(t)
	var mu sync.Mutex
	var bases []uint64
	var canReplay []bool
	handle := func(_ context.Context, peer Peer, seq uint64, lane uint8, _ []byte) (Ack, error) {
		mu.Lock()
		defer mu.Unlock()
		canReplay = append(canReplay, peer.CanReplay(lane))
		if len(bases) == 0 && peer.CanReplay(lane) {
			return Ack{}, &NeedBaseError{Lane: lane, Reason: "no base"}
		}
		return Ack{}, nil
	}
	base := func(_ context.Context, _ Peer, seq uint64, _ uint8, _ []byte) (Ack, error) {
		mu.Lock()
		defer mu.Unlock()
		bases = append(bases, seq)
		return Ack{}, nil
	}
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: handle, Base: base})
	ctx := context.Background()

	c, err := dialTest(t, s, p.client(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.CanReplay() {
		t.Fatal("a version 6 cloud with a Base handler does not take BASE frames")
	}
	if c.DeltaVersion() != 3 {
		t.Fatalf("a cloud of this build (protocol %d) decodes delta frames up to version %d, want 3", c.version, c.DeltaVersion())
	}
	if err := c.Send(ctx, 5, []byte("block")); err != nil {
		t.Fatal(err)
	}
	a, _ := nextAck(t, c)
	var nack *NackError
	if !errors.As(a.Err, &nack) || !nack.NeedBase || nack.Seq != 5 {
		t.Fatalf("answer %+v, want a need-base NACK of block 5", a)
	}
	c.Close()

	c, err = dialTest(t, s, p.client(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{2, 3, 4} {
		if err := c.SendBase(ctx, seq, 0, []byte("base")); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Replayed(0); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(ctx, 5, []byte("block")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []uint64{2, 3, 4, 5} {
		if a, _ := nextAck(t, c); a.Err != nil || a.Seq != want {
			t.Fatalf("answer %+v, want ACK of %d", a, want)
		}
	}
	mu.Lock()
	if len(bases) != 3 || len(canReplay) != 2 || !canReplay[0] || canReplay[1] {
		t.Errorf("bases %v, block handler saw CanReplay %v: want 3 bases, then [true false]", bases, canReplay)
	}
	mu.Unlock()

	old := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: handle})
	c, err = dialTest(t, old, p.client(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.CanReplay() || c.SendBase(ctx, 1, 0, []byte("base")) == nil {
		t.Fatal("a server without a Base handler takes BASE frames")
	}
}

// TestReplayFrames: BASE, REPLAYED and NACK's need-base flag read back as
// written; unknown NACK flags and lanes past 1 are malformed.
func TestReplayFrames(t *testing.T) {
	for _, f := range []*frame{
		{typ: frameBase, seq: 9, lane: 1, payload: []byte("data")},
		{typ: frameReplayed, lane: 1},
		{typ: frameNack, seq: 3, reason: "no base", needBase: true},
		{typ: frameNack, seq: 3, reason: "disk full"},
	} {
		got, err := readFrame(bufio.NewReader(bytes.NewReader(mustFrame(t, f))), 64)
		if err != nil || got.typ != f.typ || got.seq != f.seq || got.lane != f.lane || got.needBase != f.needBase || !bytes.Equal(got.payload, f.payload) {
			t.Errorf("frame %+v read back as %+v, %v", f, got, err)
		}
	}
	for name, b := range map[string][]byte{
		"NACK flag 2":     rawFrame(frameNack, []byte{0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 2}),
		"REPLAYED lane 2": rawFrame(frameReplayed, []byte{2}),
		"BASE lane 2":     rawFrame(frameBase, []byte{0, 0, 0, 0, 0, 0, 0, 3, 2, 'x'}),
	} {
		if _, err := readFrame(bufio.NewReader(bytes.NewReader(b)), 64); !errors.Is(err, errMalformed) {
			t.Errorf("%s: %v, want malformed", name, err)
		}
	}
}
