package edge

import (
	"sync"
	"sync/atomic"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
)

// cloudVersions tracks, per upstream, the newest delta frame version its
// cloud decodes (transport.Conn.DeltaVersion, heard at each connection),
// and from them the version the edge's frames may use: the lowest over
// every upstream, since each one is sent the same queue. An upstream not
// connected yet counts as the oldest version, so an edge writes version 3
// frames only once every cloud it ships to has said it decodes them.
type cloudVersions struct {
	mu     sync.Mutex
	byName map[string]int
	want   atomic.Int32 // the frame version for the encoder
}

func newCloudVersions(upstreams []string) *cloudVersions {
	c := &cloudVersions{byName: make(map[string]int, len(upstreams))}
	for _, n := range upstreams {
		c.byName[n] = delta.Version
	}
	c.want.Store(delta.Version)
	return c
}

// connected records that upstream's cloud decodes frames up to version v
// and returns the frame version the edge's frames may use now.
func (c *cloudVersions) connected(upstream string, v int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byName[upstream] = min(v, delta.Version3)
	want := delta.Version3
	for _, v := range c.byName {
		want = min(want, v)
	}
	c.want.Store(int32(want))
	return want
}

// apply makes enc's frames the version the clouds decode, and reports
// whether that needs a new generation now. A newer version is taken by
// each target with its next full frame (the next generation, within
// full_every), so a connection costs no full frames; an older one needs a
// new generation at once, so that no frame of the newer version follows.
// It runs on the commit loop, before encoding.
func (c *cloudVersions) apply(enc *delta.Encoder) bool {
	want := int(c.want.Load())
	if want == enc.FrameVersion() {
		return false
	}
	older := want < enc.FrameVersion()
	enc.SetVersion(want)
	return older
}
