package sd

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// zone is what a test DNS server answers: records by lower-case FQDN and
// type. A name absent from every type is NXDOMAIN; failing names get
// SERVFAIL.
type zone struct {
	mu      sync.Mutex
	srv     map[string][]dnsmessage.SRVResource
	a       map[string][]netip.Addr
	mx      map[string][]dnsmessage.MXResource
	ns      map[string][]dnsmessage.NSResource
	failing map[string]bool
}

// serveDNS answers z on a UDP socket on 127.0.0.1 until the test ends and
// returns a resolver that asks it (and nothing else).
func serveDNS(t *testing.T, z *zone) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out, ok := z.answer(buf[:n]); ok {
				_, _ = pc.WriteTo(out, from)
			}
		}
	}()
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// answer builds the reply to one query message.
func (z *zone) answer(q []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return nil, false
	}
	question, err := p.Question()
	if err != nil {
		return nil, false
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	name := strings.ToLower(question.Name.String())
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionAvailable: true}
	_, known := z.srv[name]
	_, knownA := z.a[name]
	_, knownMX := z.mx[name]
	_, knownNS := z.ns[name]
	switch {
	case z.failing[name]:
		rh.RCode = dnsmessage.RCodeServerFailure
	case !known && !knownA && !knownMX && !knownNS:
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	_ = b.StartQuestions()
	_ = b.Question(question)
	_ = b.StartAnswers()
	if rh.RCode == dnsmessage.RCodeSuccess {
		rr := dnsmessage.ResourceHeader{Name: question.Name, Class: dnsmessage.ClassINET, TTL: 5}
		switch question.Type {
		case dnsmessage.TypeSRV:
			for _, r := range z.srv[name] {
				_ = b.SRVResource(rr, r)
			}
		case dnsmessage.TypeMX:
			for _, r := range z.mx[name] {
				_ = b.MXResource(rr, r)
			}
		case dnsmessage.TypeNS:
			for _, r := range z.ns[name] {
				_ = b.NSResource(rr, r)
			}
		case dnsmessage.TypeA, dnsmessage.TypeAAAA:
			for _, ip := range z.a[name] {
				if ip.Is4() && question.Type == dnsmessage.TypeA {
					_ = b.AResource(rr, dnsmessage.AResource{A: ip.As4()})
				}
				if ip.Is6() && question.Type == dnsmessage.TypeAAAA {
					_ = b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: ip.As16()})
				}
			}
		}
	}
	out, err := b.Finish()
	return out, err == nil
}

func mustName(s string) dnsmessage.Name { return dnsmessage.MustNewName(s) }
