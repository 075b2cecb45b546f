package codec

import (
	"encoding/binary"
	"math"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// Decode parses a block produced by Encode. Every error wraps ErrCorrupt.
func Decode(data []byte) (*relay.Block, error) {
	if len(data) < headerSize || string(data[:len(magic)]) != magic {
		return nil, corruptf("bad magic")
	}
	version := data[len(magic)]
	if version < version1 || version > version3 {
		return nil, corruptf("unsupported version %d", version)
	}
	body := data[headerSize:]
	if data[len(magic)+1]&flagZstd != 0 {
		var err error
		body, err = decoder.DecodeAll(body, nil)
		if err != nil {
			return nil, corruptf("decompress: %v", err)
		}
	}
	d := &reader{buf: body}
	blk := &relay.Block{Tenant: d.str(), Site: d.str()}
	n := d.count(1)
	d.strs = make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		d.strs = append(d.strs, d.str())
	}
	nb := d.count(4)
	for i := 0; i < nb && d.err == nil; i++ {
		blk.Batches = append(blk.Batches, d.batch(version))
	}
	if version >= version2 && d.err == nil {
		blk.Generation = d.uvarint()
		nf := d.count(2)
		if nf == 0 && version == version2 && d.err == nil {
			d.fail("version 2 block without frames")
		}
		for i := 0; i < nf && d.err == nil; i++ {
			n := d.count(1)
			if d.err == nil {
				blk.Frames = append(blk.Frames, d.buf[:n:n])
				d.buf = d.buf[n:]
			}
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.buf) != 0 {
		return nil, corruptf("%d trailing bytes", len(d.buf))
	}
	return blk, nil
}

type reader struct {
	buf  []byte
	strs []string
	err  error
	lb   labels.ScratchBuilder
}

func (d *reader) fail(format string, args ...any) {
	if d.err == nil {
		d.err = corruptf(format, args...)
	}
	d.buf = nil
}

func (d *reader) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("truncated varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *reader) varint() int64 {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail("truncated varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// count reads a element count, each element taking at least minSize bytes.
func (d *reader) count(minSize int) int {
	v := d.uvarint()
	if v > uint64(len(d.buf)/minSize) {
		d.fail("count %d exceeds remaining input", v)
		return 0
	}
	return int(v)
}

func (d *reader) str() string {
	n := d.uvarint()
	if n > uint64(len(d.buf)) {
		d.fail("string length %d exceeds remaining input", n)
		return ""
	}
	s := string(d.buf[:n])
	d.buf = d.buf[n:]
	return s
}

func (d *reader) ref() string {
	i := d.uvarint()
	if i >= uint64(len(d.strs)) {
		d.fail("string index %d out of range", i)
		return ""
	}
	return d.strs[i]
}

func (d *reader) labels() labels.Labels {
	n := d.count(2)
	d.lb.Reset()
	for i := 0; i < n && d.err == nil; i++ {
		d.lb.Add(d.ref(), d.ref())
	}
	d.lb.Sort()
	return d.lb.Labels()
}

func (d *reader) batch(version byte) *relay.Batch {
	b := &relay.Batch{}
	b.Scrape = d.uvarint()&1 != 0
	b.Job = d.ref()
	b.Instance = d.ref()
	b.Timestamp = d.varint()
	b.TargetLabels = d.labels()
	if n := d.count(4); n > 0 {
		b.Metadata = make(map[string]relay.Metadata, n)
		for i := 0; i < n && d.err == nil; i++ {
			f := d.ref()
			b.Metadata[f] = relay.Metadata{Type: d.ref(), Help: d.ref(), Unit: d.ref()}
		}
	}
	ns := d.count(2)
	b.Series = make([]relay.Series, 0, ns)
	for i := 0; i < ns && d.err == nil; i++ {
		s := relay.Series{Labels: d.labels()}
		nsmp := d.count(9)
		s.Samples = make([]relay.Sample, 0, nsmp)
		prev := b.Timestamp
		for j := 0; j < nsmp && d.err == nil; j++ {
			prev += d.varint()
			if len(d.buf) < 8 {
				d.fail("truncated sample value")
				break
			}
			v := math.Float64frombits(binary.LittleEndian.Uint64(d.buf))
			d.buf = d.buf[8:]
			s.Samples = append(s.Samples, relay.Sample{T: prev, V: v})
		}
		if version >= version3 {
			d.extras(&s, b.Timestamp)
		}
		b.Series = append(b.Series, s)
	}
	return b
}
