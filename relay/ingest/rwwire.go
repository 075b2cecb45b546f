package ingest

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file reads protobuf fields off the wire for the remote_write 1.0
// decoder, accepting exactly the wire forms Prometheus' generated decoder
// accepts: groups nest by their markers alone, and a varint's bits past the
// 64th are dropped.

// wireField is one protobuf field: its number and type, its value for
// scalar types, and for bytes the payload's range in the message.
type wireField struct {
	num    protowire.Number
	typ    protowire.Type
	v      uint64
	lo, hi int
}

// nextField reads the field at body[p:end] and returns it with the position
// after it.
func nextField(body []byte, p, end int) (wireField, int, error) {
	var f wireField
	tag, n := consumeVarint(body[p:end])
	if n < 0 {
		return f, 0, protowire.ParseError(n)
	}
	num, typ := protowire.DecodeTag(tag)
	if num < protowire.MinValidNumber {
		return f, 0, fmt.Errorf("invalid field number in tag %#x", tag)
	}
	f.num, f.typ = num, typ
	p += n
	switch typ {
	case protowire.VarintType:
		f.v, n = consumeVarint(body[p:end])
	case protowire.Fixed64Type:
		f.v, n = protowire.ConsumeFixed64(body[p:end])
	case protowire.Fixed32Type:
		var v uint32
		v, n = protowire.ConsumeFixed32(body[p:end])
		f.v = uint64(v)
	case protowire.BytesType:
		var l uint64
		l, n = consumeVarint(body[p:end])
		if n >= 0 {
			if l > uint64(end-p-n) {
				return f, 0, fmt.Errorf("field %d: length %d past the end of its message", num, l)
			}
			f.lo, f.hi = p+n, p+n+int(l)
			n += int(l)
		}
	case protowire.StartGroupType:
		q, err := skipGroup(body, p, end)
		if err != nil {
			return f, 0, fmt.Errorf("field %d: %w", num, err)
		}
		return f, q, nil
	default:
		return f, 0, fmt.Errorf("field %d: wire type %d outside a group", num, typ)
	}
	if n < 0 {
		return f, 0, fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
	}
	return f, p + n, nil
}

// skipGroup skips the rest of a group (the deprecated protobuf wire types 3
// and 4) whose start marker ends at p, and returns the position after its end
// marker. It reads a group as Prometheus' generated decoder does, so that a
// body is accepted exactly when Prometheus accepts it: start and end markers
// nest whatever their field numbers (an end marker need not repeat the number
// of its start), and fields inside are skipped by their wire type alone.
func skipGroup(body []byte, p, end int) (int, error) {
	for depth := 1; depth > 0; {
		tag, n := consumeVarint(body[p:end])
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		p += n
		switch protowire.Type(tag & 7) {
		case protowire.VarintType:
			_, n = consumeVarint(body[p:end])
		case protowire.Fixed64Type:
			_, n = protowire.ConsumeFixed64(body[p:end])
		case protowire.Fixed32Type:
			_, n = protowire.ConsumeFixed32(body[p:end])
		case protowire.BytesType:
			_, n = protowire.ConsumeBytes(body[p:end])
		case protowire.StartGroupType:
			depth, n = depth+1, 0
		case protowire.EndGroupType:
			depth, n = depth-1, 0
		default:
			return 0, fmt.Errorf("illegal wire type %d in a group", tag&7)
		}
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		p += n
	}
	return p, nil
}

func wantType(f wireField, typ protowire.Type, msg string) error {
	if f.typ != typ {
		return fmt.Errorf("%s field %d has wire type %d, want %d", msg, f.num, f.typ, typ)
	}
	return nil
}

// consumeVarint reads a varint as Prometheus' generated decoder does: up to
// ten bytes, the bits of the tenth past the 64th dropped (protowire refuses
// them, the generated code does not). It returns protowire's error code when
// protowire would fail too.
func consumeVarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < min(len(b), 10); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	_, n := protowire.ConsumeVarint(b) // truncated, or ten bytes that all go on
	return 0, n
}
