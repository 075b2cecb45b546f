package member

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/internal/etcdtest"
)

func ids(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// waitLive polls s until its live set is want (ids), for up to d.
func waitLive(t *testing.T, s *Set, d time.Duration, want ...string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := ids(s.Live())
		if slices.Equal(got, want) {
			return time.Since(start)
		}
		if time.Since(start) > d {
			t.Fatalf("%s sees %v after %v, want %v", s.Self().ID, got, d, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func joinEtcdMember(t *testing.T, ep, id string, ttl time.Duration, onChange func([]Member)) *Set {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := Join(ctx, Config{Self: Member{ID: id, Addr: "127.0.0.1:" + id}, OnChange: onChange,
		Etcd: &EtcdConfig{Endpoints: []string{"http://127.0.0.1:1", ep}, Prefix: "/edgerelay/test/", TTL: ttl}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Three members of a real etcd see each other; one that leaves (Close) is
// gone from the others' sets at once, one that dies (no keepalive, no
// revoke) within its lease's TTL; OnChange tells each change.
func TestEtcdMembership(t *testing.T) {
	e := etcdtest.Start(t)
	const ttl = 2 * time.Second
	changes := make(chan []Member, 100)
	a := joinEtcdMember(t, e.Endpoint, "a", ttl, func(live []Member) { changes <- live })
	b := joinEtcdMember(t, e.Endpoint, "b", ttl, nil)
	c := joinEtcdMember(t, e.Endpoint, "c", ttl, nil)
	for _, s := range []*Set{a, b, c} {
		waitLive(t, s, 30*time.Second, "a", "b", "c")
	}
	if m, ok := a.Owner("acme/plant-7"); !ok || m.Addr != "127.0.0.1:"+m.ID {
		t.Fatalf("owner %v %v: address not carried", m, ok)
	}

	c.Close()
	took := waitLive(t, a, 30*time.Second, "a", "b")
	t.Logf("a member that left was dropped after %v", took)

	// b dies: its goroutines stop, its lease is neither renewed nor revoked.
	b.cancel()
	<-b.done
	died := time.Now()
	waitLive(t, a, 60*time.Second, "a")
	// Its last keepalive went at most a third of the TTL before it died.
	if since := time.Since(died); since < ttl*2/3-100*time.Millisecond {
		t.Fatalf("a dead member was dropped %v after it died, before its lease's TTL %v could have run out", since, ttl)
	}
	t.Logf("a dead member was dropped %v after it died (TTL %v, keepalive every third of it)", time.Since(died), ttl)

	var last []Member
	for len(changes) > 0 {
		last = <-changes
	}
	if !slices.Equal(ids(last), []string{"a"}) {
		t.Fatalf("OnChange last said %v, want [a]", ids(last))
	}
}

// A member that cannot reach etcd for a TTL leaves itself out of its own
// live set (what it owned, others own by then), and joins again, under a
// new lease, once etcd is back.
func TestEtcdFencing(t *testing.T) {
	e := etcdtest.Start(t)
	const ttl = 2 * time.Second
	a := joinEtcdMember(t, e.Endpoint, "a", ttl, nil)
	b := joinEtcdMember(t, e.Endpoint, "b", ttl, nil)
	waitLive(t, a, 30*time.Second, "a", "b")
	e.Kill()
	waitLive(t, a, 30*time.Second, "b")
	if a.Owns("anything") {
		t.Fatal("a fenced member owns a key")
	}
	e.Restart(t)
	waitLive(t, a, 60*time.Second, "a", "b")
	waitLive(t, b, 60*time.Second, "a", "b")
}

// Many keys owned by members that see the same set agree, whoever asks.
func TestEtcdOwnersAgree(t *testing.T) {
	e := etcdtest.Start(t)
	sets := make([]*Set, 3)
	for i := range sets {
		sets[i] = joinEtcdMember(t, e.Endpoint, fmt.Sprint("m", i), 2*time.Second, nil)
	}
	for _, s := range sets {
		waitLive(t, s, 30*time.Second, "m0", "m1", "m2")
	}
	for _, k := range keys(300) {
		owners := 0
		for _, s := range sets {
			if s.Owns(k) {
				owners++
			}
		}
		if owners != 1 {
			t.Fatalf("key %s has %d owners", k, owners)
		}
	}
}
