// Package abi is the edgerelay plugin ABI, version 1: the byte layouts that
// cross the boundary between the edgerelay host and a WebAssembly guest, with
// an encoder and a bounds-checked decoder for each. It is standard library
// only, so plugin authors in Go use it through package sdk and the host uses
// the same code to check what a guest returns.
//
// A guest module exports its linear memory as "memory" and these functions
// (all integers little-endian, pointers are offsets into guest memory):
//
//	er_abi_version() -> i32        must return Version (1)
//	er_kind() -> i32               KindSeries or KindSamples
//	er_buffer(size i32) -> i32     a guest buffer of at least size bytes the host writes a request into
//	er_init(ptr, len i32) -> i64   configuration (JSON) in; returns a Result
//	er_series(ptr, len i32) -> i64 KindSeries: a SeriesRequest in; returns a Result holding a SeriesResponse
//	er_samples(ptr, len i32) -> i64 KindSamples: a SamplesRequest in; returns a Result holding a SamplesRequest-shaped response
//	er_stream(ptr, len i32) -> i64 KindStream: a StreamRequest in; returns a Result holding a StreamResponse
//
// A Result is an i64 packing (ptr << 32 | len) of bytes in guest memory that
// stay valid until the next call. Those bytes start with a u32 status:
// StatusOK followed by the payload, or StatusError followed by a UTF-8 message.
//
// Layouts (u32 is 4 bytes little-endian, str is u32 length + bytes):
//
//	Labels         = u32 n, n × (str name, str value)     sorted by name, names unique
//	SeriesRequest  = u32 count, count × Labels
//	SeriesResponse = u32 count (equal to the request's), count × (u8 op [, Labels if op == OpReplace])
//	SamplesRequest = u32 count, count × u32 ref, count × i64 t, count × u64 value bits
//	StreamRequest  = u32 flags, u32 n, n × (u32 ref, Labels), SamplesRequest
//	                 flags bit 0 (FlagForget): forget every ref told before; the n refs
//	                 are those this instance has not been told (each told once)
//	StreamResponse = SamplesRequest (the input samples kept),
//	                 u32 d, d × (u32 id, Labels, str type, str help, str unit)   series declared
//	                 u32 r, r × u32 id                                         ids retired
//	                 SamplesRequest whose refs are declared ids                samples of new series
//
// Series-level plugins are pure functions of a label set: the host calls
// er_series once per label set it has not seen and remembers the answer.
// Sample-level plugins get the samples of a batch as columns; ref is an id
// the host keeps stable for a label set while it stays in the host's cache.
// Stream plugins (KindStream) are sample-level plugins that also learn each
// ref's labels (once per instance) and may emit new series: a series is
// declared once with an id the guest chooses (its labels and metadata), its
// samples then carry only the id, and a retired id is forgotten. The host
// bounds how many declared ids may be alive (the stage's limits.max_series).
//
// The functions of this package are safe for concurrent use; a Reader is not.
package abi

// Version is the ABI version this package speaks.
const Version = 1

// Kinds a module reports from er_kind.
const (
	KindSeries  = 1
	KindSamples = 2
	KindStream  = 3
)

// FlagForget in a StreamRequest's flags: the guest forgets the labels of
// every ref it was told before this request.
const FlagForget = 1

// Result statuses.
const (
	StatusOK    = 0
	StatusError = 1
)

// Ops of a SeriesResponse entry.
const (
	OpKeep    = 0 // the label set passes unchanged
	OpDrop    = 1 // the series is dropped
	OpReplace = 2 // a new label set follows
)

// Bounds the host enforces on what a guest returns.
const (
	MaxLabels      = 512     // labels in one label set
	MaxStringBytes = 1 << 16 // bytes in one label name or value
)

// Label is one name/value pair.
type Label struct {
	Name, Value string
}

// PackResult packs a pointer and length the way er_* functions return them.
func PackResult(ptr, n uint32) uint64 { return uint64(ptr)<<32 | uint64(n) }

// UnpackResult is the inverse of PackResult.
func UnpackResult(r uint64) (ptr, n uint32) { return uint32(r >> 32), uint32(r) }
