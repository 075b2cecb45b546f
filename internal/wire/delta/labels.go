package delta

import (
	"encoding/binary"
	"strings"
)

// targetSep separates job and instance in a target key; it never occurs in
// valid UTF-8.
const targetSep = "\xff"

// TargetKey returns the target key of a job and instance.
func TargetKey(job, instance string) string {
	return job + targetSep + instance
}

// SplitTarget splits a key made by TargetKey into job and instance. A key
// without the separator is returned as the job.
func SplitTarget(key string) (job, instance string) {
	job, instance, _ = strings.Cut(key, targetSep)
	return job, instance
}

// AppendLabel appends one label in canonical form to dst: the name's length
// as a uvarint, the name, the value's length as a uvarint, the value. A
// canonical label set is its labels appended in ascending name order, names
// unique; __name__ is an ordinary label. Build the key in a reused buffer and
// convert it to a string only for a series the encoder has not seen, to keep
// the steady path free of allocations.
func AppendLabel(dst []byte, name, value string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(name)))
	dst = append(dst, name...)
	dst = binary.AppendUvarint(dst, uint64(len(value)))
	return append(dst, value...)
}

// RangeLabels calls f for each label of a canonical label set in order. It
// returns ErrCorrupt (wrapped) if key is not a sequence of canonical labels;
// f has then been called for the labels before the damage.
func RangeLabels(key string, f func(name, value string)) error {
	for len(key) > 0 {
		name, rest, ok := cutString(key)
		if !ok {
			return corruptf("label name truncated")
		}
		value, rest, ok := cutString(rest)
		if !ok {
			return corruptf("label value truncated")
		}
		f(name, value)
		key = rest
	}
	return nil
}

// cutString reads one length-prefixed string from s.
func cutString(s string) (str, rest string, ok bool) {
	var n uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[i]
		n |= uint64(b&0x7f) << shift
		if b < 0x80 {
			s = s[i+1:]
			if n > uint64(len(s)) {
				return "", "", false
			}
			return s[:n], s[n:], true
		}
		shift += 7
	}
	return "", "", false
}
