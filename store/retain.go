package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// Retention keeps, after their acknowledgement, the blocks of the newest
// acknowledged group (Record.Group: the edge's delta generation), so that
// a receiver which lost the state those blocks built (a cloud that died
// with the delta bases of the generation) can be sent them again. They are
// no longer queued: Read, Stats' backlog and the MaxBytes cap never see
// them; ReadRetained reads them. Once a block of another group is
// acknowledged, the run of the old group is deleted; past
// Options.RetainBytes the run is deleted, counted in
// Stats.RetainedDropped, and its group not kept any more.
//
// The run is persisted under keyRetain in the transaction that deletes
// the blocks AckThrough acknowledges, so a crash never leaves blocks below
// the acknowledged Seq that nothing would delete.

var keyRetain = []byte("zretain")

// retained is the run of acknowledged blocks kept, and what fell out.
type retained struct {
	from, through, group uint64 // from 0: none
	blocks               int
	bytes                int64
	broken               uint64 // a group the cap ended: not kept again
	dropped              int64  // blocks the cap deleted, since Open
}

func (r retained) encode() []byte {
	b := make([]byte, 0, 32)
	for _, v := range []uint64{r.from, r.through, r.group, r.broken} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

// ReadRetained returns the retained blocks with Seq > after, oldest first,
// bounded as Read's. The returned Data is owned by the caller.
func (q *Queue) ReadRetained(after uint64, maxBlocks int, maxBytes int) ([]Block, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	defer q.life.RUnlock()
	q.mu.Lock()
	r := q.ret
	q.mu.Unlock()
	if r.from == 0 {
		return nil, nil
	}
	return q.readRange(max(after+1, r.from), r.through+1, maxBlocks, maxBytes)
}

// ackRetain is AckThrough with retention: it must be called with q.wmu
// held.
func (q *Queue) ackRetain(through uint64) error {
	q.mu.Lock()
	acked, next, old := q.st.acked, q.st.next, q.ret
	q.mu.Unlock()
	through = min(through, next-1)
	if through <= acked {
		return nil
	}
	r, keys, err := q.scanHead(acked, through, next, 0, nil)
	if err != nil {
		return err
	}
	r.acked = through
	// The old run's keys are read only when it ends: a run that grows
	// with each acknowledgement costs the newly acknowledged blocks only.
	var nr retained
	var oldKeys [][]byte
	err = q.db.View(func(txn *badger.Txn) error {
		infos, _, err := metasOf(txn, acked+1, through+1, 0, false)
		if err != nil {
			return err
		}
		nr = nextRetained(old, infos, through, q.opt.RetainBytes)
		if old.from != 0 && nr.from != old.from {
			_, oldKeys, err = metasOf(txn, old.from, old.through+1, 0, true)
		}
		return err
	})
	if err != nil {
		return err
	}
	kept := keys[:0]
	for _, k := range keys {
		if seq, _ := seqOfKey(k); nr.from == 0 || seq < nr.from || seq > nr.through {
			kept = append(kept, k)
		}
	}
	keys = kept
	if old.from != 0 && nr.from != old.from {
		keys = append(oldKeys, keys...)
	}
	if err := q.deleteKeys(keys, &r.acked, false, keyRetain, nr.encode()); err != nil {
		return err
	}
	q.applyRemoved(r, 0)
	q.mu.Lock()
	q.ret = nr
	q.mu.Unlock()
	if n := nr.dropped - old.dropped; n > 0 {
		q.log.Warn("acknowledged blocks kept for a resend outgrew their bound; deleted",
			"blocks", n, "group", old.group, "retain_bytes", q.opt.RetainBytes)
	}
	return nil
}

// nextRetained is the run kept once every block through through is
// acknowledged: the blocks of through's group that run without a gap up
// to it (infos holds the newly acknowledged blocks, oldest first), joined
// to the old run when it continues it, or none past limit bytes.
func nextRetained(old retained, infos []BlockInfo, through uint64, limit int64) retained {
	nr := retained{broken: old.broken, dropped: old.dropped}
	if len(infos) == 0 || infos[len(infos)-1].Seq != through {
		return nr
	}
	g := infos[len(infos)-1].Group
	if g == 0 || g == old.broken {
		return nr
	}
	i := len(infos) - 1
	for i > 0 && infos[i-1].Group == g && infos[i-1].Seq+1 == infos[i].Seq {
		i--
	}
	nr.from, nr.through, nr.group = infos[i].Seq, through, g
	for _, b := range infos[i:] {
		nr.blocks++
		nr.bytes += b.Bytes
	}
	if i == 0 && old.from != 0 && old.group == g && old.through+1 == infos[0].Seq {
		nr.from = old.from
		nr.blocks += old.blocks
		nr.bytes += old.bytes
	}
	if nr.bytes > limit {
		nr.dropped += int64(nr.blocks)
		nr.broken = g
		nr.from, nr.through, nr.group, nr.blocks, nr.bytes = 0, 0, 0, 0, 0
	}
	return nr
}

// metasOf returns the meta of the blocks with from <= Seq < end (corrupt
// ones left out), at most limit of them (<= 0: no limit), and with
// withKeys every key they hold.
func metasOf(txn *badger.Txn, from, end uint64, limit int, withKeys bool) ([]BlockInfo, [][]byte, error) {
	var out []BlockInfo
	var keys [][]byte
	opt := badger.DefaultIteratorOptions
	opt.Prefix = []byte{prefixMeta}
	it := txn.NewIterator(opt)
	defer it.Close()
	for it.Seek(metaKey(from)); it.Valid(); it.Next() {
		seq, _ := seqOfKey(it.Item().Key())
		if seq >= end || (limit > 0 && len(out) >= limit) {
			break
		}
		m, corrupt, err := itemMeta(it.Item(), seq)
		if err != nil {
			return nil, nil, err
		}
		if withKeys {
			keys = blockKeys(txn, keys, seq, m, corrupt)
		}
		if !corrupt {
			out = append(out, BlockInfo{Seq: seq, Bytes: int64(m.Len), Samples: m.Samples, Time: m.Time, Group: m.Group})
		}
	}
	return out, keys, nil
}

// loadRetained reads the persisted run and recounts what of it is stored.
func (q *Queue) loadRetained() error {
	var v []byte
	err := q.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(keyRetain)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		v, err = it.ValueCopy(nil)
		return err
	})
	if err != nil || v == nil {
		return err
	}
	if len(v) != 32 {
		return fmt.Errorf("%w: retained run record of %d bytes", errCorrupt, len(v))
	}
	r := retained{from: binary.BigEndian.Uint64(v), through: binary.BigEndian.Uint64(v[8:]),
		group: binary.BigEndian.Uint64(v[16:]), broken: binary.BigEndian.Uint64(v[24:])}
	if r.from != 0 {
		err = q.db.View(func(txn *badger.Txn) error {
			infos, _, err := metasOf(txn, r.from, r.through+1, 0, false)
			for _, b := range infos {
				r.blocks++
				r.bytes += b.Bytes
			}
			return err
		})
	}
	q.ret = r
	return err
}
