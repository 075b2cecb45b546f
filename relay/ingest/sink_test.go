package ingest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/relay"
)

// recordingSink keeps every batch it is given, failing those for which fail
// returns an error.
type recordingSink struct {
	mu      sync.Mutex
	batches []*relay.Batch
	failed  int
	fail    func(*relay.Batch) error
	notify  chan struct{}
}

func newRecordingSink() *recordingSink {
	return &recordingSink{notify: make(chan struct{}, 1)}
}

func (s *recordingSink) Submit(_ context.Context, b *relay.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}()
	if s.fail != nil {
		if err := s.fail(b); err != nil {
			s.failed++
			return err
		}
	}
	s.batches = append(s.batches, b)
	return nil
}

func (s *recordingSink) setFail(f func(*relay.Batch) error) {
	s.mu.Lock()
	s.fail = f
	s.mu.Unlock()
}

// all returns the batches taken so far.
func (s *recordingSink) all() []*relay.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*relay.Batch(nil), s.batches...)
}

// waitFor waits until cond holds for the batches taken so far, failing the
// test after timeout.
func (s *recordingSink) waitFor(t *testing.T, timeout time.Duration, what string, cond func([]*relay.Batch) bool) []*relay.Batch {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if bs := s.all(); cond(bs) {
			return bs
		}
		select {
		case <-s.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s; got %d batches", timeout, what, len(s.all()))
		}
	}
}
