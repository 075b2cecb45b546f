package delta

// Sections says how many bytes each part of a frame took, before any
// compression: what a measurement of the wire (bench/wire) breaks a
// frame's cost into.
type Sections struct {
	// Header is the version, kind, target, generation, position,
	// timestamp and attributes.
	Header int
	// Meta is the metadata (a full frame's, or an incremental frame's
	// upserts and deletes).
	Meta int
	// Series is the label sets of new series (a full frame's dictionary),
	// the absent list and the counts of an incremental frame.
	Series int
	// Gaps is the gap-coded ids of the records (incremental frames).
	Gaps int
	// Extra is the extra section: native histograms and exemplars.
	Extra int
	// Headers is the samples' header bytes and the streams' lengths.
	Headers int
	// Ints, XORs, Top and Timestamps are the samples' payload streams.
	Ints, XORs, Top, Timestamps int
}

// LastSections returns the Sections of the frame AppendFrame last wrote.
func (e *Encoder) LastSections() Sections { return e.secs }

// appendStreams appends the samples section from e's staged streams and
// notes its parts' sizes.
func (e *Encoder) appendStreams(dst []byte) []byte {
	n := len(dst)
	dst = appendStreams(dst, e.hdrs, &e.st)
	e.secs.Ints, e.secs.XORs, e.secs.Top, e.secs.Timestamps = len(e.st.ints), len(e.st.xors), len(e.st.top), len(e.st.ts)
	e.secs.Headers = len(dst) - n - len(e.st.ints) - len(e.st.xors) - len(e.st.top) - len(e.st.ts)
	return dst
}
