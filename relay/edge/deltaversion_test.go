package edge

import (
	"testing"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
)

// TestCloudVersions: the edge's frames are version 3 only while every
// upstream's cloud has said it decodes them; a change of version is
// applied once, at the encoder's next commit, and a change to an older
// version starts a new generation there.
func TestCloudVersions(t *testing.T) {
	c := newCloudVersions([]string{"a", "b"})
	enc := delta.NewEncoder(1)
	if c.apply(enc) || enc.FrameVersion() != delta.Version {
		t.Fatal("version changed before any cloud connected")
	}
	steps := []struct {
		upstream string
		decodes  int
		want     int
		changed  bool
	}{
		{"a", 3, delta.Version, false},  // b not heard from yet
		{"b", 3, delta.Version3, false}, // from each target's next full frame
		{"b", 3, delta.Version3, false}, // a reconnection changes nothing
		{"a", 2, delta.Version, true},   // an older cloud behind a: a new generation now
		{"a", 7, delta.Version3, false}, // a newer one: version 3 is the newest the edge writes
	}
	for i, s := range steps {
		if got := c.connected(s.upstream, s.decodes); got != s.want {
			t.Fatalf("step %d: version %d, want %d", i, got, s.want)
		}
		if changed := c.apply(enc); changed != s.changed || enc.FrameVersion() != s.want {
			t.Fatalf("step %d: apply changed %v, encoder version %d; want %v, %d", i, changed, enc.FrameVersion(), s.changed, s.want)
		}
	}
}
