package files

import (
	"context"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
)

var _ output.GroupOutput = (*Writer)(nil)

// DeliverAll is Deliver for several blocks at once (output.GroupOutput):
// the directories of consecutive blocks of one site share the three steps
// of writeDirs, two barriers in all rather than two per block.
func (w *Writer) DeliverAll(_ context.Context, ds []*output.Delivery) error {
	for len(ds) > 0 {
		n := 1
		for n < len(ds) && ds[n].Tenant == ds[0].Tenant && ds[n].Site == ds[0].Site {
			n++
		}
		var bs []*relay.Batch
		for _, d := range ds[:n] {
			bs = append(bs, d.Batches...)
		}
		if _, err := w.writeDirs(ds[0].Tenant, ds[0].Site, bs); err != nil {
			return err
		}
		ds = ds[n:]
	}
	return nil
}
