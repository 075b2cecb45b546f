package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// decoder reads fixed-width fields; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) need(n int) bool {
	if d.err != nil {
		return false
	}
	if len(d.b) < n {
		d.err = io.ErrUnexpectedEOF
		return false
	}
	return true
}

func (d *decoder) u16() uint16 {
	if !d.need(2) {
		return 0
	}
	v := binary.BigEndian.Uint16(d.b)
	d.b = d.b[2:]
	return v
}

func (d *decoder) u32() uint32 {
	if !d.need(4) {
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) u64() uint64 {
	if !d.need(8) {
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// str reads a u16 length and that many bytes of valid UTF-8 without NUL.
func (d *decoder) str(max int) string {
	n := int(d.u16())
	if d.err != nil {
		return ""
	}
	if n > max {
		d.err = fmt.Errorf("string of %d bytes, limit %d", n, max)
		return ""
	}
	if !d.need(n) {
		return ""
	}
	s := d.b[:n]
	d.b = d.b[n:]
	if !utf8.Valid(s) {
		d.err = errors.New("string is not valid UTF-8")
		return ""
	}
	for _, c := range s {
		if c == 0 {
			d.err = errors.New("string contains NUL")
			return ""
		}
	}
	return string(s)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence,
// and replaces what the decoder would refuse.
func truncate(s string, n int) string {
	s = toValidString(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func toValidString(s string) string {
	valid := utf8.ValidString(s)
	for i := 0; valid && i < len(s); i++ {
		if s[i] == 0 {
			valid = false
		}
	}
	if valid {
		return s
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r == 0 || r == utf8.RuneError {
			r = '?'
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}
