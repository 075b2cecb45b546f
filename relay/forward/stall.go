package forward

import "time"

// StallTimeout is how long the oldest block sent may go unanswered before
// OnStall is called. A cloud that died (SIGKILL, a lost host) is noticed by
// the connection only after its idle timeout; meanwhile the edge keeps
// encoding delta frames against bases only that cloud held. The edge
// starts a new delta generation on OnStall, so what it queues from then on
// rebuilds at whichever cloud takes the site without resending the old
// generation's blocks (replay.go); a slow cloud costs one generation of
// full frames.
const StallTimeout = 5 * time.Second

// stallCheck is how often a session looks for a stall.
const stallCheck = time.Second

// checkStall calls OnStall when the oldest unanswered block has waited
// StallTimeout, once until an answer comes.
func (s *session) checkStall() {
	s.mu.Lock()
	stalled := !s.stalled && len(s.pending) > 0 && !s.pending[0].skip && time.Since(s.pending[0].sent) >= StallTimeout
	if stalled {
		s.stalled = true
	}
	s.mu.Unlock()
	if stalled && s.f.cfg.OnStall != nil {
		s.f.log.Warn("the cloud has not answered for a while; starting a new delta generation", "oldest_seq", s.pending0())
		s.f.cfg.OnStall()
	}
}

func (s *session) pending0() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return 0
	}
	return s.pending[0].seq
}
