package host

import (
	"bytes"
	"strings"
)

// guestLog keeps, in bounded memory, what a failed call's classification and
// error need of a guest's stderr: the first line naming a fatal cause and the
// last tailMax bytes. A Go runtime that runs out of memory writes "fatal
// error: out of memory" and then goroutine dumps far longer than any tail
// worth keeping, so the tail alone would lose the cause.
type guestLog struct {
	tail  []byte
	line  []byte // the start of the line being written, at most lineMax bytes
	cause string // the first line holding a fatal cause; then scanning stops
}

const (
	tailMax = 1024
	lineMax = 256
)

// causeMarks are what a line naming a runtime's fatal cause holds: Go writes
// "fatal error: ..." (after "runtime: out of memory: ..." when memory ran
// out) or "panic: ...".
var causeMarks = []string{"out of memory", "fatal error:", "panic:"}

func (l *guestLog) Write(p []byte) (int, error) {
	l.scanCause(p)
	if len(p) >= tailMax {
		l.tail = append(l.tail[:0], p[len(p)-tailMax:]...)
		return len(p), nil
	}
	l.tail = append(l.tail, p...)
	if len(l.tail) > tailMax {
		l.tail = append(l.tail[:0], l.tail[len(l.tail)-tailMax:]...)
	}
	return len(p), nil
}

// scanCause looks for the first line holding a cause mark, line by line
// across writes, keeping at most lineMax bytes of the line being written.
func (l *guestLog) scanCause(p []byte) {
	for l.cause == "" && len(p) > 0 {
		end := bytes.IndexByte(p, '\n')
		part := p
		if end >= 0 {
			part = p[:end]
		}
		if room := lineMax - len(l.line); room > 0 {
			l.line = append(l.line, part[:min(len(part), room)]...)
		}
		if end < 0 {
			return
		}
		if isCause(l.line) {
			l.cause = strings.TrimSpace(string(l.line))
		}
		l.line = l.line[:0]
		p = p[end+1:]
	}
}

func isCause(line []byte) bool {
	for _, m := range causeMarks {
		if bytes.Contains(line, []byte(m)) {
			return true
		}
	}
	return false
}

func (l *guestLog) reset() {
	l.tail, l.line, l.cause = l.tail[:0], l.line[:0], ""
}

// String is the cause line, when the tail no longer holds it, then the tail.
func (l *guestLog) String() string {
	tail := strings.TrimSpace(string(l.tail))
	if l.cause == "" || strings.Contains(tail, l.cause) {
		return tail
	}
	return l.cause + "\n...\n" + tail
}
