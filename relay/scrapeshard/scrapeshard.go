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
// (highest random weight) hashing, package member's Owner: when an edge
// joins or leaves, only the targets it gains or loses move.
//
// Every type here is safe for concurrent use.
package scrapeshard

import (
	"crypto/md5"
	"encoding/binary"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay/member"
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

// Members gives each target to one member of a set that may change, by
// rendezvous hashing of Key over the members' ids (member.Owner). The
// set starts empty and owns nothing until Set names self among it.
type Members struct {
	self string
	set  atomic.Pointer[[]member.Member] // sorted by id
}

// NewMembers returns the shares of the member with id self.
func NewMembers(self string) *Members {
	m := &Members{self: self}
	m.set.Store(&[]member.Member{})
	return m
}

// Self is this member's id.
func (m *Members) Self() string { return m.self }

// Set replaces the live members and reports whether their ids changed.
func (m *Members) Set(members []member.Member) bool {
	s := slices.Clone(members)
	slices.SortFunc(s, func(a, b member.Member) int { return strings.Compare(a.ID, b.ID) })
	s = slices.CompactFunc(s, func(a, b member.Member) bool { return a.ID == b.ID })
	if slices.EqualFunc(s, *m.set.Load(), func(a, b member.Member) bool { return a.ID == b.ID }) {
		return false
	}
	m.set.Store(&s)
	return true
}

// List returns the live members, sorted by id.
func (m *Members) List() []member.Member { return slices.Clone(*m.set.Load()) }

// Owns reports whether self owns the target among the live members.
func (m *Members) Owns(target labels.Labels) bool {
	o, ok := member.Owner(Key(target), *m.set.Load())
	return ok && o.ID == m.self
}
