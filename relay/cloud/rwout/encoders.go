package rwout

import (
	"runtime"

	"github.com/prometheus/prometheus/model/labels"
)

// encoders keeps encoders, with their buffers, between Deliver calls: up
// to two per CPU, each holding at most maxIdleEncoderBytes. A sync.Pool
// loses them at every garbage collection, which on a busy cloud is several
// times a second; a new encoder then grows its record and its compressed
// records from nothing for every block (at 1,000 sites a tenth of the
// cloud's CPU went to growing them).
type encoders struct {
	f    *Forwarder
	idle chan *encoder
}

// maxIdleEncoderBytes bounds the buffers an idle encoder keeps: one
// large site's block (many records) is not kept for the small ones.
const maxIdleEncoderBytes = 4 << 20

func newEncoders(f *Forwarder) encoders {
	return encoders{f: f, idle: make(chan *encoder, 2*runtime.GOMAXPROCS(0))}
}

// get returns an idle encoder, or a new one.
func (es encoders) get() *encoder {
	select {
	case e := <-es.idle:
		return e
	default:
		return &encoder{f: es.f, lb: labels.NewBuilder(labels.EmptyLabels())}
	}
}

// put keeps e for the next get, unless enough are kept or e holds too
// much.
func (es encoders) put(e *encoder) {
	if e.retained() > maxIdleEncoderBytes {
		return
	}
	select {
	case es.idle <- e:
	default:
	}
}

// retained is the memory e's buffers hold.
func (e *encoder) retained() int {
	n := cap(e.ts) + cap(e.rec)
	for _, r := range e.recs[:cap(e.recs)] {
		n += cap(r)
	}
	return n
}
