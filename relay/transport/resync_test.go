package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestResync: a handler's Ack.Resync reaches a version 2 edge as the
// resync flag of the block's ACK; an edge speaking version 1 is answered
// in version 1, without the flag (its decoder would refuse it); an edge
// newer than the cloud is answered in the cloud's version.
func TestResync(t *testing.T) {
	p := newPKI(t)
	handle := func(_ context.Context, _ Peer, seq uint64, _ uint8, _ []byte) (Ack, error) {
		return Ack{Resync: seq%2 == 0}, nil
	}
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: handle})

	c, err := dialTest(t, s, p.client(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.CanResync() {
		t.Fatal("a version 2 cloud cannot resync")
	}
	// Protocol 7 and later: the cloud decodes delta frames of version 3
	// (a server without Base speaks version 5).
	if c.DeltaVersion() != 2 || (&Conn{version: 6}).DeltaVersion() != 2 || (&Conn{version: 7}).DeltaVersion() != 3 {
		t.Fatalf("delta version %d at protocol %d", c.DeltaVersion(), c.version)
	}
	for seq := uint64(1); seq <= 4; seq++ {
		if err := c.Send(context.Background(), seq, []byte("block")); err != nil {
			t.Fatal(err)
		}
		a := <-c.Acks()
		if a.Err != nil || a.Seq != seq || a.Resync != (seq%2 == 0) {
			t.Fatalf("answer to block %d: %+v", seq, a)
		}
	}
	c.Close()

	for _, tc := range []struct{ hello, welcome uint16 }{{1, 1}, {9, 5}} { // without a Base handler: 5 at most
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, str := rawStream(ctx, t, s, p)
		str.Write(mustFrame(t, &frame{typ: frameHello, version: tc.hello, hello: Hello{Tenant: "acme", Site: "s", Token: "secret", QueueID: 1}}))
		str.Write(mustFrame(t, &frame{typ: frameBlock, seq: 2, payload: []byte("x")}))
		br := bufio.NewReader(str)
		w, err := readFrame(br, -1)
		if err != nil || w.typ != frameWelcome || w.version != tc.welcome {
			t.Fatalf("HELLO version %d answered %+v, %v; want WELCOME version %d", tc.hello, w, err, tc.welcome)
		}
		a, err := readFrame(br, -1)
		if err != nil || a.typ != frameAck || a.seq != 2 || a.resync != (tc.welcome >= 2) {
			t.Fatalf("version %d: answer %+v, %v", tc.welcome, a, err)
		}
	}
}

func TestAckFlags(t *testing.T) {
	b := mustFrame(t, &frame{typ: frameAck, seq: 7, resync: true})
	f, err := readFrame(bufio.NewReader(bytes.NewReader(b)), -1)
	if err != nil || !f.resync || f.seq != 7 {
		t.Fatalf("ACK with resync read back as %+v, %v", f, err)
	}
	if _, err := readFrame(bufio.NewReader(bytes.NewReader(rawFrame(frameAck, []byte{0, 0, 0, 0, 0, 0, 0, 7, 0x80}))), -1); err == nil {
		t.Fatal("ACK with an unknown flag accepted")
	}
}

// TestLanes: a cloud that takes lanes says so in WELCOME (version 3) and
// hands each block to the handler with its lane; sequence numbers increase
// per lane, so a live lane may run ahead of the backlog. A cloud that does
// not take lanes refuses lane 1 before anything is sent, and a version 2
// edge never sees the WELCOME flags.
func TestLanes(t *testing.T) {
	p := newPKI(t)
	type got struct {
		seq  uint64
		lane uint8
	}
	var mu sync.Mutex
	var blocks []got
	handle := func(_ context.Context, _ Peer, seq uint64, lane uint8, _ []byte) (Ack, error) {
		mu.Lock()
		blocks = append(blocks, got{seq, lane})
		mu.Unlock()
		return Ack{}, nil
	}
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: handle, Lanes: true})
	c, err := dialTest(t, s, p.client(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Lanes() {
		t.Fatal("a cloud with Lanes did not offer them")
	}
	sends := []got{{1, 0}, {10, 1}, {2, 0}, {11, 1}, {12, 1}, {3, 0}}
	for _, b := range sends {
		if err := c.SendLane(context.Background(), b.seq, b.lane, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if a := <-c.Acks(); a.Err != nil || a.Seq != b.seq {
			t.Fatalf("answer to %+v: %+v", b, a)
		}
	}
	if err := c.SendLane(context.Background(), 3, 0, []byte("x")); err == nil {
		t.Fatal("a repeated seq in lane 0 was sent")
	}
	c.Close()
	mu.Lock()
	if fmt.Sprint(blocks) != fmt.Sprint(sends) {
		t.Fatalf("handler saw %v, want %v", blocks, sends)
	}
	mu.Unlock()

	s2 := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: handle})
	c2, err := dialTest(t, s2, p.client(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.Lanes() {
		t.Fatal("a cloud without Lanes offered them")
	}
	if err := c2.SendLane(context.Background(), 1, 1, []byte("x")); err == nil {
		t.Fatal("lane 1 sent to a cloud without lanes")
	}

	// A version 2 HELLO gets a version 2 WELCOME, without flags.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, str := rawStream(ctx, t, s, p)
	str.Write(mustFrame(t, &frame{typ: frameHello, version: 2, hello: Hello{Tenant: "acme", Site: "s", Token: "secret", QueueID: 1}}))
	br := bufio.NewReader(str)
	w, err := readFrame(br, -1)
	if err != nil || w.typ != frameWelcome || w.version != 2 || w.lanes {
		t.Fatalf("version 2 HELLO answered %+v, %v", w, err)
	}
	// and BLOCK_LANE from it is malformed.
	str.Write(mustFrame(t, &frame{typ: frameBlockLane, seq: 1, lane: 1, payload: []byte("x")}))
	if _, err := readFrame(br, -1); err == nil {
		t.Fatal("BLOCK_LANE from a version 2 edge answered")
	}
}

// TestHeld: a cloud tells a version 3 edge which of its blocks it already
// holds (spans cleaned of what a WELCOME cannot carry); an edge speaking
// version 2 is told nothing.
func TestHeld(t *testing.T) {
	p := newPKI(t)
	var asked []Peer
	var mu sync.Mutex
	held := func(peer Peer) []Span {
		mu.Lock()
		asked = append(asked, peer)
		mu.Unlock()
		return []Span{{0, 3}, {5, 4}, {7, 9}, {8, 20}, {30, 31}}
	}
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: (&recorder{}).handle, Held: held})
	c, err := dialTest(t, s, p.client(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got, want := fmt.Sprint(c.Held()), fmt.Sprint([]Span{{1, 3}, {7, 9}, {30, 31}}); got != want {
		t.Fatalf("Held() = %s, want %s", got, want)
	}
	mu.Lock()
	if len(asked) != 1 || asked[0].Tenant != "acme" || asked[0].QueueID == 0 {
		t.Fatalf("Held asked for %+v", asked)
	}
	mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, str := rawStream(ctx, t, s, p)
	str.Write(mustFrame(t, &frame{typ: frameHello, version: 2, hello: Hello{Tenant: "acme", Site: "s", Token: "secret", QueueID: 1}}))
	w, err := readFrame(bufio.NewReader(str), -1)
	if err != nil || w.version != 2 || w.held != nil {
		t.Fatalf("version 2 HELLO answered %+v, %v", w, err)
	}
}

// TestRefusedInAck: the Ack.Refused a handler returns reaches a
// version 4 edge in the block's ACK; an edge speaking version 3 is not told
// (its decoder would refuse the flag); an ACK with the flag and a count of
// 0 is malformed.
func TestRefusedInAck(t *testing.T) {
	p := newPKI(t)
	handle := func(_ context.Context, _ Peer, seq uint64, _ uint8, _ []byte) (Ack, error) {
		// Seq and Err are the transport's to fill: what a handler puts there is ignored.
		return Ack{Seq: 999, Err: errors.New("ignored"), Refused: seq*10 + 1}, nil
	}
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: handle})
	c, err := dialTest(t, s, p.client(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 2; seq++ {
		if err := c.Send(context.Background(), seq, []byte("block")); err != nil {
			t.Fatal(err)
		}
		if a := <-c.Acks(); a.Err != nil || a.Seq != seq || a.Refused != seq*10+1 {
			t.Fatalf("answer to block %d: %+v, want %d refused", seq, a, seq*10+1)
		}
	}
	c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, str := rawStream(ctx, t, s, p)
	str.Write(mustFrame(t, &frame{typ: frameHello, version: 3, hello: Hello{Tenant: "acme", Site: "s", Token: "secret", QueueID: 1}}))
	str.Write(mustFrame(t, &frame{typ: frameBlock, seq: 2, payload: []byte("x")}))
	br := bufio.NewReader(str)
	if w, err := readFrame(br, -1); err != nil || w.version != 3 {
		t.Fatalf("version 3 HELLO answered %+v, %v", w, err)
	}
	if a, err := readFrame(br, -1); err != nil || a.typ != frameAck || a.refused != 0 {
		t.Fatalf("version 3 edge answered %+v, %v; want an ACK without the refused count", a, err)
	}
	if _, err := readFrame(bufio.NewReader(bytes.NewReader(rawFrame(frameAck, []byte{0, 0, 0, 0, 0, 0, 0, 7, ackRefused, 0, 0, 0, 0, 0, 0, 0, 0}))), -1); err == nil {
		t.Fatal("ACK with the refused flag and a count of 0 accepted")
	}
}
