package rwout

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/golang/snappy"
)

// A queue record (one store block) holds part of one Delivery:
//
//	version byte (1)
//	tenant, site        uvarint length + bytes each
//	queue id, seq       8 bytes big endian each: the Delivery's block
//	part                uvarint: records of one Delivery count from 0
//	items...
//
// and each item one series (or one metric family's metadata):
//
//	kind                byte: 1 series, 2 metadata
//	hash                4 bytes little endian: of the series' labels, which
//	                    decides its shard (so one series' samples keep
//	                    their order), or of the family name
//	samples, histograms, exemplars   uvarint each
//	newest              zigzag varint: newest timestamp (ms), for
//	                    sample_age_limit
//	field               uvarint length + bytes: a remote_write 1.0
//	                    WriteRequest field (tag, length, TimeSeries or
//	                    MetricMetadata), so a request is its items' fields
//	                    concatenated.
//
// A record is stored snappy-compressed (openRecord). Records are read back
// from the cloud's own disk; the store checks each
// block's CRC, and parseRecord still refuses anything malformed.

const recordVersion = 1

const (
	kindSeries   = 1
	kindMetadata = 2
)

var errBadRecord = errors.New("malformed remote_write queue record")

// recordHeader names the Delivery a record holds part of.
type recordHeader struct {
	Tenant, Site string
	QueueID, Seq uint64
	Part         uint64
}

// itemHeader describes one item.
type itemHeader struct {
	Kind                           byte
	Hash                           uint32
	Samples, Histograms, Exemplars int
	Newest                         int64
}

// total is what the item counts against max_samples_per_send.
func (h itemHeader) total() int { return h.Samples + h.Histograms + h.Exemplars }

func appendHeader(b []byte, h recordHeader) []byte {
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(len(h.Tenant)))
	b = append(b, h.Tenant...)
	b = binary.AppendUvarint(b, uint64(len(h.Site)))
	b = append(b, h.Site...)
	b = binary.BigEndian.AppendUint64(b, h.QueueID)
	b = binary.BigEndian.AppendUint64(b, h.Seq)
	return binary.AppendUvarint(b, h.Part)
}

// appendItem appends an item whose field is message msg under WriteRequest
// field number field.
func appendItem(b []byte, h itemHeader, field int, msg []byte) []byte {
	b = append(b, h.Kind)
	b = binary.LittleEndian.AppendUint32(b, h.Hash)
	b = binary.AppendUvarint(b, uint64(h.Samples))
	b = binary.AppendUvarint(b, uint64(h.Histograms))
	b = binary.AppendUvarint(b, uint64(h.Exemplars))
	b = binary.AppendVarint(b, h.Newest)
	b = binary.AppendUvarint(b, uint64(1+varintLen(len(msg))+len(msg)))
	return appendMessage(b, field, msg)
}

// openRecord decompresses a stored record and reads its header; the
// items alias the decompressed copy.
func openRecord(stored []byte) (recordHeader, []byte, error) {
	data, err := snappy.Decode(nil, stored)
	if err != nil {
		return recordHeader{}, nil, fmt.Errorf("%w: %w", errBadRecord, err)
	}
	return parseHeader(data)
}

// parseHeader reads a record's header and returns the items after it.
// Tenant and Site are copies; the items alias data.
func parseHeader(data []byte) (recordHeader, []byte, error) {
	var h recordHeader
	if len(data) == 0 || data[0] != recordVersion {
		return h, nil, fmt.Errorf("%w: version", errBadRecord)
	}
	b := data[1:]
	var s []byte
	var err error
	if s, b, err = lenBytes(b); err != nil {
		return h, nil, err
	}
	h.Tenant = string(s)
	if s, b, err = lenBytes(b); err != nil {
		return h, nil, err
	}
	h.Site = string(s)
	if len(b) < 16 {
		return h, nil, fmt.Errorf("%w: short header", errBadRecord)
	}
	h.QueueID, h.Seq = binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])
	b = b[16:]
	var n int
	if h.Part, n = binary.Uvarint(b); n <= 0 {
		return h, nil, fmt.Errorf("%w: part", errBadRecord)
	}
	return h, b[n:], nil
}

// nextItem reads the item at the start of b and returns it, its field
// bytes (aliasing b) and the rest of b.
func nextItem(b []byte) (itemHeader, []byte, []byte, error) {
	var h itemHeader
	if len(b) < 5 || (b[0] != kindSeries && b[0] != kindMetadata) {
		return h, nil, nil, fmt.Errorf("%w: item kind", errBadRecord)
	}
	h.Kind, h.Hash = b[0], binary.LittleEndian.Uint32(b[1:])
	b = b[5:]
	for _, c := range []*int{&h.Samples, &h.Histograms, &h.Exemplars} {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > 1<<31 {
			return h, nil, nil, fmt.Errorf("%w: item count", errBadRecord)
		}
		*c, b = int(v), b[n:]
	}
	v, n := binary.Varint(b)
	if n <= 0 {
		return h, nil, nil, fmt.Errorf("%w: item time", errBadRecord)
	}
	h.Newest, b = v, b[n:]
	field, rest, err := lenBytes(b)
	if err != nil {
		return h, nil, nil, err
	}
	if len(field) == 0 {
		return h, nil, nil, fmt.Errorf("%w: empty item", errBadRecord)
	}
	return h, field, rest, nil
}

func lenBytes(b []byte) ([]byte, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 || v > uint64(len(b)-n) {
		return nil, nil, fmt.Errorf("%w: length", errBadRecord)
	}
	return b[n : n+int(v)], b[n+int(v):], nil
}
