package abi

import (
	"encoding/binary"
	"math"
)

// AppendU32 appends v little-endian.
func AppendU32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }

// AppendString appends a length-prefixed string.
func AppendString(dst []byte, s string) []byte {
	dst = AppendU32(dst, uint32(len(s)))
	return append(dst, s...)
}

// AppendLabels appends a Labels layout.
func AppendLabels(dst []byte, ls []Label) []byte {
	dst = AppendU32(dst, uint32(len(ls)))
	for _, l := range ls {
		dst = AppendString(dst, l.Name)
		dst = AppendString(dst, l.Value)
	}
	return dst
}

// AppendOK starts a successful Result payload.
func AppendOK(dst []byte) []byte { return AppendU32(dst, StatusOK) }

// AppendError appends a failed Result carrying msg.
func AppendError(dst []byte, msg string) []byte {
	dst = AppendU32(dst, StatusError)
	return append(dst, msg...)
}

// Samples holds sample columns; the three slices have equal length.
type Samples struct {
	Refs []uint32
	T    []int64
	V    []float64
}

// Len is the number of samples.
func (s *Samples) Len() int { return len(s.Refs) }

// Reset empties s keeping its capacity.
func (s *Samples) Reset() { s.Refs, s.T, s.V = s.Refs[:0], s.T[:0], s.V[:0] }

// Append adds one sample.
func (s *Samples) Append(ref uint32, t int64, v float64) {
	s.Refs = append(s.Refs, ref)
	s.T = append(s.T, t)
	s.V = append(s.V, v)
}

// AppendSamples appends a SamplesRequest layout of s (value bits kept exactly).
func AppendSamples(dst []byte, s *Samples) []byte {
	dst = AppendU32(dst, uint32(len(s.Refs)))
	for _, r := range s.Refs {
		dst = AppendU32(dst, r)
	}
	for _, t := range s.T {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(t))
	}
	for _, v := range s.V {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	}
	return dst
}
