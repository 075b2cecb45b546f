package host

import (
	"strings"
	"testing"
)

// TestGuestLogKeepsCause writes what a Go runtime writes when it runs out of
// memory, in pieces that split lines, and checks the cause survives the dump
// while what is held stays bounded.
func TestGuestLogKeepsCause(t *testing.T) {
	out := "runtime: out of memory: cannot allocate 4194304-byte block (3932160 in use)\nfatal error: out of memory\n\n" +
		strings.Repeat("goroutine 1 [running]:\nruntime.throw({0x2bd7a, 0xd})\n\t/usr/lib/go/src/runtime/panic.go:1101 +0x5\n", 2000)
	for _, piece := range []int{1, 7, 100, 4096, len(out)} {
		var l guestLog
		for s := out; s != ""; {
			n := min(piece, len(s))
			l.Write([]byte(s[:n]))
			s = s[n:]
		}
		got := l.String()
		if !strings.HasPrefix(got, "runtime: out of memory: cannot allocate") || !strings.HasSuffix(got, "panic.go:1101 +0x5") {
			t.Errorf("writes of %d bytes: log %.120q...; want the cause line, then the tail", piece, got)
		}
		if len(got) > tailMax+lineMax+8 || cap(l.tail) > 2*tailMax+piece || cap(l.line) > 2*lineMax {
			t.Errorf("writes of %d bytes: holds %d bytes (tail cap %d, line cap %d)", piece, len(got), cap(l.tail), cap(l.line))
		}
		l.reset()
		l.Write([]byte("plain\n"))
		if got := l.String(); got != "plain" {
			t.Errorf("after reset: %q; want only what was written since", got)
		}
	}
}

// TestGuestLogShortOutput checks a cause still in the tail is not repeated.
func TestGuestLogShortOutput(t *testing.T) {
	var l guestLog
	l.Write([]byte("panic: boom\n\ngoroutine 1 [running]:\n"))
	if got := l.String(); got != "panic: boom\n\ngoroutine 1 [running]:" {
		t.Errorf("log %q", got)
	}
}
