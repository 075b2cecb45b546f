//go:build !linux

package ingest

// bodyBuf is the memory a fetcher reads scrape bodies into: on this
// platform the Go heap's. Not safe for concurrent use.
type bodyBuf struct{ b []byte }

// buf returns the memory for a body of up to n bytes, with the first
// keep bytes of the last buf's memory in front (len keep, cap ≥ n).
func (m *bodyBuf) buf(keep, n int) []byte {
	if n <= cap(m.b) {
		return m.b[:keep]
	}
	b := make([]byte, keep, n)
	copy(b, m.b[:keep])
	m.b = b
	return b
}

// release keeps the memory for the next body.
func (m *bodyBuf) release() {}

// free leaves the memory to the collector.
func (m *bodyBuf) free() { m.b = nil }
