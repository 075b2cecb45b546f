package cloud

import (
	"context"
	"fmt"
	"io"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/transport"
	"github.com/edgerelay/edgerelay/store"
)

// ImportStats counts what Import did.
type ImportStats struct {
	Blocks, Duplicates int
	Samples            int64
}

// Import applies a bundle written by `edgerelay queue export` through the
// same path as live traffic: tenant check, deduplication by (site, queue id,
// sequence), files, remote_write forwarding. Importing the same bundle twice
// changes nothing the second time. progress, when set, is called after each
// block with the bytes read so far.
func Import(ctx context.Context, cfg *config.Cloud, o Options, r io.Reader, progress func(blocks int, bytes int64)) (ImportStats, error) {
	var st ImportStats
	c, err := newReceiver(cfg, o)
	if err != nil {
		return st, err
	}
	cr := &countingReader{r: r}
	err = store.ReadBundle(cr, func(queueID uint64, b store.Block) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		blk, err := block.Decode(b.Data)
		if err != nil {
			return fmt.Errorf("block %d: %w", b.Seq, err)
		}
		if !c.auth.knows(blk.Tenant) {
			return fmt.Errorf("block %d belongs to tenant %q, which is not a valid name or not listed in cloud.tenants", b.Seq, blk.Tenant)
		}
		p := transport.Peer{Tenant: blk.Tenant, Site: blk.Site, QueueID: queueID}
		seen, err := c.marks.seen(p.Tenant, p.Site, p.QueueID, b.Seq)
		if err != nil {
			return err
		}
		if seen {
			st.Duplicates++
		} else {
			n, _, err := c.apply(ctx, p, b.Seq, b.Lane, b.Data)
			if err != nil {
				return err
			}
			st.Blocks++
			st.Samples += int64(n)
		}
		if progress != nil {
			progress(st.Blocks+st.Duplicates, cr.n)
		}
		return nil
	})
	return st, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
