package cloud

import (
	"context"
	"io"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/store"
)

// ImportStats counts what Import did.
type ImportStats struct {
	Blocks, Duplicates int
	Samples            int64
}

// Import applies a bundle written by `edgerelay queue export` through the
// cloud's receive path (receive.go), as live traffic: the tenant the
// blocks name must be one the cloud accepts, blocks are deduplicated by
// (site, queue id, sequence), and every output takes them. Importing the
// same bundle twice changes nothing the second time. progress, when set,
// is called after each block with the bytes read so far.
func Import(ctx context.Context, cfg *config.Cloud, o Options, r io.Reader, progress func(blocks int, bytes int64)) (ImportStats, error) {
	var st ImportStats
	rcv, err := newReceiver(cfg, o)
	if err != nil {
		return st, err
	}
	// Remote_write outputs keep what was imported in their queues; the
	// cloud's next run sends it.
	defer rcv.outputs.Close()
	cr := &countingReader{r: r}
	err = store.ReadBundle(cr, func(queueID uint64, b store.Block) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		rc, err := rcv.importBlock(ctx, queueID, b.Seq, b.Lane, b.Data)
		if err != nil {
			return err
		}
		if rc.duplicate {
			st.Duplicates++
		} else {
			st.Blocks++
			st.Samples += int64(rc.samples)
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
