package notify

import "testing"

// BenchmarkSpoolAdd is what a block with 10 new scrape directories pays on
// the receive path per hook: one record written and synced.
func BenchmarkSpoolAdd(b *testing.B) {
	s, err := openSpool(b.TempDir(), 1<<30, testMetrics())
	if err != nil {
		b.Fatal(err)
	}
	rec, _ := encode(notices("acme/plant-7/10.0.0.7_9100.node/1764684000123000", 10))
	for b.Loop() {
		if err := s.add(rec, 10); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(rec)))
}
