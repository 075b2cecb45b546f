package block

import (
	"math"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire"
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
	d := &reader{Reader: wire.NewReader(body, ErrCorrupt)}
	blk := &relay.Block{Tenant: d.Str(), Site: d.Str()}
	n := d.Count(1)
	d.strs = make([]string, 0, n)
	for i := 0; i < n && d.Err == nil; i++ {
		d.strs = append(d.strs, d.Str())
	}
	nb := d.Count(4)
	for i := 0; i < nb && d.Err == nil; i++ {
		blk.Batches = append(blk.Batches, d.batch(version))
	}
	if version >= version2 && d.Err == nil {
		blk.Generation = d.Uvarint()
		nf := d.Count(2)
		if nf == 0 && version == version2 && d.Err == nil {
			d.Fail("version 2 block without frames")
		}
		for i := 0; i < nf && d.Err == nil; i++ {
			n := d.Count(1)
			if d.Err == nil {
				blk.Frames = append(blk.Frames, d.Buf[:n:n])
				d.Buf = d.Buf[n:]
			}
		}
	}
	if err := d.End(); err != nil {
		return nil, err
	}
	return blk, nil
}

// reader reads a block's body: wire.Reader, whose errors wrap ErrCorrupt,
// with the string table and the records of a block.
type reader struct {
	wire.Reader
	strs []string
	lb   labels.ScratchBuilder
}

func (d *reader) ref() string {
	i := d.Uvarint()
	if i >= uint64(len(d.strs)) {
		d.Fail("string index %d out of range", i)
		return ""
	}
	return d.strs[i]
}

func (d *reader) labels() labels.Labels {
	n := d.Count(2)
	d.lb.Reset()
	for i := 0; i < n && d.Err == nil; i++ {
		d.lb.Add(d.ref(), d.ref())
	}
	d.lb.Sort()
	return d.lb.Labels()
}

func (d *reader) batch(version byte) *relay.Batch {
	b := &relay.Batch{}
	b.Scrape = d.Uvarint()&1 != 0
	b.Job = d.ref()
	b.Instance = d.ref()
	b.Timestamp = d.Varint()
	b.TargetLabels = d.labels()
	if n := d.Count(4); n > 0 {
		b.Metadata = make(map[string]relay.Metadata, n)
		for i := 0; i < n && d.Err == nil; i++ {
			f := d.ref()
			b.Metadata[f] = relay.Metadata{Type: d.ref(), Help: d.ref(), Unit: d.ref()}
		}
	}
	ns := d.Count(2)
	b.Series = make([]relay.Series, 0, ns)
	for i := 0; i < ns && d.Err == nil; i++ {
		s := relay.Series{Labels: d.labels()}
		nsmp := d.Count(9)
		s.Samples = make([]relay.Sample, 0, nsmp)
		prev := b.Timestamp
		for j := 0; j < nsmp && d.Err == nil; j++ {
			prev += d.Varint()
			v := math.Float64frombits(d.Uint64("sample value"))
			if d.Err != nil {
				break
			}
			s.Samples = append(s.Samples, relay.Sample{T: prev, V: v})
		}
		if version >= version3 {
			d.extras(&s, b.Timestamp)
		}
		b.Series = append(b.Series, s)
	}
	return b
}
