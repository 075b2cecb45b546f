package transport

import (
	"bufio"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRedirect: a cloud that does not serve the edge's site sends it to
// the one that does, at HELLO (Dial's error) or at a block (the Conn's
// error after the blocks answered before it, the block itself unanswered);
// an edge speaking version 4 is refused, or NACKed, with the same reason.
func TestRedirect(t *testing.T) {
	p := newPKI(t)
	to := &RedirectError{Addr: "127.0.0.1:9", Member: "cloud-b", Reason: "site moved"}
	redirect := func(pr Peer) *RedirectError {
		if pr.Site == "elsewhere" {
			return to
		}
		return nil
	}
	handle := func(_ context.Context, _ Peer, seq uint64, _ uint8, _ []byte) (Ack, error) {
		if seq >= 3 {
			return Ack{}, to
		}
		return Ack{}, nil
	}
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: handle, Redirect: redirect})

	_, err := dialTest(t, s, p.client(t, false), func(c *ClientConfig) { c.Hello.Site = "elsewhere" })
	var rd *RedirectError
	if !errors.As(err, &rd) || *rd != *to {
		t.Fatalf("dial of a site served elsewhere: %v, want a redirect to %v", err, to)
	}

	c, err := dialTest(t, s, p.client(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 4; seq++ {
		if err := c.Send(context.Background(), seq, []byte("block")); err != nil {
			break // the connection may be gone by the fourth
		}
	}
	var acked []uint64
	for a := range c.Acks() {
		if a.Err != nil {
			t.Fatalf("answer %+v: want only ACKs before the redirect", a)
		}
		acked = append(acked, a.Seq)
	}
	if len(acked) != 2 || acked[0] != 1 || acked[1] != 2 {
		t.Fatalf("acked %v before the redirect, want [1 2]", acked)
	}
	if !errors.As(c.Err(), &rd) || *rd != *to {
		t.Fatalf("connection ended with %v, want a redirect to %v", c.Err(), to)
	}

	// A version 4 edge: refused at HELLO, NACKed at the block, each naming
	// the cloud that serves the site.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, str := rawStream(ctx, t, s, p)
	str.Write(mustFrame(t, &frame{typ: frameHello, version: 4, hello: Hello{Tenant: "acme", Site: "elsewhere", Token: "secret", QueueID: 1}}))
	f, err := readFrame(bufio.NewReader(str), -1)
	if err != nil || f.typ != frameError || f.code != CodeRefused || !strings.Contains(f.reason, to.Addr) {
		t.Fatalf("version 4 HELLO of a site served elsewhere answered %+v, %v; want a refusal naming %s", f, err, to.Addr)
	}
	_, str = rawStream(ctx, t, s, p)
	str.Write(mustFrame(t, &frame{typ: frameHello, version: 4, hello: Hello{Tenant: "acme", Site: "here", Token: "secret", QueueID: 1}}))
	str.Write(mustFrame(t, &frame{typ: frameBlock, seq: 3, payload: []byte("x")}))
	br := bufio.NewReader(str)
	if w, err := readFrame(br, -1); err != nil || w.typ != frameWelcome || w.version != 4 {
		t.Fatalf("version 4 HELLO answered %+v, %v", w, err)
	}
	if f, err := readFrame(br, -1); err != nil || f.typ != frameNack || f.seq != 3 || !strings.Contains(f.reason, to.Addr) {
		t.Fatalf("version 4 block of a moved site answered %+v, %v; want a NACK naming %s", f, err, to.Addr)
	}
}
