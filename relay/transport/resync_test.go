package transport

import (
	"bufio"
	"bytes"
	"context"
	"testing"
	"time"
)

// TestResync: a handler's RequestResync reaches a version 2 edge as the
// resync flag of the block's ACK; an edge speaking version 1 is answered
// in version 1, without the flag (its decoder would refuse it); an edge
// newer than the cloud is answered in the cloud's version.
func TestResync(t *testing.T) {
	p := newPKI(t)
	handle := func(ctx context.Context, _ Peer, seq uint64, _ []byte) error {
		if seq%2 == 0 {
			RequestResync(ctx)
		}
		return nil
	}
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: handle})

	c, err := dialTest(t, s, p.client(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.CanResync() {
		t.Fatal("a version 2 cloud cannot resync")
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

	for _, tc := range []struct{ hello, welcome uint16 }{{1, 1}, {9, ProtocolVersion}} {
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
