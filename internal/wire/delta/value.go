package delta

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// A sample is coded as a header byte and a payload spread over three
// streams, so that similar bytes sit together for zstd: ints (varints of
// decimal values), xors (raw XOR bytes) and ts (explicit timestamps).
// Header: bits 0-1 the value mode, bit 2 set when an explicit timestamp
// (zigzag varint, sample time − frame time) is in the ts stream, bits 3-7
// a parameter of the mode.
const (
	modeDecimal = 0 // param d: ints holds zigzag Δ of the values scaled by 10^d
	modeXOR     = 1 // param s<<3|(n-1): xors holds n bytes LE of (old XOR new) >> 16s
	modeSame    = 2 // param 0: value equal to the base; param d+1: ints holds zigzag n, value n/10^d
	modeConst   = 3 // param i: the value is constTable[i]

	hdrTS      = 1 << 2
	paramShift = 3
	// paramDoD (version 3) in a decimal delta's param: ints holds the
	// change against the series' trend, Δ − increment, not Δ.
	paramDoD = 1 << 4

	// maxScale is the largest decimal scale d; 10^d is exact in float64.
	maxScale = 15
	// maxExact is 2^53: integers up to it are exact in float64.
	maxExact = 1 << 53
)

// streams are the payload streams of a frame's samples. In version 3 the
// most significant byte of each XOR payload goes to top instead of xors:
// it is mostly a few small values, which zstd's entropy coder shrinks
// when they sit apart from the random low bytes.
type streams struct {
	ints, xors, ts, top []byte
	v3                  bool
}

// StaleNaN is the bit pattern Prometheus writes as a staleness marker.
const StaleNaN uint64 = 0x7ff0000000000002

// constTable holds values worth a one-byte record.
var constTable = [...]uint64{
	0,                  // +0
	0x3ff0000000000000, // 1
	StaleNaN,           // Prometheus staleness marker
	0x7ff8000000000001, // Prometheus' NaN (value.NormalNaN)
	0x7ff0000000000000, // +Inf
	0xfff0000000000000, // -Inf
	0x8000000000000000, // -0
	0x7ff8000000000000, // math.NaN()
	0xbff0000000000000, // -1
}

var pow10 = [maxScale + 1]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

const scaleUnknown = -2 // smallestScale not computed yet; -1 means none

// scaled returns n with float64(n)/10^d having exactly the bits v, if such
// an n with |n| <= 2^53 exists. Encoder and decoder both use it, so a value
// coded as a decimal delta always decodes to the same bits.
func scaled(v uint64, d int) (int64, bool) {
	f := math.Float64frombits(v)
	m := pow10[d]
	r := math.Round(f * m)
	if !(math.Abs(r) <= maxExact) {
		return 0, false
	}
	n := int64(r)
	if math.Float64bits(float64(n)/m) != v {
		return 0, false
	}
	return n, true
}

// smallestScale returns the smallest d for which scaled(v, d) succeeds, or -1.
func smallestScale(v uint64) int8 {
	f := math.Abs(math.Float64frombits(v))
	for d := 0; d <= maxScale; d++ {
		if f*pow10[d] > maxExact || f != f {
			return -1
		}
		if _, ok := scaled(v, d); ok {
			return int8(d)
		}
	}
	return -1
}

func isFinite(v uint64) bool { return v&0x7ff0000000000000 != 0x7ff0000000000000 }

func constIndex(v uint64) int {
	for i, c := range constTable {
		if c == v {
			return i
		}
	}
	return -1
}

func zigzag(x int64) uint64 { return uint64(x<<1) ^ uint64(x>>63) }

func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// appendValue codes value v at time t against base value old, which is a
// decimal of scale oldScale (-1: not a decimal; scaleUnknown: not known): it
// appends the header byte to hdrs and the payload to st. It returns a scale
// at which v is a decimal, for v's next change: -1 for none, scaleUnknown if
// it did not look. Scales are hints; any choice decodes exactly. In
// version 3 (st.v3) it also returns the series' trend after v, given tr,
// the trend before (zero for a series not present in the base).
func appendValue(hdrs []byte, st *streams, old uint64, oldScale int8, v uint64, t, frameTS int64, tr trend) ([]byte, int8, trend) {
	var ts byte
	if t != frameTS {
		ts = hdrTS
		st.ts = binary.AppendVarint(st.ts, t-frameTS)
	}
	newScale := int8(scaleUnknown)
	switch {
	case v == old:
		return append(hdrs, modeSame|ts), newScale, tr.observe(0, 0)
	case constIndex(v) >= 0:
		return append(hdrs, byte(modeConst|ts|byte(constIndex(v))<<paramShift)), newScale, 0
	}
	x := old ^ v
	sh := min(bits.TrailingZeros64(x)/16, 3)
	y := x >> (16 * sh)
	xorLen := (bits.Len64(y) + 7) / 8

	// Decimal delta against the base, or absolute decimal when the base
	// is not a decimal: pick the shortest of the three. The fast path
	// tries the base's scale first; the search for v's smallest scale is
	// skipped when the base was itself a finite non-decimal float (the
	// series carries full-precision floats: XOR is the answer).
	decLen, d, delta := 0, 0, int64(0)
	absLen, nAbs := 0, int64(0)
	if oldScale == scaleUnknown {
		oldScale = smallestScale(old)
	}
	if oldScale >= 0 {
		if nn, ok := scaled(v, int(oldScale)); ok {
			no, _ := scaled(old, int(oldScale))
			d, delta, newScale = int(oldScale), nn-no, oldScale
			decLen = uvarintLen(zigzag(delta))
			nAbs, absLen = nn, uvarintLen(zigzag(nn))
		}
	}
	if newScale == scaleUnknown {
		newScale = -1
		if oldScale >= 0 || !isFinite(old) {
			newScale = smallestScale(v)
		}
		if newScale >= 0 {
			nAbs, _ = scaled(v, int(newScale))
			absLen = uvarintLen(zigzag(nAbs))
			if oldScale >= 0 {
				d = int(max(oldScale, newScale))
				no, ok1 := scaled(old, d)
				nn, ok2 := scaled(v, d)
				if ok1 && ok2 {
					delta = nn - no
					decLen = uvarintLen(zigzag(delta))
				}
			}
		}
	}
	// Version 3: the change against the predicted increment, when
	// shorter (delta-of-delta).
	coded, dod := delta, byte(0)
	if st.v3 && decLen > 0 && tr.inc() != 0 && tr.scale() == d {
		if r := delta - tr.inc(); uvarintLen(zigzag(r)) < decLen {
			coded, dod, decLen = r, paramDoD, uvarintLen(zigzag(r))
		}
	}
	switch {
	case decLen > 0 && decLen <= xorLen && decLen <= absLen:
		st.ints = binary.AppendUvarint(st.ints, zigzag(coded))
		return append(hdrs, byte(modeDecimal|ts|(byte(d)|dod)<<paramShift)), newScale, tr.observe(delta, d)
	case absLen > 0 && absLen < xorLen:
		st.ints = binary.AppendUvarint(st.ints, zigzag(nAbs))
		return append(hdrs, byte(modeSame|ts|byte(newScale+1)<<paramShift)), newScale, 0
	}
	n := xorLen
	if st.v3 {
		n--
		st.top = append(st.top, byte(y>>(8*n)))
	}
	for i := range n {
		st.xors = append(st.xors, byte(y>>(8*i)))
	}
	return append(hdrs, byte(modeXOR|ts|byte(sh<<3|(xorLen-1))<<paramShift)), newScale, 0
}

// readValue decodes the sample with header h against base value old,
// consuming its payload from st. In version 3 (st.v3) tr is the series'
// trend before it (zero for a series not present in the base), and the
// trend after it is returned.
func readValue(h byte, st *streams, old uint64, frameTS int64, tr trend) (v uint64, t int64, next trend, err error) {
	param := int(h >> paramShift)
	switch h & 3 {
	case modeSame:
		if param == 0 {
			v, next = old, tr.observe(0, 0)
			break
		}
		zn, n := binary.Uvarint(st.ints)
		if n <= 0 {
			return 0, 0, 0, corruptf("truncated decimal value")
		}
		st.ints = st.ints[n:]
		if param-1 > maxScale {
			return 0, 0, 0, corruptf("decimal scale %d", param-1)
		}
		nn := int64(zn>>1) ^ -int64(zn&1)
		if nn > maxExact || nn < -maxExact {
			return 0, 0, 0, corruptf("decimal value out of range")
		}
		v = math.Float64bits(float64(nn) / pow10[param-1])
	case modeConst:
		if param >= len(constTable) {
			return 0, 0, 0, corruptf("unknown constant %d", param)
		}
		v = constTable[param]
	case modeXOR:
		sh, n := uint(param>>3)*16, param&7+1
		var y uint64
		if st.v3 {
			if len(st.top) == 0 {
				return 0, 0, 0, corruptf("truncated xor value")
			}
			n--
			y = uint64(st.top[0]) << (8 * n)
			st.top = st.top[1:]
		}
		if len(st.xors) < n {
			return 0, 0, 0, corruptf("truncated xor value")
		}
		for i := range n {
			y |= uint64(st.xors[i]) << (8 * i)
		}
		st.xors = st.xors[n:]
		if sh > 0 && y>>(64-sh) != 0 {
			return 0, 0, 0, corruptf("xor value overflows")
		}
		v = old ^ y<<sh
	case modeDecimal:
		zd, n := binary.Uvarint(st.ints)
		if n <= 0 {
			return 0, 0, 0, corruptf("truncated decimal delta")
		}
		st.ints = st.ints[n:]
		delta := int64(zd>>1) ^ -int64(zd&1)
		if st.v3 && param&paramDoD != 0 {
			param &^= paramDoD
			if tr.inc() == 0 || tr.scale() != param {
				return 0, 0, 0, corruptf("delta-of-delta without a trend of scale %d", param)
			}
			if delta > 2*maxExact || delta < -2*maxExact {
				return 0, 0, 0, corruptf("decimal delta out of range")
			}
			delta += tr.inc()
		}
		if param > maxScale {
			return 0, 0, 0, corruptf("decimal scale %d", param)
		}
		no, ok := scaled(old, param)
		if !ok {
			return 0, 0, 0, corruptf("base is not a decimal of scale %d", param)
		}
		if delta > 2*maxExact || delta < -2*maxExact {
			return 0, 0, 0, corruptf("decimal delta out of range")
		}
		nn := no + delta
		if nn > maxExact || nn < -maxExact {
			return 0, 0, 0, corruptf("decimal value out of range")
		}
		v, next = math.Float64bits(float64(nn)/pow10[param]), tr.observe(delta, param)
	}
	t = frameTS
	if h&hdrTS != 0 {
		dt, n := binary.Varint(st.ts)
		if n <= 0 {
			return 0, 0, 0, corruptf("truncated timestamp")
		}
		st.ts = st.ts[n:]
		t = frameTS + dt
	}
	return v, t, next, nil
}

// appendStreams appends the header bytes and the streams of a frame:
// len(ints) len(xors) as uvarints, hdrs, ints, xors, ts; version 3 has
// len(top) after len(xors) and top after hdrs, beside other bytes of low
// entropy: zstd codes the literals of each of its blocks (128 KiB) with one
// table, which random XOR bytes would make useless for top.
func appendStreams(dst, hdrs []byte, st *streams) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(st.ints)))
	dst = binary.AppendUvarint(dst, uint64(len(st.xors)))
	if st.v3 {
		dst = binary.AppendUvarint(dst, uint64(len(st.top)))
	}
	dst = append(dst, hdrs...)
	dst = append(dst, st.top...)
	dst = append(dst, st.ints...)
	dst = append(dst, st.xors...)
	return append(dst, st.ts...)
}

// readStreams reads what appendStreams wrote for n samples; the ts stream
// runs to the end of the frame.
func (r *reader) readStreams(n int, v3 bool) (hdrs []byte, st streams) {
	ni, nx := r.Count(1), r.Count(1)
	nt := 0
	if v3 {
		nt = r.Count(1)
	}
	hdrs = r.Bytes(n)
	st.top = r.Bytes(nt)
	st.ints = r.Bytes(ni)
	st.xors = r.Bytes(nx)
	st.ts, st.v3 = r.Buf, v3
	r.Buf = nil
	return hdrs, st
}

// endStreams checks that every stream was consumed.
func (r *reader) endStreams(st *streams) {
	if n := len(st.ints) + len(st.xors) + len(st.ts) + len(st.top); r.Err == nil && n != 0 {
		r.Fail("%d trailing stream bytes", n)
	}
}
