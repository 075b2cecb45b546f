// Package member keeps the live set of a group of relays — clouds sharing
// sites, or edges sharing scrape targets — and says which member owns a
// key by rendezvous (highest random weight) hashing over that set.
//
// A member has an id (stable across restarts, unique in the group) and an
// address others reach it at. The set comes from a static list (Join with
// Config.Static) or from etcd (Config.Etcd): each member holds a lease of
// Config.Etcd.TTL, kept alive every third of it, under which it writes
// <prefix><id> = {"id", "addr"}; it reads the prefix and watches it, so
// the live set is every member whose lease is alive. A member that leaves
// (Close) revokes its lease at once; one that dies drops out when its
// lease expires, a TTL after its last keepalive.
//
// Fencing: a member that could not renew its lease for a TTL (timed from
// when it sent its last successful keepalive, so before etcd's own clock
// expires it) leaves itself out of its live set until it has joined again:
// what it owned, others own by then, and it must stop acting for it.
//
// etcd is spoken through its v3 JSON gateway (/v3/lease/grant,
// /v3/lease/keepalive, /v3/kv/put, /v3/kv/range, /v3/watch) with
// net/http, not the etcd client library, to keep the binary small.
//
// Owner needs no Set: it is a pure function of a key and a member list,
// so every member computing it over the same live set agrees, and when a
// member leaves only the keys it owned move (about 1/N of them).
//
// Concurrency: a Set's methods are safe for concurrent use; OnChange is
// called from one goroutine at a time, never while holding the Set's lock.
package member

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Member is one relay of a group.
type Member struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
}

// Score is key's rendezvous weight at the member with id: the member with
// the highest score for a key owns it.
func Score(key, id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return mix(h.Sum64())
}

// mix is splitmix64's finalizer: FNV's low bits alone vary too little
// between ids that differ in their last byte.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Owner returns the member of members that owns key: the highest Score,
// ties (which need equal 64-bit hashes) to the smaller id. ok is false when
// members is empty.
func Owner(key string, members []Member) (m Member, ok bool) {
	var best uint64
	for _, c := range members {
		s := Score(key, c.ID)
		if !ok || s > best || (s == best && c.ID < m.ID) {
			m, best, ok = c, s, true
		}
	}
	return m, ok
}

// Config configures Join. Self is required, and exactly one of Static and
// Etcd.
type Config struct {
	Self Member
	// Static is the whole group, Self included; it never changes.
	Static []Member
	// Etcd, when set, is where members find each other.
	Etcd *EtcdConfig
	// OnChange, when set, is called with the new live set (sorted by id)
	// each time it changes, Self's fencing included.
	OnChange func(live []Member)
	Logger   *slog.Logger
}

// EtcdConfig says where the group lives in etcd.
type EtcdConfig struct {
	// Endpoints are etcd client URLs (http://host:2379); tried in order.
	Endpoints []string
	// Prefix is the keys' prefix, e.g. "/edgerelay/clouds/".
	Prefix string
	// TTL is the lease's time to live: how long a dead member keeps its
	// keys; 0 means DefaultTTL. At least 2 s (etcd's granularity is a
	// second).
	TTL time.Duration
	// Client, when set, is used for every request (TLS to etcd, for one).
	Client *http.Client
}

// DefaultTTL is EtcdConfig.TTL when zero.
const DefaultTTL = 10 * time.Second

// Set is a member's view of its group's live set.
type Set struct {
	self     Member
	onChange func([]Member)
	log      *slog.Logger

	mu     sync.Mutex
	seen   []Member // the group as last read, sorted by id
	fenced bool     // self's lease may have expired
	live   []Member // seen, without self when fenced

	cancel context.CancelFunc
	done   chan struct{}
	leave  func() // revokes the lease; nil for a static group
	closed sync.Once
}

// Join makes self a member and returns once the live set is known: at
// once for a static group; for etcd once its lease is granted and its key
// written and read back with the rest of the prefix. ctx bounds only that
// first round; the Set runs until Close.
func Join(ctx context.Context, cfg Config) (*Set, error) {
	if cfg.Self.ID == "" {
		return nil, errors.New("member: self id is required")
	}
	if (cfg.Etcd == nil) == (cfg.Static == nil) {
		return nil, errors.New("member: exactly one of a static list and etcd is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Set{self: cfg.Self, onChange: cfg.OnChange, log: log, done: make(chan struct{})}
	if cfg.Static != nil {
		ms := slices.Clone(cfg.Static)
		sortMembers(ms)
		for i := 1; i < len(ms); i++ {
			if ms[i].ID == ms[i-1].ID {
				return nil, fmt.Errorf("member: id %q listed twice", ms[i].ID)
			}
		}
		if _, found := slices.BinarySearchFunc(ms, cfg.Self.ID, func(m Member, id string) int { return cmp.Compare(m.ID, id) }); !found {
			return nil, fmt.Errorf("member: self %q is not in the static list", cfg.Self.ID)
		}
		s.seen, s.live = ms, ms
		s.cancel = func() {}
		close(s.done)
		return s, nil
	}
	return joinEtcd(ctx, s, *cfg.Etcd)
}

// Self is this member.
func (s *Set) Self() Member { return s.self }

// Live returns the live set, sorted by id; the caller must not change it.
func (s *Set) Live() []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// Owner returns the live member owning key.
func (s *Set) Owner(key string) (Member, bool) { return Owner(key, s.Live()) }

// Owns reports whether self owns key in the live set now.
func (s *Set) Owns(key string) bool {
	m, ok := s.Owner(key)
	return ok && m.ID == s.self.ID
}

// Close leaves the group: the lease is revoked, so the others drop this
// member at once rather than after its TTL, and self is out of Live from
// then on (the set is no longer watched). It is idempotent.
func (s *Set) Close() error {
	s.closed.Do(func() {
		s.cancel()
		<-s.done
		if s.leave != nil {
			s.leave()
		}
		seen, _ := s.state()
		s.update(seen, true)
	})
	return nil
}

// update sets what was read of the group and, or, self's fencing, and
// tells OnChange when the live set changed. Called by one goroutine.
func (s *Set) update(seen []Member, fenced bool) {
	s.mu.Lock()
	live := seen
	if fenced {
		live = slices.DeleteFunc(slices.Clone(seen), func(m Member) bool { return m.ID == s.self.ID })
	}
	changed := !slices.Equal(live, s.live)
	s.seen, s.fenced, s.live = seen, fenced, live
	s.mu.Unlock()
	if changed {
		s.log.Info("group members changed", "live", len(live), "fenced", fenced)
		if s.onChange != nil {
			s.onChange(live)
		}
	}
}

func (s *Set) state() ([]Member, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen, s.fenced
}

func sortMembers(ms []Member) {
	slices.SortFunc(ms, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
}
