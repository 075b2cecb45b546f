package notify

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// hook is where one kind of notice goes: the webhook or the exec hook.
type hook interface {
	// name is "webhook" or "exec", the hook label of the metrics.
	name() string
	// batch is how many notices one send may carry.
	batch() int
	// send delivers notices. An error is retried, after backoff or what a
	// *retryAfter error asks, unless it is a *refused: the hook will never
	// take these notices.
	send(ctx context.Context, notices []Notice) error
}

// refused is a hook's answer that the notices will never be taken (a
// webhook's 4xx other than 408, 425 and 429).
type refused struct{ err error }

func (e *refused) Error() string { return e.err.Error() }
func (e *refused) Unwrap() error { return e.err }

// retryAfter is a failure whose answer said when to try again.
type retryAfter struct {
	err   error
	after time.Duration
}

func (e *retryAfter) Error() string { return e.err.Error() }
func (e *retryAfter) Unwrap() error { return e.err }

// sender delivers one hook's spool, oldest record first, a batch at a
// time, retrying a failed batch with exponential backoff between minBackoff
// and maxBackoff until it is delivered, refused, or dropped from the spool
// by its bound.
type sender struct {
	hook                   hook
	spool                  *spool
	minBackoff, maxBackoff time.Duration
	log                    *slog.Logger
	m                      hookMetrics
}

// run delivers until ctx ends.
func (s *sender) run(ctx context.Context) error {
	for {
		r, ok := s.spool.head()
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-s.spool.wake:
				continue
			}
		}
		if err := s.deliver(ctx, r); err != nil {
			return nil // ctx ended
		}
		s.spool.remove(r.seq)
	}
}

// deliver delivers what is left of record r; it returns an error only when
// ctx ended first.
func (s *sender) deliver(ctx context.Context, r record) error {
	notices, err := s.spool.read(r.seq)
	if err != nil {
		s.log.Error("notify spool record unreadable, dropped", "hook", s.hook.name(), "seq", r.seq, "err", err)
		s.m.dropped.WithLabelValues(reasonCorrupt).Add(float64(r.notices - r.done))
		return nil
	}
	for done := r.done; done < len(notices); {
		n := min(s.hook.batch(), len(notices)-done)
		if err := s.attempt(ctx, r.seq, notices[done:done+n]); err != nil {
			return err
		}
		done += n
		if !s.spool.progress(r.seq, done) {
			return nil // dropped by the spool's bound meanwhile
		}
	}
	return nil
}

// attempt sends batch, of record seq, until the hook takes or refuses it
// or the spool dropped the record; it returns an error only when ctx ended
// first.
func (s *sender) attempt(ctx context.Context, seq uint64, batch []Notice) error {
	backoff := s.minBackoff
	for failures := 0; ; failures++ {
		err := s.hook.send(ctx, batch)
		if err == nil {
			s.m.sent.Add(float64(len(batch)))
			if failures > 0 {
				s.log.Info("notify hook delivering again", "hook", s.hook.name(), "failed_attempts", failures)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ref *refused
		if errors.As(err, &ref) {
			s.m.failed.Add(float64(len(batch)))
			s.log.Error("notify hook refused notices; not retried", "hook", s.hook.name(), "first_id", batch[0].ID, "notices", len(batch), "err", err)
			return nil
		}
		wait := backoff
		var ra *retryAfter
		if errors.As(err, &ra) && ra.after > wait {
			wait = min(ra.after, s.maxBackoff)
		}
		s.m.retries.Add(float64(len(batch)))
		if failures == 0 {
			s.log.Warn("notify hook failed; retrying with backoff", "hook", s.hook.name(), "first_id", batch[0].ID, "notices", len(batch), "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if !s.spool.has(seq) {
			return nil // dropped by the spool's bound: counted there
		}
		backoff = min(2*backoff, s.maxBackoff)
	}
}
