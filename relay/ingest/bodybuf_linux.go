//go:build linux

package ingest

import (
	"runtime"
	"syscall"
)

// bodyBuf is the memory a fetcher reads scrape bodies into: an anonymous
// mapping outside the Go heap. A body is only needed while its scrape is
// parsed, and a large target's is most of what a scrape needs at once
// (about 70 bytes per series), so keeping it off the heap keeps the
// collector's goal, which grows with the live heap, from counting it, and
// release gives its pages back to the operating system between scrapes
// without unmapping it. Not safe for concurrent use.
type bodyBuf struct {
	h *bodyMap
}

// bodyMap holds the memory; a cleanup unmaps it should its bodyBuf be
// dropped without free. mapped is false for heap memory, taken when no
// mapping could be had.
type bodyMap struct {
	b      []byte
	mapped bool
}

// buf returns the memory for a body of up to n bytes, with the first
// keep bytes of the last buf's memory in front (len keep, cap ≥ n).
func (m *bodyBuf) buf(keep, n int) []byte {
	if m.h == nil {
		m.h = &bodyMap{}
		runtime.AddCleanup(m, func(h *bodyMap) { h.unmap() }, m.h)
	}
	old := m.h.b
	if n <= len(old) {
		return old[:keep]
	}
	size := (n + pageSize - 1) &^ (pageSize - 1)
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	mapped := err == nil
	if !mapped {
		b = make([]byte, size) // no mapping to be had: the heap's memory then
	}
	copy(b, old[:keep])
	m.h.unmap()
	m.h.b, m.h.mapped = b, mapped
	return b[:keep]
}

// release gives the memory's pages back; the next body faults fresh
// (zeroed) ones in. Nothing may use a body returned before.
func (m *bodyBuf) release() {
	if m.h != nil && m.h.mapped {
		_ = syscall.Madvise(m.h.b, syscall.MADV_DONTNEED)
	}
}

// free unmaps the memory.
func (m *bodyBuf) free() {
	if m.h != nil {
		m.h.unmap()
	}
}

func (h *bodyMap) unmap() {
	if h.mapped {
		_ = syscall.Munmap(h.b)
	}
	h.b, h.mapped = nil, false
}

var pageSize = syscall.Getpagesize()
