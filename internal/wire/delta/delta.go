// Package delta is edgerelay's per-target delta codec: the edge encodes each
// scrape of a target as a frame that carries only what changed since the
// target's previous frame, and the cloud applies frames to a per-target base
// to rebuild every scrape exactly (value bits, timestamps, label sets,
// metadata, native histograms and exemplars). The byte layout is specified
// in docs/protocol.md.
//
// Frames belong to a generation. A target's first frame in a generation is a
// full frame (its series dictionary and every value); later frames in the
// same generation are incremental against the previous one. The edge starts
// a new generation with Encoder.Checkpoint, so a frame never depends on a
// frame of an older generation: dropping whole old generations from a queue
// can never leave the decoder with a missing base. A decoder that does not
// hold an incremental frame's base returns *ErrNeedFull and changes nothing.
//
// The package is internal to edgerelay: the wire format is not part of the
// plugin SDK (package sdk), and the edge's builtin:delta stage runs it
// natively. It is standard library only and builds for GOOS=wasip1.
//
// An Encoder or a Decoder is not safe for concurrent use: each is owned by
// one goroutine at a time. Values passed in are never modified; the
// encoder copies the series label strings it keeps and retains the other
// strings (target, attributes, metadata). A Scrape returned by
// Decoder.Apply belongs to the caller.
package delta

import (
	"errors"
	"fmt"
)

// Frame format versions. Version 2 adds the extra section (native
// histograms, exemplars); the encoder writes a frame without one as
// version 1, so frames of float samples are unchanged. Version 3 (with or
// without an extra section) predicts steady increments and splits XOR
// payloads (docs/protocol.md, "Samples"); the encoder writes it only
// after SetVersion(Version3). The decoder reads all three; a target's
// frames keep the version of its full frame.
const (
	Version1 = 1
	Version  = 2
	Version3 = 3
)

// Series is one sample of one series of a scrape.
type Series struct {
	// Labels is the series' label set in canonical form (see AppendLabel).
	// The codec treats it as an opaque key: two series are the same series
	// when their Labels strings are equal.
	Labels string
	// T is the sample's timestamp in milliseconds since the Unix epoch.
	T int64
	// V holds the bits of the float64 value (math.Float64bits), so NaN
	// payloads such as Prometheus' staleness marker survive exactly.
	// It is 0 when the series' Extra holds a histogram.
	V uint64
	// ID is set by the decoder: the series' place in its target's
	// dictionary. Within a generation an ID names one label set; a
	// caller may key what it derives from Labels by it (checking Labels,
	// which a full frame may place differently). The encoder ignores it.
	ID uint32
}

// Extra is what a series of a scrape carries beside a float sample. It is
// kept apart from Series so that scrapes of float samples cost what they
// always did.
type Extra struct {
	// Series is the index of the series in Scrape.Series.
	Series int
	// H, when set, makes the series' sample a native histogram instead of
	// a float (Series.V is then ignored).
	H *Histogram
	// Exemplars are the series' exemplars in this scrape. The codec treats
	// them as part of the sample: a rebuilt series carries exactly the
	// exemplars given to the encoder.
	Exemplars []Exemplar
}

// Meta is the metadata of one metric family.
type Meta struct {
	Family, Type, Help, Unit string
}

// Scrape is one scrape of one target: at most one sample per series.
type Scrape struct {
	// Target identifies the target, by convention TargetKey(job, instance).
	Target string
	// Timestamp is the scrape's default timestamp in milliseconds. Samples
	// whose T equals it cost nothing to timestamp on the wire.
	Timestamp int64
	// Attrs is opaque per-target data (for example the target's labels in
	// canonical form); it is sent in full frames and when it changes.
	Attrs string
	// Series holds the samples. The decoder returns them in dictionary
	// order (order of first appearance in the generation), not necessarily
	// in the order the encoder was given.
	Series []Series
	// Extras holds the histograms and exemplars of the series that have
	// one, ascending by Extra.Series, at most one per series; the encoder
	// ignores an entry out of order or out of range, and one for a series
	// whose label set occurred earlier in the scrape.
	Extras []Extra
	// Data is set by the decoder when it holds label sets inside strings a
	// caller gave it (Decoder.ShareKeys): Data[i], when not empty, is the
	// string whose first bytes are Series[i].Labels. Nil when there are
	// none; the encoder ignores it.
	Data []string
	// Metadata holds the families' metadata. The decoder returns it sorted
	// by Family; the encoder keeps the first of duplicate families.
	Metadata []Meta
	// StableLabels promises the encoder that the Series' Labels strings
	// are never changed or reused by the caller: it keeps them as they are
	// instead of copying them, so a caller that holds its series keys
	// anyway holds them once. The decoder leaves it false.
	StableLabels bool
	// Keys, when set, makes each Series' Labels an identity string that
	// the encoder keeps and compares as it is (as with StableLabels), and
	// writes on the wire as the key Keys gives for it: a caller whose
	// label sets are strings already holds no second copy of them as keys.
	// Distinct identity strings must give distinct keys. A target's frames
	// with Keys and without it do not share a dictionary: a change starts
	// a full frame. The decoder leaves it nil.
	Keys KeyWriter
}

// KeyWriter gives the series key of an identity string (Scrape.Keys).
type KeyWriter interface {
	// AppendKey appends the series key (labels in AppendLabel form) of
	// id to dst and returns the result.
	AppendKey(dst []byte, id string) []byte
}

// Sentinel and typed errors.
var (
	// ErrCorrupt is wrapped by every error caused by malformed frame or
	// state bytes.
	ErrCorrupt = errors.New("corrupt delta frame")
)

// ErrNeedFull is returned by Decoder.Apply for an incremental frame whose
// base the decoder does not hold (unknown target, other generation, or a
// frame missing in between). The decoder changed nothing; it needs a full
// frame of Target, which the encoder sends for the target's first frame in
// any later generation (or after Encoder.ForceFull).
type ErrNeedFull struct {
	Target     string
	Generation uint64
}

func (e *ErrNeedFull) Error() string {
	return fmt.Sprintf("delta: no base for target %q in generation %d: need a full frame", e.Target, e.Generation)
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}
