package abi

import "fmt"

// Metadata is what a declared series says about its metric family: type
// ("counter", "gauge", ...; "" when unknown), help and unit.
type Metadata struct {
	Type, Help, Unit string
}

// Decl declares a series a stream stage emits: the id its samples carry,
// its labels (sorted by name, unique names, __name__ set) and metadata.
type Decl struct {
	ID     uint32
	Labels []Label
	Meta   Metadata
}

// StreamOut is what a stream stage answers besides the kept input samples:
// series declared and retired, and the samples of declared series (Refs
// hold ids).
type StreamOut struct {
	Declare []Decl
	Retire  []uint32
	Samples Samples
}

// Reset empties o keeping its capacity.
func (o *StreamOut) Reset() {
	o.Declare, o.Retire = o.Declare[:0], o.Retire[:0]
	o.Samples.Reset()
}

// AppendStreamRequest appends a StreamRequest: flags, the refs new to the
// guest with their labels (refs and sets of equal length), and samples.
func AppendStreamRequest(dst []byte, flags uint32, refs []uint32, sets [][]Label, s *Samples) []byte {
	dst = AppendU32(dst, flags)
	dst = AppendU32(dst, uint32(len(refs)))
	for i, r := range refs {
		dst = AppendU32(dst, r)
		dst = AppendLabels(dst, sets[i])
	}
	return AppendSamples(dst, s)
}

// AppendStreamResponse appends a StreamResponse: kept samples, then o.
func AppendStreamResponse(dst []byte, kept *Samples, o *StreamOut) []byte {
	dst = AppendSamples(dst, kept)
	dst = AppendU32(dst, uint32(len(o.Declare)))
	for _, d := range o.Declare {
		dst = AppendU32(dst, d.ID)
		dst = AppendLabels(dst, d.Labels)
		dst = AppendString(dst, d.Meta.Type)
		dst = AppendString(dst, d.Meta.Help)
		dst = AppendString(dst, d.Meta.Unit)
	}
	dst = AppendU32(dst, uint32(len(o.Retire)))
	for _, id := range o.Retire {
		dst = AppendU32(dst, id)
	}
	return AppendSamples(dst, &o.Samples)
}

// StreamHead reads a StreamRequest's flags and new refs, handing each ref
// and its labels (aliasing the input) to fn; the samples follow.
func (r *Reader) StreamHead(fn func(ref uint32, ls []Label)) (flags uint32, err error) {
	if flags, err = r.U32(); err != nil {
		return 0, err
	}
	n, err := r.U32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*8 > uint64(r.Remaining()) {
		return 0, ErrShort
	}
	var ls []Label
	for range n {
		ref, err := r.U32()
		if err != nil {
			return 0, err
		}
		if ls, err = r.AppendLabelsAliased(ls[:0]); err != nil {
			return 0, err
		}
		fn(ref, ls)
	}
	return flags, nil
}

// Count reads a u32 count of entries taking at least min bytes each and
// checks it against what is left.
func (r *Reader) Count(min int) (int, error) {
	n, err := r.U32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(min) > uint64(r.Remaining()) {
		return 0, fmt.Errorf("abi: %d entries of at least %d bytes in %d: %w", n, min, r.Remaining(), ErrShort)
	}
	return int(n), nil
}
