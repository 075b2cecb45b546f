package delta

// Header identifies a frame: its target, its generation, its position K
// within the generation, and whether it is full.
type Header struct {
	Target     string
	Generation uint64
	K          uint64
	Full       bool
}

// ParseHeader reads the header of frame without applying it. Errors wrap
// ErrCorrupt.
func ParseHeader(frame []byte) (Header, error) {
	r := reader{buf: frame}
	if v := r.byte(); v != Version && r.err == nil {
		return Header{}, corruptf("unsupported version %d", v)
	}
	kind := r.byte()
	if r.err == nil && kind&^kindMask != 0 {
		return Header{}, corruptf("unknown frame flags %#x", kind)
	}
	h := Header{Target: r.str(), Generation: r.uvarint(), K: r.uvarint(), Full: kind&kindIncremental == 0}
	if r.err != nil {
		return Header{}, r.err
	}
	return h, nil
}

// Applied reports whether the decoder's base of h.Target already contains
// the frame h describes: same generation, at or past position K. Such a
// frame is a repeat (a block resent after the cloud made it durable but
// before the edge heard so) and must not be applied again.
func (d *Decoder) Applied(h Header) bool {
	st := d.targets[h.Target]
	return st != nil && st.gen == h.Generation && h.K <= st.k
}
