package cloud

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// A block that carries delta frames is made durable here by one write,
// synced by a barrier shared with every site's records of the moment
// (fsutil.Barrier): its record in the site's delta base log (bases.go) holds both the
// frames it applied and its deduplication mark (queue id and sequence
// number), so a block acknowledged is neither lost nor applied twice after
// a crash, without a second file replaced and synced per block. The
// watermarks (dedup.go) keep such marks in memory and read them back from
// the logs when a site's state is first loaded; before a log that holds
// marks is emptied (a fold into a checkpoint) or removed (a base dropped),
// the site's watermarks are written to their own file.
//
// A log record is a sequence of uvarint-length-prefixed delta frames. A
// record that starts with a length of zero (no frame is empty) starts with
// a mark: the queue id and the sequence number, as uvarints.

// blockMark names a block in its edge's queue.
type blockMark struct{ queueID, seq uint64 }

// appendMark starts a log record with mark m.
func appendMark(rec []byte, m blockMark) []byte {
	rec = binary.AppendUvarint(rec, 0)
	rec = binary.AppendUvarint(rec, m.queueID)
	return binary.AppendUvarint(rec, m.seq)
}

// cutMark returns the mark a log record starts with, and the frames after
// it; ok is false when the record starts with a frame.
func cutMark(rec []byte) (m blockMark, frames []byte, ok bool, err error) {
	if len(rec) == 0 || rec[0] != 0 {
		return m, rec, false, nil
	}
	rec = rec[1:]
	var k int
	if m.queueID, k = binary.Uvarint(rec); k <= 0 {
		return m, nil, false, errors.New("damaged block mark")
	}
	rec = rec[k:]
	if m.seq, k = binary.Uvarint(rec); k <= 0 {
		return m, nil, false, errors.New("damaged block mark")
	}
	return m, rec[k:], true, nil
}

// readRecords calls fn with every whole record of a log read from r, in
// order, and returns the length of the whole records: what follows (a
// record torn by a crash while it was appended) was never acknowledged.
func readRecords(r io.Reader, fn func(rec []byte)) (good int64) {
	br := bufio.NewReader(r)
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return good // end, or a torn header
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		if n > 256<<20 {
			return good
		}
		rec := make([]byte, n)
		if _, err := io.ReadFull(br, rec); err != nil || crc32.Checksum(rec, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
			return good
		}
		fn(rec)
		good += 8 + int64(n)
	}
}

// logMarks calls fn with the mark of every whole record of the log at
// path; a missing log has none.
func logMarks(path string, fn func(blockMark)) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delta base log: %w", err)
	}
	defer f.Close()
	readRecords(f, func(rec []byte) {
		if m, _, ok, err := cutMark(rec); ok && err == nil {
			fn(m)
		}
	})
	return nil
}
