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
	r := newReader(frame)
	v := r.Byte()
	kind := r.Byte()
	if err := checkKind(v, kind, r.Err); err != nil {
		return Header{}, err
	}
	h := Header{Target: r.Str(), Generation: r.Uvarint(), K: r.Uvarint(), Full: kind&kindIncremental == 0}
	if r.Err != nil {
		return Header{}, r.Err
	}
	return h, nil
}

// IsFull reports whether frame, as Encoder.AppendFrame returned it, is a
// full frame (a target's first in its generation, or after ForceFull)
// rather than an incremental one. It reads only the version and kind bytes,
// so it costs nothing per scrape; bytes that are not a frame are not full.
func IsFull(frame []byte) bool {
	return len(frame) >= 2 && checkKind(frame[0], frame[1], nil) == nil && frame[1]&kindIncremental == 0
}

// Applied reports whether the decoder's base of h.Target already contains
// the frame h describes: same generation, at or past position K. Such a
// frame is a repeat (a block resent after the cloud made it durable but
// before the edge heard so) and must not be applied again.
func (d *Decoder) Applied(h Header) bool {
	st := d.targets[h.Target]
	return st != nil && st.gen == h.Generation && h.K <= st.k
}

// checkKind checks a frame's version and kind bytes.
func checkKind(v, kind byte, err error) error {
	switch {
	case err != nil:
		return err
	case v != Version1 && v != Version && v != Version3:
		return corruptf("unsupported version %d", v)
	case kind&^kindMask != 0 || (v == Version1 && kind&kindExtra != 0):
		return corruptf("unknown frame flags %#x", kind)
	}
	return nil
}
