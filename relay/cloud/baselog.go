package cloud

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/edgerelay/edgerelay/internal/fsutil"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
)

// A site base on disk: loading its checkpoint and log, replaying the log,
// and folding the log into a new checkpoint (see bases for the layout).

// load reads the checkpoint and replays the log.
func (sb *siteBase) load() error {
	if err := sb.adoptLegacy(); err != nil {
		return err
	}
	sb.dec = delta.NewDecoder()
	sb.rb = deltaconv.NewRebuilder(tenantLabel, sb.tenant)
	sb.rb.ShareWith(sb.dec) // each series' label set held once
	ck, err := os.ReadFile(sb.path + ".state")
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("delta bases: %w", err)
	default:
		if err := sb.dec.UnmarshalState(ck); err != nil {
			// Damaged on disk: set it aside and start without bases. The
			// targets' next incremental frames are counted as without a base
			// until their next full frame; nothing is written wrong.
			if err := os.Rename(sb.path+".state", sb.path+".state.corrupt"); err != nil {
				return fmt.Errorf("delta bases: set aside damaged %s.state: %w", sb.path, err)
			}
			sb.replayFailed++
			ck = nil
		}
	}
	sb.ckBytes = int64(len(ck))
	f, err := os.OpenFile(sb.path+".log", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("delta bases: %w", err)
	}
	good, failed := replay(f, sb.dec)
	sb.replayFailed += failed
	err = f.Truncate(good)
	if err == nil {
		_, err = f.Seek(good, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("delta bases %s.log: %w", sb.path, err)
	}
	sb.log, sb.logBytes, sb.loaded = f, good, true
	sb.account()
	return nil
}

// replay applies every whole record of the log to dec, skipping frames the
// checkpoint already holds (a crash between writing a checkpoint and
// emptying the log) and the records' block marks (marklog.go), and returns
// the length of the whole records and how many frames did not apply.
// Those can only come from a damaged file; their targets' next incremental
// frames then ask for a full frame, as after a lost base.
func replay(f *os.File, dec *delta.Decoder) (good int64, failed int) {
	good = readRecords(f, func(rec []byte) {
		_, rec, _, err := cutMark(rec)
		if err != nil {
			failed++
			return
		}
		for len(rec) > 0 {
			fl, k := binary.Uvarint(rec)
			if k <= 0 || fl > uint64(len(rec)-k) {
				failed++
				break
			}
			frame := rec[k : k+int(fl)]
			rec = rec[k+int(fl):]
			h, err := delta.ParseHeader(frame)
			if err == nil && dec.Applied(h) {
				continue
			}
			if err == nil {
				var scr *delta.Scrape
				scr, err = dec.Apply(frame)
				delta.Release(scr)
			}
			if err != nil {
				failed++
			}
		}
	})
	return good, failed
}

// fold writes the decoder state as the new checkpoint and empties the log,
// once the site's watermarks, whose marks the log holds, are in their own
// file.
func (sb *siteBase) fold() error {
	// Sized for the last checkpoint and a little growth: a large site's
	// state is tens of MB, which growing by doubling copies twice over.
	var st []byte
	if sb.ckBytes > 0 {
		st = make([]byte, 0, sb.ckBytes+sb.ckBytes/8+4096)
	}
	st = sb.dec.MarshalState(st)
	if err := fsutil.WriteFile(sb.path+".state", st, 0o644); err != nil {
		return err
	}
	if err := sb.b.saveMarks(sb.tenant, sb.site); err != nil {
		return err
	}
	// The checkpoint now holds everything the log did: a crash from here on
	// replays a log that is empty or whose frames the checkpoint already has
	// (replaying those would fail, so the log is emptied before anything
	// else is appended).
	if err := sb.log.Truncate(0); err != nil {
		sb.forget()
		return err
	}
	if _, err := sb.log.Seek(0, io.SeekStart); err != nil {
		sb.forget()
		return err
	}
	if err := sb.log.Sync(); err != nil {
		sb.forget()
		return err
	}
	sb.logBytes, sb.ckBytes = 0, int64(len(st))
	return nil
}
