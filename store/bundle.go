package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"

	badger "github.com/dgraph-io/badger/v4"
)

// Bundle format (version 2), written by Export to carry a backlog across
// an air gap and checked by ReadBundle. All integers are little-endian.
//
//	header   magic "ERQUEUE\x00" (8), version u16, queue ID u64,
//	         split seq u64, split lane u8 (the queue's Split; version 1
//	         bundles end the header after the queue ID: every block lane 0)
//	block*   'B', seq u64, samples i64, time i64, len u32, data, crc u32
//	         (CRC32C of the block from 'B' through data)
//	trailer  'E', block count u64, last seq u64, crc u32
//	         (CRC32C of every byte of the bundle before it)
//
// Seqs are strictly increasing; nothing may follow the trailer.
const (
	bundleMagic   = "ERQUEUE\x00"
	bundleVersion = 2
	tagBlock      = 'B'
	tagEnd        = 'E'
)

// ErrBadBundle is wrapped by ReadBundle's errors about the bundle's bytes.
var ErrBadBundle = errors.New("bad queue bundle")

// Exported describes what Export wrote: Blocks blocks holding Samples
// samples and Bytes data bytes, the last being Seq Last (after when there
// was none).
type Exported struct {
	Last    uint64
	Blocks  int
	Samples int64
	Bytes   int64
}

// Export writes the blocks with Seq > after that are stored when it starts
// to w as a bundle, calling progress (if not nil) with data bytes done and
// total after each block. The queue is not changed: acknowledge through
// the returned Last to delete what was exported.
//
// A non-zero until (ms) limits it to the oldest blocks whose Time is at
// most until: it stops at the first newer block, except that it takes the
// rest of the last exported block's Group, so a delta generation is never
// cut in two (its later blocks would be useless to a cloud that gets the
// bundle).
func (q *Queue) Export(w io.Writer, after uint64, until int64, progress func(done, total int64)) (x Exported, err error) {
	x.Last = after
	last, samples, err := q.export(w, after, until, progress)
	if err == nil {
		x = samples
		x.Last = last
	}
	return x, err
}

func (q *Queue) export(w io.Writer, after uint64, until int64, progress func(done, total int64)) (last uint64, x Exported, err error) {
	total, end, err := q.exportSize(after, until)
	if err != nil {
		return after, x, err
	}
	h := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 256<<10)
	hdr := append([]byte(bundleMagic), 0, 0)
	binary.LittleEndian.PutUint16(hdr[8:], bundleVersion)
	hdr = binary.LittleEndian.AppendUint64(hdr, q.id)
	q.mu.Lock()
	split := q.split
	q.mu.Unlock()
	hdr = append(binary.LittleEndian.AppendUint64(hdr, split.Seq), split.Lane)
	if _, err := bw.Write(hdr); err != nil {
		return after, x, fmt.Errorf("export: %w", err)
	}
	last = after
	var count uint64
	var done int64
	for last+1 < end {
		bs, err := q.Read(last, 256, 8<<20)
		if err != nil {
			return after, x, fmt.Errorf("export: %w", err)
		}
		if len(bs) == 0 {
			break
		}
		wrote := false
		for _, b := range bs {
			if b.Seq >= end {
				break
			}
			wrote = true
			if _, err := bw.Write(encodeBundleBlock(b)); err != nil {
				return after, x, fmt.Errorf("export: %w", err)
			}
			last = b.Seq
			count++
			done += int64(len(b.Data))
			x.Blocks++
			x.Samples += int64(b.Samples)
			x.Bytes += int64(len(b.Data))
			if progress != nil {
				progress(done, max(total, done))
			}
		}
		if !wrote {
			break
		}
	}
	tr := []byte{tagEnd}
	tr = binary.LittleEndian.AppendUint64(tr, count)
	tr = binary.LittleEndian.AppendUint64(tr, last)
	if _, err := bw.Write(tr); err != nil {
		return after, x, fmt.Errorf("export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return after, x, fmt.Errorf("export: %w", err)
	}
	if _, err := w.Write(binary.LittleEndian.AppendUint32(nil, h.Sum32())); err != nil {
		return after, x, fmt.Errorf("export: %w", err)
	}
	return last, x, nil
}

// exportSize returns the data bytes stored after Seq after, from the meta
// records, and the NextSeq that bounds the export.
func (q *Queue) exportSize(after uint64, until int64) (total int64, end uint64, err error) {
	if err := q.enter(); err != nil {
		return 0, 0, err
	}
	defer q.life.RUnlock()
	q.mu.Lock()
	from, end := max(after+1, q.st.acked+1), q.st.next
	q.mu.Unlock()
	err = q.db.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix = []byte{prefixMeta}
		it := txn.NewIterator(opt)
		defer it.Close()
		var group uint64 // of the last block taken
		for it.Seek(metaKey(from)); it.Valid(); it.Next() {
			seq, _ := seqOfKey(it.Item().Key())
			if seq >= end {
				break
			}
			var m meta
			var merr error
			_ = it.Item().Value(func(v []byte) error {
				m, merr = decodeMeta(v)
				return nil
			})
			if merr != nil {
				continue // corrupt: Read skips it too
			}
			if until != 0 && m.Time > until && (group == 0 || m.Group != group) {
				end = seq
				break
			}
			total += int64(m.Len)
			group = m.Group
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("export: %w", err)
	}
	return total, end, nil
}

func encodeBundleBlock(b Block) []byte {
	p := make([]byte, 0, 29+len(b.Data)+4)
	p = append(p, tagBlock)
	p = binary.LittleEndian.AppendUint64(p, b.Seq)
	p = binary.LittleEndian.AppendUint64(p, uint64(b.Samples))
	p = binary.LittleEndian.AppendUint64(p, uint64(b.Time))
	p = binary.LittleEndian.AppendUint32(p, uint32(len(b.Data)))
	p = append(p, b.Data...)
	return binary.LittleEndian.AppendUint32(p, crc32.Checksum(p, castagnoli))
}

// ReadBundle reads a bundle written by Export and calls fn for each block
// in order, with the ID of the queue that wrote it. Each block is checked
// against its own checksum before fn sees it; the whole bundle's checksum
// and block count are checked at the end, so a truncated or damaged bundle
// returns an error wrapping ErrBadBundle after delivering the intact blocks
// before the damage. An error from fn stops the read and is returned.
func ReadBundle(r io.Reader, fn func(queueID uint64, b Block) error) error {
	br := &bundleReader{r: bufio.NewReaderSize(r, 64<<10), h: crc32.New(castagnoli)}
	hdr := br.next(18)
	version := binary.LittleEndian.Uint16(hdr[8:])
	if br.err == nil && (string(hdr[:8]) != bundleMagic || version < 1 || version > bundleVersion) {
		return fmt.Errorf("%w: not a version 1 to %d bundle", ErrBadBundle, bundleVersion)
	}
	if br.err != nil {
		return br.fail("header")
	}
	id := binary.LittleEndian.Uint64(hdr[10:])
	var split Split
	if version >= 2 {
		f := br.next(9)
		if br.err != nil {
			return br.fail("header")
		}
		split = Split{Seq: binary.LittleEndian.Uint64(f), Lane: f[8]}
		if split.Lane > 1 {
			return fmt.Errorf("%w: split lane %d", ErrBadBundle, split.Lane)
		}
	}
	var count, last uint64
	for {
		tag := br.next(1)
		if br.err != nil {
			return br.fail("block tag")
		}
		switch tag[0] {
		case tagBlock:
			b, err := br.block(last)
			if err != nil {
				return err
			}
			count++
			last = b.Seq
			b.Lane = split.LaneOf(b.Seq)
			if err := fn(id, b); err != nil {
				return err
			}
		case tagEnd:
			return br.trailer(count, last)
		default:
			return fmt.Errorf("%w: unknown record tag %#x", ErrBadBundle, tag[0])
		}
	}
}

// bundleReader reads a bundle, hashing every byte it consumes.
type bundleReader struct {
	r   *bufio.Reader
	h   hash.Hash32
	err error
	buf [29]byte
}

// next returns the next n (<= 29) bytes, hashed.
func (br *bundleReader) next(n int) []byte {
	if br.err != nil {
		return br.buf[:n]
	}
	_, br.err = io.ReadFull(br.r, br.buf[:n])
	br.h.Write(br.buf[:n])
	return br.buf[:n]
}

func (br *bundleReader) fail(what string) error {
	if errors.Is(br.err, io.EOF) || errors.Is(br.err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated in %s", ErrBadBundle, what)
	}
	return fmt.Errorf("read bundle %s: %w", what, br.err)
}

// block reads one block after its tag.
func (br *bundleReader) block(prev uint64) (Block, error) {
	f := br.next(28)
	if br.err != nil {
		return Block{}, br.fail("block header")
	}
	bh := crc32.New(castagnoli)
	bh.Write([]byte{tagBlock})
	bh.Write(f)
	seq := binary.LittleEndian.Uint64(f)
	samples := int64(binary.LittleEndian.Uint64(f[8:]))
	t := int64(binary.LittleEndian.Uint64(f[16:]))
	n := binary.LittleEndian.Uint32(f[24:])
	if seq <= prev || samples < 0 || samples > math.MaxInt32 || n > maxMaxBlockBytes {
		return Block{}, fmt.Errorf("%w: block seq %d (after %d), samples %d, length %d", ErrBadBundle, seq, prev, samples, n)
	}
	// Grow with what arrives rather than trusting n for the allocation.
	var data bytes.Buffer
	if _, err := io.Copy(io.MultiWriter(&data, bh, br.h), io.LimitReader(br.r, int64(n))); err != nil {
		return Block{}, fmt.Errorf("read bundle block %d: %w", seq, err)
	}
	if data.Len() != int(n) {
		return Block{}, fmt.Errorf("%w: truncated in block %d", ErrBadBundle, seq)
	}
	sum := br.next(4)
	if br.err != nil {
		return Block{}, br.fail("block checksum")
	}
	if got := binary.LittleEndian.Uint32(sum); got != bh.Sum32() {
		return Block{}, fmt.Errorf("%w: block %d checksum mismatch", ErrBadBundle, seq)
	}
	return Block{Seq: seq, Data: data.Bytes(), Samples: int(samples), Time: t}, nil
}

// trailer checks the trailer after its tag and that nothing follows it.
func (br *bundleReader) trailer(count, last uint64) error {
	f := bytes.Clone(br.next(16))
	want := br.h.Sum32()
	sum := br.next(4)
	if br.err != nil {
		return br.fail("trailer")
	}
	if binary.LittleEndian.Uint32(sum) != want {
		return fmt.Errorf("%w: bundle checksum mismatch", ErrBadBundle)
	}
	if c, l := binary.LittleEndian.Uint64(f), binary.LittleEndian.Uint64(f[8:]); c != count || (count > 0 && l != last) {
		return fmt.Errorf("%w: trailer says %d blocks through seq %d, read %d through %d", ErrBadBundle, c, l, count, last)
	}
	if _, err := br.r.ReadByte(); err != io.EOF {
		return fmt.Errorf("%w: data after the trailer", ErrBadBundle)
	}
	return nil
}
