package rwout

import "sync"

// recentBlocks is how many queued blocks a Forwarder remembers to skip
// when an edge delivers them again: an edge resends a block the cloud did
// not acknowledge (another output failed it, or the cloud restarted before
// acknowledging), soon after the first delivery.
const recentBlocks = 1 << 16

// deliveryKey identifies a block as its edge's queue numbered it.
type deliveryKey struct {
	tenant, site string
	queueID, seq uint64
}

// recent is a bounded set of the deliveryKeys queued last, oldest
// forgotten first. Safe for concurrent use.
type recent struct {
	mu   sync.Mutex
	set  map[deliveryKey]struct{}
	ring []deliveryKey
	next int
}

func newRecent(n int) *recent {
	return &recent{set: make(map[deliveryKey]struct{}), ring: make([]deliveryKey, 0, n)}
}

func (r *recent) has(k deliveryKey) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.set[k]
	return ok
}

func (r *recent) add(k deliveryKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[k]; ok {
		return
	}
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, k)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = k
		r.next = (r.next + 1) % len(r.ring)
	}
	r.set[k] = struct{}{}
}

// rememberQueued reads the headers of the newest blocks in the queue, so
// that after a restart a block the edge resends (the cloud died before
// acknowledging it) is not queued twice while the first copy waits.
func (f *Forwarder) rememberQueued() {
	st := f.queue.Stats()
	if st.Blocks == 0 {
		return
	}
	const n = 128 // an edge has at most 16 blocks in flight
	after := uint64(0)
	if st.NextSeq > n+1 {
		after = st.NextSeq - n - 1
	}
	blocks, err := f.queue.Read(after, n, 0)
	if err != nil {
		f.log.Warn("remote_write queue: cannot read its newest blocks; a block an edge resends may be sent twice", "err", err)
		return
	}
	for _, b := range blocks {
		h, _, err := openRecord(b.Data)
		if err == nil {
			f.recent.add(deliveryKey{h.Tenant, h.Site, h.QueueID, h.Seq})
		}
	}
}
