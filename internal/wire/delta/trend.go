package delta

import "math"

// trend is a series' last decimal increment, kept alike by encoder and
// decoder for frames of version 3 (docs/protocol.md, "Samples"): bits 5-63
// hold the increment Δ (signed, scaled by 10^d), bits 0-3 its scale d, and
// bit 4 is set when the series is steady, its last two increments equal.
// A steady series' next value is predicted as its value plus Δ, and a
// series whose value is the predicted one has no record in a frame: a
// counter growing at a steady rate costs nothing. The zero trend
// (no increment, not steady) predicts the value unchanged, as versions 1
// and 2 do for every series.
type trend int64

const trendSteady = 1 << 4

func (tr trend) inc() int64   { return int64(tr) >> 5 }
func (tr trend) scale() int   { return int(tr & 15) }
func (tr trend) steady() bool { return tr&trendSteady != 0 }

// observe returns the trend after a change of delta at scale d: steady
// when delta repeats the last increment. No change is the zero trend
// (which predicts what a steady zero increment would).
func (tr trend) observe(delta int64, d int) trend {
	if delta == 0 {
		return 0
	}
	next := trend(delta<<5 | int64(d))
	if tr.inc() == delta && tr.scale() == d {
		next |= trendSteady
	}
	return next
}

// predict returns the value the trend predicts after base, and whether it
// differs from base: base plus the increment for a steady trend whose sum
// is a decimal within float64's exact integers, else base itself.
func (tr trend) predict(base uint64) (uint64, bool) {
	if !tr.steady() || tr.inc() == 0 {
		return base, false
	}
	d := tr.scale()
	n, ok := scaled(base, d)
	if !ok {
		return base, false
	}
	nn := n + tr.inc()
	if nn > maxExact || nn < -maxExact {
		return base, false
	}
	return math.Float64bits(float64(nn) / pow10[d]), true
}

// unpredicted is the trend of a series whose value stayed at its base
// without a record: predict found no change, so the increment was 0.
func (tr trend) unpredicted(moved bool) trend {
	if moved {
		return tr
	}
	return tr.observe(0, 0)
}
