// Package scrapeshard decides which of several edges sharing one
// scrape_configs scrapes a target. Every decision is a pure function of
// the target's labels after relabel_configs — the labels its up series
// carries: job, instance and every label not starting with "__" — and of
// the share or the member set, so that edges agreeing on those agree on
// every target without talking to each other.
//
// Static gives each edge a fixed share (index of count), like
// Prometheus' hashmod relabel action over the whole label set. Members
// gives each target to one of a changing set of live edges by rendezvous
// (highest random weight) hashing: when an edge joins or leaves, only the
// targets it gains or loses move.
//
// Every type here is safe for concurrent use.
package scrapeshard

import (
	"crypto/md5"
	"encoding/binary"
	"hash/fnv"
	"slices"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"
)

// Key is the string a target's share is computed from: its labels as
// Prometheus writes them, sorted by name, e.g.
// {instance="10.0.0.1:9100", job="node"}.
func Key(target labels.Labels) string { return target.String() }

// Hash is the hash Static takes modulo its count: the low 8 bytes of
// MD5(Key(target)), big-endian, as Prometheus' hashmod reads an MD5.
func Hash(target labels.Labels) uint64 {
	sum := md5.Sum([]byte(Key(target)))
	return binary.BigEndian.Uint64(sum[8:])
}

// Static is a fixed share: the targets whose Hash modulo Count is Index.
type Static struct{ Index, Count int }

// Owns reports whether the target falls in s's share.
func (s Static) Owns(target labels.Labels) bool {
	if s.Count <= 1 {
		return true
	}
	return Hash(target)%uint64(s.Count) == uint64(s.Index)
}

// Members gives each target to one member of a set that may change:
// Owner by rendezvous hashing. The zero value has no members and owns
// nothing; Set installs a set.
type Members struct {
	self string
	set  atomic.Pointer[[]string] // sorted, without duplicates
}

// NewMembers returns the shares of member self, which owns nothing until
// Set names it among the members.
func NewMembers(self string) *Members {
	m := &Members{self: self}
	m.set.Store(&[]string{})
	return m
}

// Self is this member's name.
func (m *Members) Self() string { return m.self }

// Set replaces the live members and reports whether the set changed.
func (m *Members) Set(members []string) bool {
	s := slices.Clone(members)
	slices.Sort(s)
	s = slices.Compact(s)
	if slices.Equal(s, *m.set.Load()) {
		return false
	}
	m.set.Store(&s)
	return true
}

// List returns the live members, sorted.
func (m *Members) List() []string { return slices.Clone(*m.set.Load()) }

// Owns reports whether self is the target's owner among the live members.
// While self is not among them (not registered yet, or its lease lost) it
// owns nothing: the live members cover every target between them.
func (m *Members) Owns(target labels.Labels) bool {
	return Owner(Key(target), *m.set.Load()) == m.self
}

// Owner is the member of members with the highest weight for key
// (rendezvous hashing); "" when members is empty. Weights are FNV-1a of
// member, a 0xff byte and key, mixed, so every member ranks keys
// independently.
func Owner(key string, members []string) string {
	best, bestW := "", uint64(0)
	for _, m := range members {
		h := fnv.New64a()
		h.Write([]byte(m))
		h.Write([]byte{0xff})
		h.Write([]byte(key))
		w := mix(h.Sum64())
		if best == "" || w > bestW || (w == bestW && m < best) {
			best, bestW = m, w
		}
	}
	return best
}

// mix is a 64-bit finalizer (splitmix64's) so that FNV's weak low bits
// do not bias the ranking.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
